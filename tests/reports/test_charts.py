"""SVG bar charts: well-formed, accessible, escaped, to scale, honest about hidden counts, and repeatable."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from app.reports.charts import Bar, Series, bar_chart, nice_axis

pytestmark = pytest.mark.no_database

SVG = "{http://www.w3.org/2000/svg}"
ALLOWED_TAGS = {"svg", "g", "rect", "line", "text", "title", "desc", "pattern"}
HOSTILE = '<script>&"\''


def single(values: list[int | None], labels: list[str] | None = None, name: str = "People") -> list[Series]:
    labels = labels or [f"Category {i}" for i in range(len(values))]
    return [Series(name=name, bars=tuple(Bar(label=label, value=value, display="<10" if value is None else str(value))
                                         for label, value in zip(labels, values, strict=True)))]


def draw(series: list[Series], chart_id: str = "chart-test", *, title: str = "People seen",
         description: str = "A test chart.", unit: str = "people", width: int = 640) -> Markup:
    return bar_chart(chart_id=chart_id, title=title, description=description, series=series, unit=unit, width=width)


def parse(svg: Markup) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 (our own output, parsed to check it)


def local(tag: str) -> str:
    return tag.removeprefix(SVG)


def group(root: ET.Element, group_id: str) -> ET.Element:
    found = root.find(f".//{SVG}g[@id='{group_id}']")
    assert found is not None, f"no group {group_id}"
    return found


def rows(root: ET.Element, chart_id: str = "chart-test") -> list[ET.Element]:
    return list(group(root, f"{chart_id}-rows"))


def bar_rects(row: ET.Element) -> list[ET.Element]:
    return row.findall(f"{SVG}rect")


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def ticks(root: ET.Element, chart_id: str = "chart-test") -> list[tuple[int, float]]:
    """(value, x) of every tick label on the value axis."""
    axis = group(root, f"{chart_id}-axis")
    return [(int((t.text or "").replace(",", "")), float(t.get("x", "nan"))) for t in axis.iter(f"{SVG}text")]


def is_nice(number: int) -> bool:
    power = 10 ** (len(str(number)) - 1)
    return number % power == 0 and number // power in (1, 2, 5)


def contrast_with_white(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def test_well_formed_svg_labelled_by_its_title_and_description() -> None:
    svg = draw(single([40, 10]), title="Rule 35 reports", description="Two bars.")
    assert isinstance(svg, Markup)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 640 ")
    title_id, desc_id = root.get("aria-labelledby", "").split()
    title = root.find(f"{SVG}title[@id='{title_id}']")
    desc = root.find(f"{SVG}desc[@id='{desc_id}']")
    assert title is not None and title.text == "Rule 35 reports"
    assert desc is not None and desc.text == "Two bars."
    assert (title_id, desc_id) == ("chart-test-title", "chart-test-desc")


def test_only_plain_svg_elements_and_no_page_dependent_styling() -> None:
    labels = ["Released", "Removed"]
    series = [*single([40, None], labels, "A"), *single([0, 25], labels, "B"), *single([12, 3], labels, "C")]
    root = parse(draw(series))
    assert {local(e.tag) for e in root.iter()} <= ALLOWED_TAGS
    for element in root.iter():
        assert not {"class", "style"} & set(element.attrib), element.attrib
        assert not any(name.startswith("on") for name in element.attrib), element.attrib
        assert "href" not in "".join(element.attrib)  # nothing external to fetch
    assert "DejaVu Sans" in root.get("font-family", "")


def test_one_rect_per_shown_bar_with_width_proportional_to_value() -> None:
    root = parse(draw(single([40, 10, None, 25])))
    drawn = [bar_rects(row) for row in rows(root)]
    assert [len(r) for r in drawn] == [1, 1, 0, 1]
    widths = [float(r[0].get("width", "nan")) for r in drawn if r]
    assert widths[0] / widths[1] == pytest.approx(4, rel=1e-3)
    assert widths[2] / widths[1] == pytest.approx(2.5, rel=1e-3)
    # And to the axis: 40 on an axis of 0..50 spans four fifths of the distance from the 0 tick to the 50 tick.
    scale = ticks(root)
    assert scale[0][0] == 0 and scale[-1][0] == 50
    assert widths[0] == pytest.approx((scale[-1][1] - scale[0][1]) * 40 / 50, abs=0.02)


def test_every_bar_has_its_value_written_beside_it() -> None:
    root = parse(draw(single([40, 10, 25])))
    for row, value in zip(rows(root), ["40", "10", "25"], strict=True):
        rect = bar_rects(row)[0]
        label = [t for t in row.iter(f"{SVG}text") if t.text == value]
        assert len(label) == 1
        assert float(label[0].get("x", "nan")) > float(rect.get("x", "nan")) + float(rect.get("width", "nan"))


def test_suppressed_bar_has_no_rect_but_its_row_says_it_is_hidden() -> None:
    labels = ["Torture", "Trafficking", "Self-harm"]
    root = parse(draw(single([40, None, 12], labels)))
    hidden = rows(root)[1]
    assert bar_rects(hidden) == []
    assert "<10 (not shown)" in texts(hidden)
    assert "Trafficking" in texts(hidden)  # the category stays visible
    title = hidden.find(f"{SVG}title")
    assert title is not None and title.text == "Trafficking: <10 (not shown)"
    assert sum(len(bar_rects(row)) for row in rows(root)) == 2


def test_grouped_chart_has_a_legend_entry_and_distinct_fill_per_series() -> None:
    labels = ["Rule 35(1)", "Rule 35(2)", "Rule 35(3)"]
    names = ["Released", "Removed", "Still detained"]
    series = [*single([40, 30, 20], labels, names[0]), *single([5, None, 15], labels, names[1]),
              *single([12, 8, 0], labels, names[2])]
    root = parse(draw(series))
    legend = group(root, "chart-test-legend")
    entries = list(legend)
    assert [texts(entry) for entry in entries] == [[name] for name in names]
    swatches = [entry.find(f"{SVG}rect") for entry in entries]
    fills = [swatch.get("fill") for swatch in swatches if swatch is not None]
    assert len(set(fills)) == 3
    # Series after the first are patterned (distinguishable in greyscale), and each pattern is defined in the chart.
    for fill in fills[1:]:
        assert fill is not None and fill.startswith("url(#")
        assert root.find(f".//{SVG}pattern[@id='{fill[5:-1]}']") is not None
    # Bars take their series' legend fill, in series order within each group.
    first_row = bar_rects(rows(root)[0])
    assert [r.get("fill") for r in first_row] == fills
    assert [len(bar_rects(row)) for row in rows(root)] == [3, 2, 3]


def test_pattern_ids_are_scoped_to_the_chart_so_two_charts_can_share_a_page() -> None:
    series = [*single([4, 5], name="A"), *single([6, 7], name="B")]
    first, second = parse(draw(series, chart_id="chart-a")), parse(draw(series, chart_id="chart-b"))
    ids = [{e.get("id") for e in root.iter() if e.get("id")} for root in (first, second)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]


def test_hostile_text_is_escaped_everywhere() -> None:
    series = [Series(name=HOSTILE, bars=(Bar(label=HOSTILE, value=12, display=HOSTILE),
                                        Bar(label="Other", value=None, display=HOSTILE))),
              Series(name="B", bars=(Bar(label=HOSTILE, value=3, display="3"),
                                     Bar(label="Other", value=1, display="1")))]
    svg = draw(series, title=HOSTILE, description=HOSTILE, unit=HOSTILE)
    assert "<script" not in svg
    root = parse(svg)  # still well-formed: the quotes and ampersand did not break out
    assert not [e for e in root.iter() if local(e.tag) == "script"]
    assert [root.findtext(f"{SVG}title"), root.findtext(f"{SVG}desc")] == [HOSTILE, HOSTILE]
    drawn = texts(root)
    assert HOSTILE in drawn  # the label, series name and displayed value come back intact
    assert f"{HOSTILE} (not shown)" in drawn
    assert f"Number of {HOSTILE}" in drawn


@pytest.mark.parametrize("chart_id", ['x" onload="alert(1)', "two words", "1st", ""])
def test_chart_id_that_could_break_its_attributes_is_refused(chart_id: str) -> None:
    with pytest.raises(ValueError, match="chart_id"):
        draw(single([1]), chart_id=chart_id)


def test_series_with_different_categories_are_refused() -> None:
    with pytest.raises(ValueError, match="same categories"):
        draw([*single([1, 2], ["a", "b"], "A"), *single([1, 2], ["b", "a"], "B")])


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        draw(single([3, -1]))


@pytest.mark.parametrize(("values", "message"), [
    ([0, 0, 0], "Every count is zero, so no bars are drawn."),
    ([None, None], "Every count is hidden for disclosure control, so no bars are drawn."),
    ([0, None], "Every count is zero or hidden for disclosure control, so no bars are drawn."),
])
def test_chart_with_nothing_to_scale_still_renders_with_a_message(values: list[int | None], message: str) -> None:
    svg = draw(single(values))
    assert "nan" not in svg.lower() and "inf" not in svg.lower()
    root = parse(svg)
    assert texts(group(root, "chart-test-message")) == [message]
    assert ticks(root) == []  # no scale drawn for nothing
    assert len(rows(root)) == len(values)  # every category is still listed
    for row in rows(root):
        assert all(float(r.get("width", "nan")) == 0 for r in bar_rects(row))


def test_chart_without_categories_renders() -> None:
    root = parse(draw([Series(name="People", bars=())]))
    assert texts(group(root, "chart-test-message")) == ["No categories to show."]
    assert rows(root) == []


def test_long_label_is_wrapped_or_cut_with_the_full_label_in_a_title() -> None:
    label = "Rule 35(1): a detained person whose health is likely to be injuriously affected by detention " * 2
    root = parse(draw(single([30, 20], [label, "Short"])))
    row = rows(root)[0]
    drawn_lines = [t.text or "" for t in row.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert 1 < len(drawn_lines) <= 2
    assert drawn_lines[-1].endswith("\u2026")
    assert " ".join(drawn_lines) != label
    title = row.find(f"{SVG}title")
    assert title is not None and (title.text or "").startswith(label)


def test_height_grows_with_the_number_of_rows() -> None:
    def height(n: int) -> float:
        return float(parse(draw(single([5] * n))).get("viewBox", "").split()[3])

    assert height(3) < height(6) < height(12)


def test_text_colours_meet_wcag_aa_against_white() -> None:
    series = [*single([40, None, 0], name="A"), *single([3, 12, None], name="B")]
    root = parse(draw(series))
    colours = {t.get("fill") for t in root.iter(f"{SVG}text")}
    assert colours and None not in colours
    for colour in colours:
        assert contrast_with_white(str(colour)) >= 4.5, colour


def test_output_is_deterministic() -> None:
    def build() -> Markup:
        labels = ["Torture", "Trafficking", "Self-harm"]
        return draw([*single([41, None, 7], labels, "Released"), *single([3, 19, None], labels, "Removed")],
                    unit="reports", width=700)

    first, second = build(), build()
    assert first == second
    assert str(first).encode() == str(second).encode()
    assert build() != draw(single([41, None, 7]))  # and the comparison is not trivially true


@pytest.mark.parametrize(("largest", "expected"), [
    (0, (2, 1)), (1, (2, 1)), (2, (2, 1)), (3, (5, 1)), (5, (5, 1)), (6, (10, 2)), (10, (10, 2)), (11, (20, 5)),
    (42, (50, 10)), (51, (100, 20)), (130, (200, 50)), (1000, (1000, 200)), (1001, (2000, 500)),
])
def test_nice_axis_examples(largest: int, expected: tuple[int, int]) -> None:
    assert nice_axis(largest) == expected


@given(st.integers(min_value=0, max_value=10**12))
def test_nice_axis_is_the_smallest_nice_maximum_with_three_to_six_gridlines(largest: int) -> None:
    maximum, step = nice_axis(largest)
    assert maximum >= largest and is_nice(maximum)
    assert 3 <= maximum // step + 1 <= 6 and maximum % step == 0
    # The nice number below it (5 x 10^(n-1) below 10^n, 10^n below 2 x 10^n, 2 x 10^n below 5 x 10^n) would not hold
    # the largest value, or is 1, whose axis has only two gridlines.
    below = maximum * 2 // 5 if str(maximum)[0] == "5" else maximum // 2
    assert is_nice(below) and (below < largest or below == 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=10**7)), min_size=1, max_size=12))
def test_drawn_axis_is_nice_and_holds_every_bar(values: list[int | None]) -> None:
    root = parse(draw(single(values)))
    largest = max((v for v in values if v is not None), default=0)
    scale = ticks(root)
    drawn = [r for row in rows(root) for r in bar_rects(row)]
    assert len(drawn) == sum(v is not None for v in values)
    if largest == 0:
        assert scale == []
        return
    maximum = scale[-1][0]
    assert is_nice(maximum) and maximum >= largest
    assert 3 <= len(scale) <= 6
    assert [value for value, _ in scale] == list(range(0, maximum + 1, scale[1][0]))
    plot_left, plot_right = scale[0][1], scale[-1][1]
    widths = [float(r.get("width", "nan")) for r in drawn]
    assert all(math.isfinite(w) and 0 <= w <= plot_right - plot_left + 0.01 for w in widths)
    shown = [v for v in values if v is not None]
    for value, width in zip(shown, widths, strict=True):
        assert width == pytest.approx((plot_right - plot_left) * value / maximum, abs=0.02)
