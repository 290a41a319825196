"""Import runs: keeping an uploaded sheet sealed until it is imported, saved mappings, the dry run (every row's
errors and likely duplicates), the all-or-nothing import through the domains' own services, and its undo."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased, defer

from app.audit.models import Revision
from app.auth.models import User
from app.casefile import erasure
from app.config import get_settings
from app.consent import service as consents
from app.consent.models import ConsentPurpose
from app.consent.schemas import ConsentForm
from app.crypto.keyring import index_key, master_keyring
from app.crypto.primitives import new_key, open_sealed, seal
from app.db import utcnow
from app.detention import service as detention
from app.detention.models import Facility
from app.detention.schemas import EpisodeStartForm
from app.errors import FORM_ERROR, RuleBroken, StaleForm
from app.imports.models import ImportMapping, ImportRecord, ImportRun, RunStatus
from app.imports.reader import Sheet
from app.imports.rows import FIELD_LABELS, FIELDS, NAME_FIELDS, Row, read_row
from app.people import names
from app.people import service as people
from app.people.models import Person, PersonStatus
from app.people.schemas import PersonForm
from app.referrals import service as referrals
from app.referrals.models import Organisation
from app.referrals.schemas import ReferralForm
from app.work import notes
from app.work.models import NoteKind, NoteWith
from app.work.schemas import NoteForm

ROWS_LABEL = "import_runs.rows"  # associated data of the sealed rows and of their wrapped key
REPORT_LABEL = "import_runs.report"
# A file uploaded and left unimported has its rows dropped after this long.
KEEP_UNIMPORTED = timedelta(days=7)
SHOWN_MESSAGES = 500  # the dry run lists this many errors; the count says how many more
VISIT_NOTE_PREFIX = "Visit before this record was kept here (imported from a spreadsheet): "
REFERRAL_REASON = "Referral recorded before this record was kept here (imported from a spreadsheet)."
PROGRESS_EVERY = 20  # rows between two writes of a running import's progress


# --- the sealed sheet ----------------------------------------------------------------------------------

def create_run(db: Session, actor: User, sheet: Sheet, sha256: str) -> ImportRun:
    """A run for a sheet just read. Its headings and cells are sealed with a key of the run's own, wrapped by
    the master key: dropping the key when the run ends leaves nothing of the file readable."""
    forget_abandoned(db)
    key = new_key()
    wrapped, key_id = master_keyring().wrap(key, ROWS_LABEL)
    payload = json.dumps({"headings": sheet.headings, "rows": sheet.rows}, ensure_ascii=False).encode()
    run = ImportRun(file_sha256=sha256, file_kind=sheet.kind, row_count=len(sheet.rows),
                    column_count=len(sheet.headings), status=RunStatus.uploaded, uploaded_by_id=actor.id,
                    rows_sealed=seal(key, payload, ROWS_LABEL), wrapped_key=wrapped, master_key_id=key_id)
    db.add(run)
    db.flush()
    return run


def _run_key(run: ImportRun) -> bytes:
    if run.rows_sealed is None or run.wrapped_key is None or run.master_key_id is None:
        raise StaleForm("This import has finished, and the file's rows are no longer kept. Upload the file again "
                        "to import it.")
    return master_keyring().unwrap(run.wrapped_key, run.master_key_id, ROWS_LABEL)


def forget_abandoned(db: Session) -> int:
    """Drop the sealed rows (and their key) of runs uploaded but never imported within KEEP_UNIMPORTED: a file
    someone gave up on is not kept for ever. Returns how many."""
    result = db.execute(
        update(ImportRun)
        .where(ImportRun.status.in_((RunStatus.uploaded, RunStatus.checked)), ImportRun.wrapped_key.is_not(None),
               ImportRun.uploaded_at < utcnow() - KEEP_UNIMPORTED)
        .values(rows_sealed=None, report_sealed=None, wrapped_key=None, master_key_id=None,
                version=ImportRun.version + 1)
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def rows_kept(run: ImportRun) -> bool:
    return run.wrapped_key is not None


def sheet_of(run: ImportRun) -> Sheet:
    data = json.loads(open_sealed(_run_key(run), run.rows_sealed or b"", ROWS_LABEL))
    return Sheet(run.file_kind, data["headings"], data["rows"])


def _drop_rows(run: ImportRun) -> None:
    run.rows_sealed = run.report_sealed = run.wrapped_key = run.master_key_id = None


@dataclass(frozen=True)
class Report:
    """What the dry run page shows: each row's errors and each likely duplicate, in plain sentences."""

    rows: int
    messages: list[str]
    duplicates: list[str]


