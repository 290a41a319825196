"""The demo data's medico-legal reports: some at every stage, for cases with consent to a report, clinician@ the
author of some, signed ones sealed intact, and the overdue ones raising report_overdue."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.alerts import service as alerts
from app.auth.models import User
from app.config import get_settings
from app.consent.models import ConsentPurpose
from app.consent.service import has_current_consent, people_consenting
from app.demo.generator import seed_demo
from app.medicolegal import seal
from app.medicolegal.models import MedicoLegalReport, MedicoLegalReportVersion, ReportState
from app.people.models import Assignment
from tests.test_demo_generator import PASSWORD, TODAY, migrated_engine


def test_the_demo_has_reports_at_every_stage(tmp_path: Path) -> None:
    engine = migrated_engine(tmp_path / "demo.sqlite3")
    try:
        seed_demo(engine, people=200, password=PASSWORD, today=TODAY)
        with Session(engine) as session:
            reports = list(session.scalars(select(MedicoLegalReport).order_by(MedicoLegalReport.id)))
            assert len(reports) >= 7
            states = {r.state for r in reports}
            assert states == set(ReportState)
            assert any(r.state is ReportState.in_review and r.approved_at is not None for r in reports)
            # clinician@'s cases come first: when any of them consents to a report, the first report is theirs.
            clinician = session.scalar(select(User.id).where(User.email == "clinician@example.org"))
            theirs = session.scalar(select(Assignment.person_id).where(
                Assignment.clinician_id == clinician, Assignment.ended_at.is_(None),
                Assignment.person_id.in_(people_consenting(ConsentPurpose.medico_legal_report, TODAY))).limit(1))
            assert (reports[0].author_id == clinician) is (theirs is not None)
            for report in reports:
                assert has_current_consent(session, report.person_id, ConsentPurpose.medico_legal_report, on=TODAY)
                if report.state in (ReportState.signed, ReportState.served):
                    assert seal.check(report).state is seal.SealState.intact
                if report.state is not ReportState.instructed:
                    assert report.physical_findings and report.case_details
            assert session.scalars(select(MedicoLegalReportVersion)).first() is not None
            overdue = [r for r in reports if r.state in service_unsigned() and r.due_date < TODAY]
            assert overdue
            cutoffs = alerts.Cutoffs.for_day(TODAY, get_settings(), now=datetime.now(UTC))
            fired = alerts.firing(session, cutoffs, [overdue[0].person_id])[overdue[0].person_id]
            assert "report_overdue" in {rule.id for rule in fired}
    finally:
        engine.dispose()


def service_unsigned() -> tuple[ReportState, ...]:
    return (ReportState.instructed, ReportState.drafting, ReportState.in_review)
