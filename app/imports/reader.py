"""Reading an uploaded spreadsheet (CSV or XLSX) into headings and rows of text, refusing with a plain message
anything that is not one, is too large, holds macros or formulas, or has no heading row."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from app.evidence.storage import UploadRefused

# The largest file read (checked while the upload streams in) and the most rows one import takes.
LIMIT_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 60
MAX_CELL_CHARS = 4000
# A workbook's parts, uncompressed, beyond which it is refused unread (a "zip bomb" is small until opened).
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
FORMULA_ADVICE = ("Replace formulas with their values (copy, then paste values only), save, and upload the file "
                  "again.")


class ImportRefused(UploadRefused):
    """A file that is not imported: `reason` for the audit row, `message` beside the file field."""


@dataclass(frozen=True)
class Sheet:
    kind: str  # "csv" or "xlsx"
    headings: list[str]
    rows: list[list[str]]


def _extension(filename: str) -> str:
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def read(filename: str, data: bytes) -> Sheet:
    """The file's first sheet as text. The type is decided by content; the name only adds refusals (a name
    ending .xlsm is a macro-enabled workbook whatever it holds)."""
    if len(data) > LIMIT_BYTES:
        raise too_large()
    if not data.strip():
        raise ImportRefused("empty", "The file is empty. Choose the spreadsheet again.")
    ext = _extension(filename)
    if ext in ("xlsm", "xltm", "xlam"):
        raise _macros()
    if data.startswith(OLE2_MAGIC):
        raise ImportRefused("old_excel", "This is an old-style Excel file (.xls). Open it in your spreadsheet "
                                         "program, save it as an Excel workbook (.xlsx) or as CSV, and upload that.")
    if data.startswith(ZIP_MAGIC):
        return _read_xlsx(data)
    return _read_csv(data)


def too_large() -> ImportRefused:
    return ImportRefused("too_large", f"The file is larger than the {LIMIT_BYTES // (1024 * 1024)} MB limit. "
                                      "Split it into smaller files and import each.", status_code=413)


def _macros() -> ImportRefused:
    return ImportRefused("macros", "This workbook can hold macros (program code), which are never opened here. "
                                   "Save it as an ordinary Excel workbook (.xlsx) or as CSV, and upload that.")


def _not_a_spreadsheet() -> ImportRefused:
    return ImportRefused("not_a_spreadsheet", "This file is not a CSV file or an Excel workbook (.xlsx). "
                                              "Save the spreadsheet as CSV or .xlsx and upload that.")


# --- CSV ---------------------------------------------------------------------------------------------

def _decode(data: bytes) -> str:
    if b"\x00" in data[:65536]:
        # Text files have no NUL bytes; a UTF-16 CSV or any binary file does.
        raise _not_a_spreadsheet()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the Windows code page.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise _not_a_spreadsheet() from None


def _read_csv(data: bytes) -> Sheet:
    text = _decode(data)
    if text.lstrip().startswith(("<", "%PDF", "{")):
        raise _not_a_spreadsheet()
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[str]] = []
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), dialect), start=1):
            if number > MAX_ROWS + 1:
                raise _too_many_rows()
            rows.append([cell.strip() for cell in row])
    except csv.Error:
        raise ImportRefused("malformed", "The CSV file could not be read: a quoted cell may not be closed. Save "
                                         "it again from your spreadsheet program and upload it.") from None
    return _sheet("csv", rows)


def _too_many_rows() -> ImportRefused:
    return ImportRefused("too_many_rows", f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files "
                                          "and import each.")


# --- XLSX --------------------------------------------------------------------------------------------

def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _read_xlsx(data: bytes) -> Sheet:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise _not_a_spreadsheet() from None
    names = {part.filename for part in parts}
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise _macros()
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _not_a_spreadsheet()
    if b"macroEnabled" in archive.read("[Content_Types].xml"):
        raise _macros()
    if sum(part.file_size for part in parts) > MAX_UNZIPPED_BYTES:
        raise too_large()
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged workbook; all mean the same here
        raise ImportRefused("malformed", "The workbook could not be read: it may be damaged. Open it in your "
                                         "spreadsheet program, save it again and upload it.") from None
    try:
        sheet = workbook.worksheets[0]
        rows: list[list[str]] = []
        for row_number, row in enumerate(sheet.iter_rows(), start=1):
            if row_number > MAX_ROWS + 1:
                raise _too_many_rows()
            texts = []
            for column, cell in enumerate(row, start=1):
                if getattr(cell, "data_type", None) == "f":
                    # A formula's result depends on what the program that opened it computed: never trusted.
                    cell_name = f"{get_column_letter(column)}{row_number}"
                    raise ImportRefused("formula", f"Cell {cell_name} holds a formula. " + FORMULA_ADVICE)
                if column <= MAX_COLUMNS + 1:
                    texts.append(_cell_text(cell.value))
            rows.append(texts)
    finally:
        workbook.close()
    return _sheet("xlsx", rows)


# --- both ---------------------------------------------------------------------------------------------

DATA_LIKE = re.compile(r"^[\d\s.,:/+-]+$|\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}")


def _looks_like_data(text: str) -> bool:
    """A number or a date where a heading should be: the file has no heading row and starts with data."""
    return bool(DATA_LIKE.search(text))


def _sheet(kind: str, raw: list[list[str]]) -> Sheet:
    rows = [row for row in raw if any(cell for cell in row)]
    if not rows:
        raise ImportRefused("empty_sheet", "The sheet is empty. Check that you saved the right sheet: only the "
                                           "first sheet of a workbook is read.")
    headings = rows[0]
    while headings and not headings[-1]:
        headings = headings[:-1]
    if len(headings) > MAX_COLUMNS:
        raise ImportRefused("too_many_columns", f"The sheet has more than {MAX_COLUMNS} columns. Remove the "
                                                "columns that are not imported and upload it again.")
    filled = [h for h in headings if h]
    if not filled or len(filled) < len(headings) or any(_looks_like_data(h) for h in headings):
        raise ImportRefused("no_headings", (
            "The first row must be a heading row naming each column (for example Given names, Family name, "
            "Date of birth), with no empty headings. Add one and upload the file again."))
    seen: set[str] = set()
    for heading in headings:
        if heading.lower() in seen:
            raise ImportRefused("repeated_heading", f"Two columns are both headed \u201c{heading}\u201d. Give "
                                                    "each column its own heading.")
        seen.add(heading.lower())
    body = rows[1:]
    if not body:
        raise ImportRefused("no_rows", "The sheet has a heading row but no rows below it.")
    width = len(headings)
    cleaned = []
    for row in body:
        cells = (row + [""] * width)[:width]
        cleaned.append([cell[:MAX_CELL_CHARS] for cell in cells])
    return Sheet(kind, headings, cleaned)