def _store_report(run: ImportRun, report: Report) -> None:
    payload = json.dumps({"rows": report.rows, "messages": report.messages, "duplicates": report.duplicates},
                         ensure_ascii=False).encode()
    run.report_sealed = seal(_run_key(run), payload, REPORT_LABEL)
    run.error_count, run.duplicate_count = len(report.messages), len(report.duplicates)


def report_of(run: ImportRun) -> Report | None:
    if run.report_sealed is None:
        return None
    data = json.loads(open_sealed(_run_key(run), run.report_sealed, REPORT_LABEL))
    return Report(data["rows"], data["messages"], data["duplicates"])


def record_failure(run: ImportRun, messages: list[str]) -> None:
    """The import found errors after all (the registers changed since the dry run): they become the dry run's."""
    previous = report_of(run)
    _store_report(run, Report(run.row_count, messages, previous.duplicates if previous else []))


def get_run(db: Session, run_id: int, *, for_update: bool = False) -> ImportRun | None:
    query = select(ImportRun).where(ImportRun.id == run_id)
    if for_update:
        query = query.with_for_update()
    return db.scalar(query)


@dataclass(frozen=True)
class RunRow:
    run: ImportRun
    uploaded_by: str
    undone_by: str | None


def history(db: Session, limit: int = 100) -> list[RunRow]:
    """The latest runs, newest first, with who uploaded and who undid them, in one statement."""
    uploader, undoer = aliased(User), aliased(User)
    return [RunRow(*row) for row in db.execute(
        select(ImportRun, uploader.display_name, undoer.display_name)
        # The sealed rows of an unimported file run to megabytes: the list never reads them.
        .options(defer(ImportRun.rows_sealed, raiseload=True), defer(ImportRun.report_sealed, raiseload=True))
        .join(uploader, uploader.id == ImportRun.uploaded_by_id)
        .outerjoin(undoer, undoer.id == ImportRun.undone_by_id)
        .order_by(ImportRun.uploaded_at.desc(), ImportRun.id.desc()).limit(limit))]


# --- mappings ------------------------------------------------------------------------------------------

def saved_mappings(db: Session) -> list[ImportMapping]:
    return list(db.scalars(select(ImportMapping).order_by(ImportMapping.name)))


def mapping_for(saved: ImportMapping, headings: list[str]) -> list[str]:
    columns: dict[str, str] = json.loads(saved.columns)
    return [columns.get(heading.lower(), "") for heading in headings]


def run_mapping(run: ImportRun) -> list[str] | None:
    return json.loads(run.mapping) if run.mapping else None


def check_mapping(headings: list[str], chosen: list[str]) -> None:
    """RuleBroken, beside each column, for a field chosen twice or not a field; a mapping needs a name."""
    errors: dict[str, str] = {}
    first: dict[str, int] = {}
    for index, name in enumerate(chosen):
        if not name:
            continue
        if name not in FIELDS:
            errors[f"col_{index}"] = "Choose the field from the list."
        elif name in first:
            errors[f"col_{index}"] = (f"{FIELD_LABELS[name]} is already the field of the column "
                                      f"\u201c{headings[first[name]]}\u201d: choose another, or leave this "
                                      "column out.")
        else:
            first[name] = index
    if not errors and not set(NAME_FIELDS) & set(first):
        errors[FORM_ERROR] = "Choose the column that holds the given names or the family name (or both)."
    if errors:
        raise RuleBroken(errors)


