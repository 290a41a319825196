"""Accessible horizontal bar charts as inline SVG 1.1, drawn from published (disclosure-controlled) values only."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

# One font list everywhere: WeasyPrint has no web fonts to fetch, and DejaVu Sans is what its images ship with.
FONT_FAMILY = "DejaVu Sans, Arial, sans-serif"

# Text colours all reach at least 4.5:1 against white (WCAG AA for normal-size text).
TEXT_COLOUR = "#1a1a1a"  # 17.4:1
MUTED_TEXT_COLOUR = "#595959"  # 7.0:1
GRID_COLOUR = "#c8c8c8"
AXIS_COLOUR = "#595959"

# Bar colours are dark enough to carry 3:1 non-text contrast and sit apart in greyscale; each series after the
# first also gets a white pattern over its colour, so a photocopy or a colour-blind reader can still tell them apart.
SERIES_COLOURS = ("#1f4e79", "#a34700", "#2e6b30", "#6a1b9a", "#8b1a1a", "#3d3d3d")
_PATTERNS = ("diagonal", "dots", "horizontal", "crosshatch", "vertical")

_FONT_SIZE = 12
_SMALL_FONT_SIZE = 11
_LINE_HEIGHT = 14
# Estimated advance of one character as a share of the font size: generous, so text never overruns its column.
_CHAR_WIDTH = 0.6
_MAX_LABEL_LINES = 2
_MIN_WIDTH = 320
_ID_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Bar:
    label: str  # category, e.g. "Rule 35(3): torture"
    value: int | None  # None = suppressed (not shown for disclosure control)
    display: str  # text to show, e.g. "42" or "<10"


@dataclass(frozen=True)
class Series:
    name: str  # e.g. "Released" (for grouped bars); a single-series chart uses one Series
    bars: tuple[Bar, ...]


def nice_axis(largest: int) -> tuple[int, int]:
    """The smallest axis maximum of the form 1, 2 or 5 x 10^n (but at least 2) that is at least `largest`, and the
    tick step that divides it into 3 to 6 gridlines (counting the one at zero)."""
    if largest < 0:
        raise ValueError("counts cannot be negative")
    power = 1
    while True:
        for mantissa in (1, 2, 5):
            maximum = mantissa * power
            # An axis of 0..1 would have only two gridlines, so the smallest axis is 0..2.
            if maximum >= max(largest, 2):
                # 0..2 goes in steps of 1 (3 lines); 2 x 10^n in quarters (5 lines); the rest in fifths (6 lines).
                if maximum == 2:
                    return maximum, 1
                return maximum, maximum // 4 if mantissa == 2 else maximum // 5
        power *= 10


def bar_chart(*, chart_id: str, title: str, description: str, series: Sequence[Series], unit: str = "people",
              width: int = 640) -> Markup:
    """A horizontal (grouped when several series) bar chart as one inline <svg> element, byte-for-byte repeatable."""
    if not _ID_PATTERN.fullmatch(chart_id):
        # The id is spliced into id and aria-labelledby attributes, where a space or quote would break the link.
        raise ValueError(f"chart_id must be a letter followed by letters, digits, '-' or '_': {chart_id!r}")
    if width < _MIN_WIDTH:
        raise ValueError(f"width must be at least {_MIN_WIDTH}")
    categories = _categories(series)
    values = [bar.value for s in series for bar in s.bars]
    if any(v is not None and v < 0 for v in values):
        raise ValueError("counts cannot be negative")
    visible = [v for v in values if v is not None]
    largest = max(visible, default=0)
    multi = len(series) > 1
    axis_max, step = nice_axis(largest) if largest else (0, 0)

    bar_height = 14 if multi else 20
    bar_gap = 2
    row_padding = 14 if multi else 10

    value_texts = [bar.display for s in series for bar in s.bars if bar.value is not None]
    # Room on the right for the value label of the longest bar, but never more than a third of the chart.
    value_margin = min(max(40, max((_text_width(t, _FONT_SIZE) for t in value_texts), default=0) + 12), width // 3)
    longest_label = max((_text_width(c, _FONT_SIZE) for c in categories), default=0)
    label_width = int(min(max(longest_label + 16, width * 0.2), width * 0.4))
    plot_left = label_width
    plot_right = width - value_margin
    plot_width = plot_right - plot_left
    chars_per_line = max(4, int((label_width - 12) / (_FONT_SIZE * _CHAR_WIDTH)))

    parts: list[Markup] = []
    y = 8

    if multi:
        # The legend names each series beside a swatch in the same fill as its bars, wrapping onto more lines.
        legend: list[Markup] = []
        x = 0
        for index, s in enumerate(series):
            entry_width = 18 + _text_width(s.name, _FONT_SIZE) + 16
            if x and x + entry_width > width:
                x = 0
                y += 20
            legend.append(_el("g", {},
                              _el("rect", {"x": x, "y": y, "width": 14, "height": 14, "fill": _fill(chart_id, index),
                                           "stroke": _colour(index), "stroke-width": 1}),
                              _el("text", {"x": x + 18, "y": y + 11, "fill": TEXT_COLOUR}, s.name)))
            x += entry_width
        parts.append(_el("g", {"id": f"{chart_id}-legend"}, *legend))
        y += 26

    message = _message(categories, visible, len(values) - len(visible))
    if message:
        # The message spans the whole chart (it is wider than the plot area) and wraps if the chart is narrow.
        message_lines = textwrap.wrap(message, width=max(10, int(width / (_FONT_SIZE * _CHAR_WIDTH))))
        parts.append(_el("g", {"id": f"{chart_id}-message"}, *(
            _el("text", {"x": 0, "y": y + 11 + line_index * _LINE_HEIGHT, "fill": MUTED_TEXT_COLOUR,
                         "font-style": "italic"}, line)
            for line_index, line in enumerate(message_lines))))
        y += 8 + len(message_lines) * _LINE_HEIGHT

    rows_top = y
    rows: list[Markup] = []
    group_height = len(series) * bar_height + (len(series) - 1) * bar_gap
    for row_index, category in enumerate(categories):
        lines = _wrap(category, chars_per_line)
        label_height = len(lines) * _LINE_HEIGHT
        row_height = max(group_height, label_height) + row_padding
        bars_top = y + (row_height - group_height) / 2
        label_top = y + (row_height - label_height) / 2
        # The row's <title> carries the full label (the drawn one may be cut short) and every value, as a tooltip.
        row = [_el("title", {}, _row_title(category, series, row_index, multi))]
        for line_index, line in enumerate(lines):
            row.append(_el("text", {"x": plot_left - 8, "y": label_top + (line_index + 1) * _LINE_HEIGHT - 3,
                                    "text-anchor": "end", "fill": TEXT_COLOUR}, line))
        for index, s in enumerate(series):
            bar = s.bars[row_index]
            top = bars_top + index * (bar_height + bar_gap)
            baseline = top + bar_height / 2 + 4
            if bar.value is None:
                # No bar for a hidden count, but the row still says the category exists and was withheld.
                row.append(_el("text", {"x": plot_left + 4, "y": baseline, "fill": MUTED_TEXT_COLOUR,
                                        "font-style": "italic"}, _suppressed_text(bar.display)))
                continue
            length = bar.value / axis_max * plot_width if axis_max else 0.0
            row.append(_el("rect", {"x": plot_left, "y": top, "width": length, "height": bar_height,
                                    "fill": _fill(chart_id, index), "stroke": _colour(index), "stroke-width": 1}))
            row.append(_el("text", {"x": plot_left + length + 4, "y": baseline, "fill": TEXT_COLOUR}, bar.display))
        rows.append(_el("g", {}, *row))
        y += row_height
    rows_bottom = max(y, rows_top + 10)

    # Gridlines come before the rows in the document, so bars paint over them; with nothing to scale, none are drawn.
    axis: list[Markup] = []
    if axis_max:
        for tick in range(0, axis_max + 1, step):
            x_tick = plot_left + tick / axis_max * plot_width
            axis.append(_el("line", {"x1": x_tick, "y1": rows_top, "x2": x_tick, "y2": rows_bottom,
                                     "stroke": AXIS_COLOUR if tick == 0 else GRID_COLOUR, "stroke-width": 1}))
            axis.append(_el("text", {"x": x_tick, "y": rows_bottom + 16, "text-anchor": "middle",
                                     "font-size": _SMALL_FONT_SIZE, "fill": MUTED_TEXT_COLOUR}, f"{tick:,}"))
    else:
        axis.append(_el("line", {"x1": plot_left, "y1": rows_top, "x2": plot_left, "y2": rows_bottom,
                                 "stroke": AXIS_COLOUR, "stroke-width": 1}))
    parts.append(_el("g", {"id": f"{chart_id}-axis"}, *axis))
    parts.append(_el("g", {"id": f"{chart_id}-rows"}, *rows))
    if axis_max:
        y = rows_bottom + 20
        parts.append(_el("text", {"x": plot_left + plot_width / 2, "y": y + 14, "text-anchor": "middle",
                                  "fill": MUTED_TEXT_COLOUR}, f"Number of {unit}"))
        height = y + 22
    else:
        height = rows_bottom + 8

    # Patterns sit directly under <svg> (valid SVG 1.1), keeping to the small set of elements every renderer knows.
    patterns = [_pattern(chart_id, index) for index in range(1, len(series))]
    return _el("svg", {"xmlns": "http://www.w3.org/2000/svg", "version": "1.1", "role": "img",
                       "aria-labelledby": f"{chart_id}-title {chart_id}-desc", "viewBox": f"0 0 {width} {height}",
                       "width": "100%", "font-family": FONT_FAMILY, "font-size": _FONT_SIZE},
               _el("title", {"id": f"{chart_id}-title"}, title),
               _el("desc", {"id": f"{chart_id}-desc"}, description),
               *patterns,
               _el("rect", {"x": 0, "y": 0, "width": width, "height": height, "fill": "#ffffff"}),
               *parts)


def _el(tag: str, attributes: dict[str, str | int | float], *children: Markup | str) -> Markup:
    """One element, with every attribute value and text child escaped: chart text comes from data."""
    rendered = Markup("").join(Markup(' {}="{}"').format(name, _n(value) if isinstance(value, float) else value)
                               for name, value in attributes.items())
    if not children:
        return Markup("<{}{}/>").format(tag, rendered)
    return Markup("<{0}{1}>{2}</{0}>").format(tag, rendered, Markup("").join(children))


def _categories(series: Sequence[Series]) -> tuple[str, ...]:
    if not series:
        return ()
    categories = tuple(bar.label for bar in series[0].bars)
    for s in series[1:]:
        if tuple(bar.label for bar in s.bars) != categories:
            # Grouped bars pair up by position, so series with different rows would draw wrong groups.
            raise ValueError(f"series {s.name!r} does not have the same categories in the same order")
    return categories


def _message(categories: Sequence[str], visible: Sequence[int], hidden: int) -> str:
    if not categories:
        return "No categories to show."
    if any(visible):
        return ""
    if not visible:
        return "Every count is hidden for disclosure control, so no bars are drawn."
    if hidden:
        return "Every count is zero or hidden for disclosure control, so no bars are drawn."
    return "Every count is zero, so no bars are drawn."


def _suppressed_text(display: str) -> str:
    return f"{display} (not shown)" if display else "not shown"


def _row_title(category: str, series: Sequence[Series], row_index: int, multi: bool) -> str:
    """The full category (its label may be cut short) with every value, shown as a tooltip."""
    texts = []
    for s in series:
        bar = s.bars[row_index]
        text = bar.display if bar.value is not None else _suppressed_text(bar.display)
        texts.append(f"{s.name} {text}" if multi else text)
    return f"{category}: {', '.join(texts)}"


def _wrap(label: str, chars_per_line: int) -> list[str]:
    lines = textwrap.wrap(label, width=chars_per_line, break_long_words=True) or [""]
    if len(lines) > _MAX_LABEL_LINES:
        last = " ".join(lines[_MAX_LABEL_LINES - 1:])
        lines = [*lines[: _MAX_LABEL_LINES - 1], last[: chars_per_line - 1].rstrip() + "\u2026"]
    return lines


def _text_width(text: str, font_size: int) -> int:
    return int(len(text) * font_size * _CHAR_WIDTH + 0.5)


def _colour(index: int) -> str:
    return SERIES_COLOURS[index % len(SERIES_COLOURS)]


def _fill(chart_id: str, index: int) -> str:
    # The first series is solid; the rest use a pattern whose id is prefixed by the chart's, as several charts share
    # one HTML page (and one id namespace).
    return _colour(index) if index == 0 else f"url(#{chart_id}-fill-{index})"


def _pattern(chart_id: str, index: int) -> Markup:
    """A 6 x 6 tile of the series colour with white marks, so each series differs in greyscale as well as hue."""
    kind = _PATTERNS[(index - 1) % len(_PATTERNS)]
    white: dict[str, str | int | float] = {"stroke": "#ffffff", "stroke-width": 1.5}
    marks = {
        "diagonal": [_el("line", {"x1": 0, "y1": 6, "x2": 6, "y2": 0, **white})],
        "dots": [_el("rect", {"x": 2, "y": 2, "width": 2, "height": 2, "fill": "#ffffff"})],
        "horizontal": [_el("line", {"x1": 0, "y1": 3, "x2": 6, "y2": 3, **white})],
        "crosshatch": [_el("line", {"x1": 0, "y1": 6, "x2": 6, "y2": 0, **white}),
                       _el("line", {"x1": 0, "y1": 0, "x2": 6, "y2": 6, **white})],
        "vertical": [_el("line", {"x1": 3, "y1": 0, "x2": 3, "y2": 6, **white})],
    }[kind]
    return _el("pattern", {"id": f"{chart_id}-fill-{index}", "patternUnits": "userSpaceOnUse", "width": 6,
                           "height": 6},
               _el("rect", {"x": 0, "y": 0, "width": 6, "height": 6, "fill": _colour(index)}), *marks)


def _n(number: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros, so output is short and stable."""
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
