"""A published summary or narrative as one canonical document, and that document as JSON, CSV, HTML charts and PDF."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from markupsafe import Markup

from app.dates import format_datetime
from app.reports import charts
from app.reports.disclosure import Cell, ProtectedTable
from app.reports.summaries import Summary
from app.web.spreadsheet import csv_cell

GUARANTEE = (
    "Only people whose consent to anonymised research stood on the day of release are counted. "
    "Counts from 1 to {below} are hidden, shown as [c]; where a table has totals, further counts of any size are "
    "hidden the same way so that no small one can be worked out by subtraction. An integer-programming check, "
    "over this release and every earlier release of an overlapping period, proved that every hidden count could "
    "be any of at least {k} values. Percentages, means and medians are shown only for at least {k} people."
)
ROUNDING_GUARANTEE = (
    "Only people whose consent to anonymised research stood on the day of release are counted. Every count "
    "and total is rounded to the nearest 5, so totals may not add up. Percentages, means and medians are shown "
    "only for at least {k} people."
)


def _cell(cell: Cell) -> dict[str, Any]:
    return {"display": cell.display, "value": None if cell.suppressed else cell.value}


def _table(table: ProtectedTable) -> dict[str, Any]:
    rows = []
    for i, label in enumerate(table.row_labels):
        row: dict[str, Any] = {"label": label, "cells": [_cell(c) for c in table.cells[i]]}
        if table.row_totals is not None:
            row["total"] = _cell(table.row_totals[i])
        rows.append(row)
    document: dict[str, Any] = {"key": table.key, "title": table.title, "columns": list(table.col_labels),
                                "rows": rows, "row_totals": table.row_totals is not None}
    if table.col_totals is not None or table.grand_total is not None:
        document["totals"] = {
            "cells": [_cell(c) for c in table.col_totals] if table.col_totals is not None else None,
            "total": _cell(table.grand_total) if table.grand_total is not None else None,
        }
    return document


def _percent(value: float | None) -> str:
    return "not shown" if value is None else f"{value:.0f}%"


def summary_document(summary: Summary) -> dict[str, Any]:
    """Only published values enter the document: a hidden cell carries its display ("<10") and no value."""
    k = summary.k
    headline = summary.table("people_seen")
    visits = summary.table("visits_by_mode")
    guarantee = ROUNDING_GUARANTEE if summary.params.rounding else GUARANTEE
    return {
        "title": "Anonymised evidence summary",
        "generated_at": summary.generated_at.isoformat(timespec="seconds"),
        "generated": format_datetime(summary.generated_at),
        "parameters": [[label, value] for label, value in summary.params.describe()],
        "k": k,
        "rounding": summary.params.rounding,
        "guarantee": guarantee.format(k=k, below=k - 1),
        "headline": [
            ["People seen", headline.cells[0][0].display],
            ["Visits", visits.grand_total.display if visits.grand_total is not None else "not shown"],
            ["Median days in detention", "not shown" if summary.median_days is None
             else f"{summary.median_days:g}"],
        ],
        "tables": [_table(t) for t in summary.tables if t.key != "people_seen"],
        "release_rates": [[label, _percent(rate)] for label, rate in summary.release_rates],
    }


def to_json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def to_csv(document: dict[str, Any]) -> bytes:
    """One block per table: its title, a header row, its rows, and its totals row, separated by a blank line."""
    out = io.StringIO()
    writer = _SafeWriter(csv.writer(out, lineterminator="\r\n"))
    writer.writerow([document["title"]])
    for label, value in document["parameters"]:
        writer.writerow([label, value])
    writer.writerow(["Generated", document["generated_at"]])
    writer.writerow([document["guarantee"]])
    writer.writerow([])
    for label, value in document["headline"]:
        writer.writerow([label, value])
    for table in document["tables"]:
        writer.writerow([])
        writer.writerow([table["title"]])
        header = ["", *table["columns"]] + (["Total"] if table["row_totals"] else [])
        writer.writerow(header)
        for row in table["rows"]:
            cells = [c["display"] for c in row["cells"]]
            writer.writerow([row["label"], *cells] + ([row["total"]["display"]] if "total" in row else []))
        totals = table.get("totals")
        if totals:
            cells = [c["display"] for c in totals["cells"]] if totals["cells"] else [""] * len(table["columns"])
            writer.writerow(["Total", *cells] + ([totals["total"]["display"]] if totals["total"] else []))
    writer.writerow([])
    writer.writerow(["Rule 35 reports that led to release (of those answered)"])
    for label, value in document["release_rates"]:
        writer.writerow([label, value])
    return out.getvalue().encode("utf-8-sig")


class _SafeWriter:
    """Neutralises formula-looking cells, so a spreadsheet never runs one (facility names are edited by admins)."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([csv_cell(c) for c in row])


def summary_charts(document: dict[str, Any]) -> dict[str, Markup]:
    """An accessible SVG chart for each table, drawn from its published values only."""
    drawn: dict[str, Markup] = {}
    for table in document["tables"]:
        series = []
        for c, column in enumerate(table["columns"]):
            bars = tuple(charts.Bar(label=row["label"], value=row["cells"][c]["value"],
                                    display=row["cells"][c]["display"]) for row in table["rows"])
            series.append(charts.Series(name=column, bars=bars))
        hidden = sum(1 for row in table["rows"] for cell in row["cells"] if cell["value"] is None)
        description = (f"Bar chart of {table['title'].lower()}, one bar per row of the table that follows it. "
                       + (f"{hidden} hidden count{'s' if hidden != 1 else ''} shown as text, not as bars."
                          if hidden else "No count is hidden."))
        unit = table["columns"][0].lower() if len(table["columns"]) == 1 else "reports"
        drawn[table["key"]] = charts.bar_chart(chart_id=f"chart-{table['key']}", title=table["title"],
                                               description=description, series=series, unit=unit)
    return drawn


def to_pdf(html: str) -> bytes:
    # WeasyPrint loads Pango on import; only exports pay for it.
    from weasyprint import HTML

    return HTML(string=html).write_pdf()