def save_mapping(db: Session, actor: User, name: str, headings: list[str], chosen: list[str]) -> ImportMapping:
    """Save (or replace) a named mapping: headings and field names only."""
    columns = {heading.lower(): field_name for heading, field_name in zip(headings, chosen, strict=True)
               if field_name}
    saved = db.scalar(select(ImportMapping).where(func.lower(ImportMapping.name) == name.lower()))
    if saved is None:
        saved = ImportMapping(name=name, columns=json.dumps(columns), made_by_id=actor.id)
        db.add(saved)
    else:
        saved.columns, saved.made_by_id, saved.made_at = json.dumps(columns), actor.id, utcnow()
    db.flush()
    return saved


def set_mapping(run: ImportRun, chosen: list[str], result: DryRun) -> None:
    if run.status not in (RunStatus.uploaded, RunStatus.checked):
        raise StaleForm("This import has already been run. Nothing was changed.")
    run.mapping = json.dumps(chosen)
    run.status = RunStatus.checked
    _store_report(run, Report(len(result.rows), result.messages, [d.message for d in result.duplicates]))


# --- the dry run ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Duplicate:
    row: int
    message: str


@dataclass
class DryRun:
    rows: list[Row]
    messages: list[str] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(len(row.errors) for row in self.rows)


def _by_name(db: Session, model: type[Facility] | type[Organisation]) -> dict[str, Any]:
    records: list[Facility | Organisation] = list(db.scalars(select(model)))
    return {record.name.strip().lower(): record for record in records}


def _person_keys(row: Row) -> list[str]:
    """What makes two rows name the same person: the same Home Office reference (ignoring spaces, dashes and
    capitals), or the same name parts (in any order) with the same year of birth."""
    keys = []
    if row.home_office_reference:
        keys.append("ho:" + "".join(ch for ch in row.home_office_reference.upper() if ch.isalnum()))
    parts = sorted(names.tokens(f"{row.given_names} {row.family_name}"))
    if parts:
        keys.append(f"n:{' '.join(parts)}:{row.birth_year_known}")
    return keys


def dry_run(db: Session, sheet: Sheet, mapping: list[str], today: date) -> DryRun:
    """Every row read and checked against the register, with the likely duplicates of existing people and of
    earlier rows. Writes nothing."""
    facilities, organisations = _by_name(db, Facility), _by_name(db, Organisation)
    result = DryRun([])
    seen: dict[str, int] = {}
    key = index_key(db)
    for offset, cells in enumerate(sheet.rows):
        row = read_row(offset + 2, cells, mapping, today)
        if row.facility:
            facility = facilities.get(row.facility.lower())
            if facility is None:
                row.error(f"facility {row.facility} is not in the list of facilities: correct the name, or ask "
                          "an administrator to add it under Facilities first")
            elif not facility.is_active:
                row.error(f"facility {row.facility} is closed, and detentions are recorded at open facilities only")
            else:
                row.facility_id = facility.id
        if row.referral_organisation:
            organisation = organisations.get(row.referral_organisation.lower())
            if organisation is None or not organisation.is_active:
                row.error(f"organisation {row.referral_organisation} is not an active organisation in the register")
            else:
                row.referral_organisation_id = organisation.id
        result.rows.append(row)
        keys = _person_keys(row)
        earlier = next((seen[k] for k in keys if k in seen), None)
        if earlier is not None:
            result.duplicates.append(Duplicate(row.number, (
                f"Row {row.number} may be the same person as row {earlier} of this file "
                "(the same Home Office reference, or the same names and year of birth).")))
        for k in keys:
            seen.setdefault(k, row.number)
        if row.errors:
            continue
        found = people.find_duplicates(db, given_names=row.given_names, family_name=row.family_name, aliases=[],
                                       birth_year=row.birth_year_known, nationality=row.nationality, limit=3)
        digest = names.reference_digest(key, row.home_office_reference)
        if digest is not None:
            found = people.by_home_office_digest(db, digest, limit=3) + found
        references = list(dict.fromkeys(candidate.reference for candidate in found))
        if references:
            result.duplicates.append(Duplicate(row.number, (
                f"Row {row.number} may be a person already recorded: {', '.join(references)} (similar names with "
                "the same year of birth or nationality, or the same Home Office reference). Check before "
                "importing.")))
    result.messages = [message for row in result.rows for message in row.errors]
    return result


# --- the import ----------------------------------------------------------------------------------------

