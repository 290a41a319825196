"""The report_overdue alert: it fires once an unsigned report passes its due date, and stops when it is signed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.alerts import service as alerts
from app.alerts import state, triggers
from app.auth.models import Role, User
from app.config import get_settings
from app.contacts.models import LegalRepresentative
from app.medicolegal.models import MedicoLegalReport, ReportState


def _fired(db, person, today) -> set[str]:  # type: ignore[no-untyped-def]
    db.rollback()
    cutoffs = alerts.Cutoffs.for_day(today, get_settings(), now=datetime.now(UTC))
    return {rule.id for rule in alerts.firing(db, cutoffs, [person.id])[person.id]}


def test_report_overdue_fires_after_the_due_date_and_stops_when_signed(db, make_person, make_user, today):
    author = make_user(Role.clinician)
    reviewer = make_user(Role.coordinator)
    person = make_person("Duea", "Fictiva", assigned_to=author)
    db.rollback()
    actor = db.scalars(select(User.id).where(User.role == Role.admin)).first()
    rep = LegalRepresentative(firm="Overdue Law (fictional)")
    db.add(rep)
    db.flush()
    report = MedicoLegalReport(person_id=person.id, author_id=author.id, legal_representative_id=rep.id,
                               questions="Q", received_date=today - timedelta(days=30), due_date=today,
                               state=ReportState.drafting, created_by_id=actor)
    db.add(report)
    db.commit()
    assert "report_overdue" not in _fired(db, person, today)  # due today: not yet overdue
    assert "report_overdue" in _fired(db, person, today + timedelta(days=1))
    # The kept flags agree with the rule, and the person page's trigger names the report and links to it.
    assert state.BIT["report_overdue"]
    cutoffs = alerts.Cutoffs.for_day(today + timedelta(days=1), get_settings(), now=datetime.now(UTC))
    [fired] = [a for a in triggers.for_person(db, person, [alerts.RULES["report_overdue"]], cutoffs, get_settings(),
                                              episode=None, placements=[])]
    [trigger] = fired.triggers
    assert trigger.href == f"/people/{person.reference}/reports/{report.id}"
    assert "was due on" in trigger.label
    db.rollback()
    now = datetime.now(UTC)
    db.execute(update(MedicoLegalReport).where(MedicoLegalReport.id == report.id).values(
        state=ReportState.signed, reviewer_id=reviewer.id, approved_at=now, signed_at=now, signed_by_id=author.id,
        content_sha256="0" * 64))
    db.commit()
    assert "report_overdue" not in _fired(db, person, today + timedelta(days=1))
