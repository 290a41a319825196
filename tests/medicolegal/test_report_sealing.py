"""Every sealed column of the medico-legal report tables is sealed at rest: a marker written to each through the
models opens through the application and is nowhere in the database file."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.contacts.models import LegalRepresentative
from app.crypto.fields import sealed_fields
from app.medicolegal.models import (
    SECTIONS,
    MedicoLegalReport,
    MedicoLegalReportVersion,
    MedicoLegalReviewComment,
)
from tests.crypto.test_encryption_at_rest import MARKER, _database_bytes, _forms


def test_no_report_text_reaches_the_database_in_the_clear(db, engine, make_person, make_user, today):
    author = make_user(Role.clinician)
    person = make_person("Sealeda", "Fictiva", assigned_to=author)
    db.rollback()
    rep = LegalRepresentative(firm="Sealed Law (fictional)")
    db.add(rep)
    db.flush()
    report = MedicoLegalReport(person_id=person.id, author_id=author.id, legal_representative_id=rep.id,
                               questions=MARKER, received_date=today, due_date=today + timedelta(days=21),
                               outcome=MARKER, created_by_id=author.id, **{name: MARKER for name in SECTIONS})
    db.add(report)
    db.flush()
    db.add_all([
        MedicoLegalReportVersion(report_id=report.id, number=1, reason="saved", saved_by_id=author.id,
                                 sections={"allegations": MARKER}),
        MedicoLegalReviewComment(report_id=report.id, section="allegations", round=1, reviewer_id=author.id,
                                 text=MARKER),
    ])
    db.commit()
    # Every sealed field of these tables was written: a new one must be added above.
    assert {f.name for f in sealed_fields(MedicoLegalReport)} == {"questions", "outcome", *SECTIONS}
    assert {f.name for f in sealed_fields(MedicoLegalReportVersion)} == {"sections"}
    assert {f.name for f in sealed_fields(MedicoLegalReviewComment)} == {"text"}
    with Session(engine) as fresh:
        stored = fresh.scalars(select(MedicoLegalReport)).one()
        assert stored.questions == MARKER and stored.interpretation == MARKER and stored.outcome == MARKER
        assert fresh.scalars(select(MedicoLegalReportVersion)).one().sections == {"allegations": MARKER}
        assert fresh.scalars(select(MedicoLegalReviewComment)).one().text == MARKER
    dump = _database_bytes(engine)
    assert b"Sealed Law (fictional)" in dump  # the scan finds what is stored plain
    for form in _forms(MARKER):
        assert form not in dump, form