class ImportFailed(Exception):
    """A row the domain services refused while importing: the whole import is rolled back."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Imported:
    people: int
    records: dict[str, int]


def _person_form(row: Row) -> PersonForm:
    # The record holds a name in two parts; a person known by one name has it as the family name only.
    given, family = row.given_names, row.family_name or row.given_names
    if not row.family_name:
        given = ""
    form = PersonForm(given_names=given or family, family_name=family, sex=row.sex, nationality=row.nationality,
                      languages=row.languages, home_office_reference=row.home_office_reference,
                      status=PersonStatus.unknown, birth_precision=row.birth_precision, birth_date=row.birth_date,
                      birth_year=row.birth_year_known if row.birth_date is None else None, confirm_new=True)
    return form if given else form.model_copy(update={"given_names": ""})


def _earliest(row: Row, today: date) -> date:
    return min(d for d in (today, row.detention_start, row.visit_date, row.consent_date) if d is not None)


def _import_row(db: Session, actor: User, run: ImportRun, row: Row, today: date) -> dict[str, int]:
    person = people.create_person(db, actor, _person_form(row), today)
    # The case was opened when the organisation first recorded it, which the spreadsheet says, not today.
    person.opened_date = _earliest(row, today)
    db.flush()
    made: list[tuple[str, int]] = [("people", person.id)]
    if row.detention_start is not None and row.facility_id is not None:
        episode = detention.start_episode(db, actor.id, person, EpisodeStartForm(
            facility_id=row.facility_id, start_date=row.detention_start, end_date=row.detention_end,
            end_reason=row.end_reason, version=person.version), today)
        made.append(("detention_episodes", episode.id))
    if row.visit_date is not None and row.visit_note:
        zone = get_settings().zone
        happened = datetime.combine(row.visit_date, time(12), zone).astimezone(UTC)
        note = notes.record(db, actor, person, NoteForm(
            note_kind=NoteKind.meeting, with_whom=NoteWith.person, happened_at=happened,
            summary=VISIT_NOTE_PREFIX + row.visit_note))
        made.append(("case_notes", note.id))
    if row.consent_purpose is not None and row.consent_date is not None and row.consent_method is not None:
        sharing = row.consent_purpose is ConsentPurpose.share_with_organisation
        consent = consents.record_consent(db, actor.id, person, ConsentForm(
            purpose=row.consent_purpose, organisation_id=row.referral_organisation_id if sharing else None,
            given_date=row.consent_date, method=row.consent_method, version=person.version), today=today)
        made.append(("consents", consent.id))
    if row.referral_organisation_id is not None:
        referral = referrals.create_referral(db, actor.id, person, ReferralForm(
            organisation_id=row.referral_organisation_id, reason=row.referral_reason or REFERRAL_REASON,
            version=person.version), today=today)
        made.append(("referrals", referral.id))
    db.flush()
    for table, record_id in made:
        db.add(ImportRecord(run_id=run.id, table_name=table, record_id=record_id, person_id=person.id,
                            version=person.version if table == "people" else None))
    counts: dict[str, int] = {}
    for table, _ in made:
        counts[table] = counts.get(table, 0) + 1
    return counts


def _broken(invalid: ValidationError) -> RuleBroken:
    """A form the import built that its schema refused, as the rule it broke."""
    messages: dict[str, str] = {}
    for error in invalid.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, RuleBroken):
            messages.update(cause.errors)
        else:
            messages[".".join(str(part) for part in error.get("loc") or ()) or FORM_ERROR] = error["msg"]
    return RuleBroken(messages)


def _row_message(row: Row, broken: RuleBroken) -> list[str]:
    return [f"Row {row.number}: {message[:1].lower() + message[1:]}" for message in broken.errors.values()]


def check_startable(run: ImportRun, version: int | None) -> None:
    """StaleForm unless this run, as the page showed it, can be imported now."""
    if run.status is not RunStatus.checked:
        raise StaleForm("This import has already been run or undone. Nothing was changed.")
    if version != run.version:
        raise StaleForm("The columns were mapped again since this page was loaded. Check the dry run again.")


def run_import(db: Session, actor: User, run: ImportRun, version: int | None, today: date, *,
               on_row: Callable[[int], None] | None = None) -> Imported:
    """Import every row, or none: ImportFailed with the rows' messages (and nothing written) if the dry run finds
    an error now or a service refuses a row. The parsed rows are dropped afterwards. `on_row(rows done)` is
    called every few rows."""
    check_startable(run, version)
    mapping = run_mapping(run) or []
    result = dry_run(db, sheet_of(run), mapping, today)
    if result.messages:
        raise ImportFailed(result.messages)
    totals: dict[str, int] = {}
    problems: list[str] = []
    # The rows go in under a savepoint: a row a service refuses takes every row back with it, while the
    # request's own transaction carries on to record that the import failed.
    with db.begin_nested():  # leaving it by ImportFailed rolls the rows back
        for done, row in enumerate(result.rows):
            if on_row is not None and done % PROGRESS_EVERY == 0:
                on_row(done)
            try:
                try:
                    counts = _import_row(db, actor, run, row, today)
                except ValidationError as invalid:
                    raise _broken(invalid) from None
            except RuleBroken as broken:
                problems.extend(_row_message(row, broken))
                if len(problems) >= SHOWN_MESSAGES:
                    break
                continue
            for table, n in counts.items():
                totals[table] = totals.get(table, 0) + n
        if problems:
            raise ImportFailed(problems)
    run.status = RunStatus.completed
    run.completed_at = utcnow()
    run.created_people = totals.get("people", 0)
    run.records_made = json.dumps(totals)
    run.last_revision_id = db.scalar(select(func.max(Revision.id)))
    _drop_rows(run)
    db.flush()
    return Imported(totals.get("people", 0), totals)


# --- undo ----------------------------------------------------------------------------------------------

def records_of(run: ImportRun) -> dict[str, int]:
    """How many records of each kind the import made (kept after an undo removed them)."""
    return json.loads(run.records_made) if run.records_made else {}


def undo_problem(db: Session, run: ImportRun) -> str | None:
    """Why this run cannot be undone now, or None. A person changed since (their version moved on) or with
    anything added to their record (a change-history entry after the import's last) is kept, and so is the
    whole import: undo removes all of an import or nothing."""
    if run.status is not RunStatus.completed:
        return "Only a completed import can be undone."
    people_rows = select(ImportRecord.person_id).where(ImportRecord.run_id == run.id,
                                                       ImportRecord.table_name == "people")
    changed = db.scalar(select(func.count()).select_from(ImportRecord).join(Person, Person.id == ImportRecord.person_id)
                        .where(ImportRecord.run_id == run.id, ImportRecord.table_name == "people",
                               Person.version != ImportRecord.version))
    added = db.scalar(select(func.count()).select_from(Revision)
                      .where(Revision.person_id.in_(people_rows), Revision.id > (run.last_revision_id or 0)))
    if changed or added:
        return ("People from this import have been changed or added to since it was imported, so it cannot be "
                "undone: undoing it would lose that work. Correct the records one by one instead.")
    return None


def undo(db: Session, actor: User, run: ImportRun, version: int | None, *, ip_address: str | None,
         correlation_id: str | None) -> int:
    """Remove every person the import made, with everything it recorded about them; returns how many. The
    erasure service removes each record whole (and keeps its reference from being given out again)."""
    if version != run.version:
        raise StaleForm("This import changed since the page was loaded. Look at it again before undoing it.")
    problem = undo_problem(db, run)
    if problem is not None:
        raise RuleBroken.on(FORM_ERROR, problem)
    person_ids = list(db.scalars(select(ImportRecord.person_id).where(ImportRecord.run_id == run.id,
                                                                      ImportRecord.table_name == "people")))
    removed = 0
    for person_id in person_ids:
        person = db.get(Person, person_id)
        if person is None:
            continue  # erased since, on its own
        try:
            erasure.erase(db, person, erasure.ErasureReason.created_in_error, actor_id=actor.id,
                          ip_address=ip_address, correlation_id=correlation_id)
        except erasure.ErasureRefused as refused:
            raise RuleBroken.on(FORM_ERROR, f"{person.reference}: {refused.message} Nothing was undone.") from None
        removed += 1
    run.status = RunStatus.undone
    run.undone_at = utcnow()
    run.undone_by_id = actor.id
    db.flush()
    return removed

