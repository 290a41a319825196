"""The caseload export: every person the people list's filters match, with its columns, as CSV or XLSX."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, aliased

from app.alerts import rules as alert_rules
from app.alerts import service as alerts
from app.alerts import state as alert_state
from app.alerts.models import PersonAlertState
from app.auth.models import User
from app.config import Settings
from app.crypto.models import PersonKey
from app.detention import clock
from app.detention.models import DetentionEpisode, Facility, Placement
from app.people import service
from app.people.models import Assignment, Identity, Person, PersonStatus
from app.people.schemas import nationality_choices
from app.web.spreadsheet import csv_cell

# People read per statement: a chunk's rows, names and alerts are held at once, never the whole caseload.
CHUNK = 1000
# Output past this size goes to a temporary file rather than memory.
SPOOL_BYTES = 8 * 1024 * 1024
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
HEADER = ("Reference", "Family name", "Given names", "Status", "Nationality", "Current facility",
          "Detained since", "Days in detention", "Home Office length band", "Assigned clinicians", "Alerts")
# Characters XML 1.0 cannot hold: an XLSX with one of them in a cell would not open.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class Made:
    """A finished export: its bytes (in memory or spooled to disk), how many people it holds, and its name."""

    content: IO[bytes]
    rows: int
    filename: str
    media_type: str

    def chunks(self, size: int = 64 * 1024) -> Iterator[bytes]:
        self.content.seek(0)
        try:
            while block := self.content.read(size):
                yield block
        finally:
            self.content.close()


# --- the rows ------------------------------------------------------------------------------------

def _chunks(db: Session, user: User, query: service.PeopleQuery,
            alert_condition: Callable[[Any], ColumnElement[bool]] | None) -> Iterator[list[Any]]:
    """The matching people in the list's order, CHUNK at a time, each chunk one statement read from where the
    last ended (keyset, never an offset that re-reads the rows before it)."""
    current = aliased(DetentionEpisode)
    placement = aliased(Placement)
    where = service.list_conditions(db, user, query, current, alert_condition)
    columns = (Person.id, Person.reference, Identity.given_names_sealed, Identity.family_name_sealed,
               Person.status, Person.nationality, current.start_date, Facility.name, PersonAlertState.flags,
               PersonAlertState.valid_until, Person.created_at, PersonKey.wrapped_key, PersonKey.master_key_id)

    def statement(detained: bool | None) -> Any:
        joined = (select(*columns).select_from(Person)
                  .join(Identity, Identity.person_id == Person.id)
                  .outerjoin(PersonKey, PersonKey.person_id == Person.id)
                  .outerjoin(PersonAlertState, PersonAlertState.person_id == Person.id))
        on_current = and_(current.person_id == Person.id, current.end_date.is_(None))
        joined = joined.join(current, on_current) if detained else joined.outerjoin(current, on_current)
        joined = (joined.outerjoin(placement, and_(placement.episode_id == current.id, placement.date_out.is_(None)))
                  .outerjoin(Facility, Facility.id == placement.facility_id).where(*where))
        return joined.where(current.id.is_(None)) if detained is False else joined

    if query.sort == "days":
        # Longest current detention first, then everyone not detained, as the list orders them.
        yield from _walk(db, statement(True), ((current.start_date, 6), (Person.id, 0)), ascending=True)
        yield from _walk(db, statement(False), ((Person.id, 0),), ascending=True)
    else:
        yield from _walk(db, statement(None), ((Person.created_at, 10), (Person.id, 0)), ascending=False)


def _walk(db: Session, statement: Any, ordering: tuple[tuple[Any, int], ...], *,
          ascending: bool) -> Iterator[list[Any]]:
    """A statement's rows in the order of its keys ((column, its place in the row), ...), CHUNK at a time, each
    chunk starting after the last row read."""
    keys = tuple(column for column, _ in ordering)
    order = [k.asc() if ascending else k.desc() for k in keys]
    after: tuple[Any, ...] | None = None
    while True:
        chunk = statement
        if after is not None:
            chunk = chunk.where(_beyond(keys, after, ascending))
        rows = db.execute(chunk.order_by(*order).limit(CHUNK)).all()
        if not rows:
            return
        yield [service.open_names(db, row[:-2], row.wrapped_key, row.master_key_id) for row in rows]
        if len(rows) < CHUNK:
            return
        last = rows[-1]
        after = tuple(last[place] for _, place in ordering)


def _beyond(keys: tuple[Any, ...], values: tuple[Any, ...], ascending: bool) -> ColumnElement[bool]:
    """Rows after `values` in the order of `keys` (a row-value comparison written out, as SQLite and PostgreSQL
    both plan it from the index)."""
    first, *rest = keys
    past = first > values[0] if ascending else first < values[0]
    if not rest:
        return past
    return or_(past, and_(first == values[0], _beyond(tuple(rest), values[1:], ascending)))


def _clinicians(db: Session, person_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for person_id, name in db.execute(
            select(Assignment.person_id, User.display_name).join(User, User.id == Assignment.clinician_id)
            .where(Assignment.person_id.in_(person_ids), Assignment.ended_at.is_(None))
            .order_by(User.display_name)):
        found.setdefault(person_id, []).append(name)
    return found


def rows(db: Session, user: User, query: service.PeopleQuery, *, today: date, settings: Settings,
         alert_condition: Callable[[Any], ColumnElement[bool]] | None = None) -> Iterator[list[Any]]:
    """The export's rows (values, not yet cells), in HEADER's order."""
    countries = dict(nationality_choices())
    cutoffs = alerts.Cutoffs.for_day(today, settings)
    for chunk in _chunks(db, user, query, alert_condition):
        ids = [row[0] for row in chunk]
        clinicians = _clinicians(db, ids)
        firing = alert_state.firing(db, cutoffs, ids, [(row[0], row[8], row[9]) for row in chunk])
        for (person_id, reference, given, family, status, nationality, since, facility, *_rest) in chunk:
            days = clock.days_between_inclusive(since, today) if since is not None and since <= today else None
            band = clock.band_on(since, today).label if days is not None else ""
            yield [reference, family, given, PersonStatus(status).value.capitalize(),
                   countries.get(nationality, nationality or ""), facility or "", since, days, band,
                   ", ".join(clinicians.get(person_id, [])),
                   "; ".join(rule.heading(settings) for rule in alert_rules.ordered(firing.get(person_id, [])))]


# --- the files -----------------------------------------------------------------------------------

def _csv_value(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)  # a number stays a number: only text could be read as a formula
    return csv_cell(value)


def write_csv(values: Iterator[list[Any]], out: IO[bytes]) -> int:
    """CSV with a byte-order mark (so that spreadsheets read the names as UTF-8); every text cell through
    csv_cell, so none can start a formula."""
    out.write("\ufeff".encode())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    count = 0
    for row in values:
        writer.writerow([_csv_value(v) for v in row])
        count += 1
        if count % CHUNK == 0:
            out.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode())
    return count


def write_xlsx(values: Iterator[list[Any]], out: IO[bytes]) -> int:
    """XLSX written row by row (openpyxl's write-only mode keeps no sheet in memory). Text is stored as text:
    a cell whose value starts with "=" is a formula only when its type says so, and here it never does."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Caseload")
    sheet.append(list(HEADER))
    count = 0
    for row in values:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
        count += 1
    book.save(out)
    return count


def _xlsx_cell(sheet: Any, value: object) -> Any:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    cell = WriteOnlyCell(sheet, value=_NOT_XML.sub("", str(value)))
    cell.data_type = "s"  # openpyxl reads a leading "=" as a formula unless told the cell is a string
    return cell


def build(db: Session, user: User, query: service.PeopleQuery, chosen: str, *, today: date, settings: Settings,
          alert_condition: Callable[[Any], ColumnElement[bool]] | None = None) -> Made:
    """The export in the chosen format ("csv" or "xlsx"). Its file name carries the date only, never a person."""
    out: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115  (closed by Made.chunks)
    values = rows(db, user, query, today=today, settings=settings, alert_condition=alert_condition)
    try:
        count = write_csv(values, out) if chosen == "csv" else write_xlsx(values, out)
    except BaseException:
        out.close()
        raise
    return Made(content=out, rows=count, filename=f"caseload-{today.isoformat()}.{chosen}",
                media_type=FORMATS[chosen])
