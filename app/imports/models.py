"""ImportRun (one uploaded spreadsheet, from upload to import or undo), ImportMapping (a saved column mapping)
and ImportRecord (every record an import made, so that undo removes exactly those)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Versioned, str_enum, utcnow


class RunStatus(enum.StrEnum):
    uploaded = "uploaded"  # read, not yet mapped
    checked = "checked"  # mapped; the dry run can be shown
    completed = "completed"
    undone = "undone"


class ImportMapping(Base):
    """Which field each column heading goes to, saved under a name to reuse with the next file of that shape.
    Headings only: no cell value is ever kept here."""

    __tablename__ = "import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # JSON: {"column heading as written, lower case": "field name"}
    columns: Mapped[str] = mapped_column(Text)
    made_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    made_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportRun(Versioned, Base):
    """One uploaded file. The file itself is never kept: only its SHA-256 and its parsed rows, sealed with a key
    of the run's own, and those are dropped (key and all) once the run is completed or undone."""

    __tablename__ = "import_runs"
    __table_args__ = (Index("ix_import_runs_uploaded_at", "uploaded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_kind: Mapped[str] = mapped_column(String(4))  # "csv" or "xlsx"
    row_count: Mapped[int]
    column_count: Mapped[int]
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, "import_run_status"))
    # JSON list: the field each column goes to ("" for a column left out). Field names only.
    mapping: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int | None]
    duplicate_count: Mapped[int | None]
    created_people: Mapped[int | None]
    # JSON: how many records of each table the import made (counts only), kept after an undo.
    records_made: Mapped[str | None] = mapped_column(Text)
    # The headings and rows as read, sealed (JSON) with the run's own data key; NULL once done or undone.
    rows_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The latest dry run's messages (they quote cells), sealed with the same key, so its page need not read
    # every row again; NULL with the rows.
    report_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    master_key_id: Mapped[str | None] = mapped_column(String(40))
    # The newest change-history entry when the import finished: any later one about an imported person means a
    # user has changed or added to their record since, and undo is refused.
    last_revision_id: Mapped[int | None]
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class ImportRecord(Base):
    """A record an import made: its table and id, and the person it belongs to. Erasing that person removes
    these entries with the rest of the record."""

    __tablename__ = "import_records"
    __table_args__ = (Index("ix_import_records_run_id", "run_id"),
                      Index("ix_import_records_person_id", "person_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("import_runs.id", ondelete="CASCADE"))
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # The person's version when the import finished (people rows only): a later edit moves it on.
    version: Mapped[int | None]
