"""The person-page sections run a fixed number of queries, however much evidence a person has."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, select

from app.auth.models import Role, User
from app.evidence import service
from app.evidence.models import Document, EvidenceItem, EvidenceKind, Finding, Rule35Limb, Rule35Record
from app.people.models import Person


@contextmanager
def counted(engine):  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def fill(db, person: Person, user: User, how_many: int, today) -> None:  # type: ignore[no-untyped-def]
    for n in range(how_many):
        item = EvidenceItem(person_id=person.id, kind=EvidenceKind.photographs, created_by_id=user.id,
                            issued_date=today - timedelta(days=n))
        db.add(item)
        db.flush()
        db.add(Finding(evidence_item_id=item.id, body_region="chest", description=f"Scar {n}"))
        db.add(Document(person_id=person.id, evidence_item_id=item.id, original_filename=f"{n}.pdf",
                        content_type="application/pdf", size_bytes=3, sha256="0" * 64, content=b"%PD",
                        uploaded_by_id=user.id))
        db.add(Rule35Record(person_id=person.id, limb=Rule35Limb.torture, written_date=today, created_by_id=user.id))
    db.commit()


def test_section_builders_run_the_same_number_of_queries_for_one_item_or_many(db, make_user, make_person, today,
                                                                             reader_engine):
    user = make_user(Role.clinician)
    small, large = make_person("Small", "Record"), make_person("Large", "Record")
    db.rollback()
    fill(db, db.get(Person, small.id), db.get(User, user.id), 1, today)
    fill(db, db.get(Person, large.id), db.get(User, user.id), 6, today)
    counts = []
    for person_id, expected in ((small.id, 1), (large.id, 6)):
        db.rollback()
        person, viewer = db.get(Person, person_id), db.get(User, user.id)
        with counted(reader_engine) as statements:
            evidence = service.evidence_section(db, viewer, person)
            rule35 = service.rule35_section(db, viewer, person)
        assert len(evidence["items"]) == len(rule35["records"]) == expected
        assert evidence["total_findings"] == expected
        assert all(row.documents == 1 and row.findings == 1 for row in evidence["items"])
        counts.append(len(statements))
    assert counts[0] == counts[1] == 2
    db.rollback()
    assert db.scalar(select(Document.id).limit(1)) is not None
