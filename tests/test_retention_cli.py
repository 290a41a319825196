"""`casework retention`: which closed cases are due, the dry run that changes nothing, and the erasing run."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.casefile.erasure import retention_cutoff
from app.cli import cli
from app.config import get_settings
from app.people.models import LegalHold, Person
from tests.erasure_fixtures import rows_of, table_totals

runner = CliRunner()


def _close(db, person: Person, closed: date) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    db.rollback()
    row = db.get(Person, person.id)
    assert row is not None
    row.opened_date = date(closed.year - 1, 1, 1)
    row.closed_date = closed
    db.commit()
    return row.id, row.reference


@pytest.fixture
def cases(db, make_person, full_record, today):  # type: ignore[no-untyped-def]  # noqa: F811
    """Fictional cases around the default six-year cut-off."""
    cutoff = retention_cutoff(today, 6)
    made = {
        "long_closed": _close(db, full_record("Oldcase", "Fictivo")[0], date(cutoff.year - 2, 5, 17)),
        "closed_on_cutoff": _close(db, make_person("Edge", "Fictivo"), cutoff),
        "closed_recently": _close(db, make_person("Recent", "Fictivo"), date(cutoff.year + 1, cutoff.month, 1)),
        "held": _close(db, make_person("Heldcase", "Fictivo"), date(cutoff.year - 3, 1, 2)),
        "open": (make_person("Opencase", "Fictivo").id, None),
    }
    db.rollback()
    db.add(LegalHold(person_id=made["held"][0], reason="Civil claim pending", set_by_id=_any_user(db)))
    db.commit()
    return made


def _any_user(db) -> int:  # type: ignore[no-untyped-def]
    from app.auth.models import User

    user_id = db.scalar(select(User.id))
    assert user_id is not None
    return user_id


def _exists(db, person_id: int) -> bool:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.get(Person, person_id) is not None


def test_dry_run_lists_exactly_the_due_cases_without_names_and_changes_nothing(db, cases):
    totals = table_totals(db)
    result = runner.invoke(cli, ["retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    for due in ("long_closed", "closed_on_cutoff"):
        assert cases[due][1] in result.output
    for kept in ("closed_recently", "held"):
        assert cases[kept][1] not in result.output
    assert "2 case(s) would be erased" in result.output
    assert "1 case(s) past the period are kept under a legal hold" in result.output
    assert "Nothing was changed" in result.output
    for name in ("Oldcase", "OLDCASE", "Fictivo", "Edge", "Civil claim"):
        assert name not in result.output
    db.rollback()
    assert table_totals(db) == totals


def test_apply_erases_exactly_the_due_cases_and_audits_each(db, cases):
    due_ids = {cases["long_closed"][0], cases["closed_on_cutoff"][0]}
    result = runner.invoke(cli, ["retention", "--apply"])
    assert result.exit_code == 0, result.output
    assert "Erased 2 case(s)" in result.output
    for person_id in due_ids:
        assert not _exists(db, person_id)
        assert set(rows_of(db, person_id).values()) == {0}
    for kept in ("closed_recently", "held", "open"):
        assert _exists(db, cases[kept][0]), kept
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "person.erased")))
    assert {e.person_id for e in events} == due_ids
    assert all(e.details["reason"] == "retention" and e.actor_user_id is None for e in events)
    again = runner.invoke(cli, ["retention", "--apply"])
    assert again.exit_code == 0 and "Nothing is due for erasure." in again.output


def test_lifting_the_hold_makes_a_held_case_due(db, cases):
    db.rollback()
    hold = db.scalars(select(LegalHold).where(LegalHold.lifted_at.is_(None))).one()
    hold.lifted_at = hold.set_at
    hold.lifted_by_id = hold.set_by_id
    db.commit()
    result = runner.invoke(cli, ["retention", "--dry-run"])
    assert result.exit_code == 0 and cases["held"][1] in result.output


def test_the_period_is_a_setting(db, cases, monkeypatch):
    monkeypatch.setattr(get_settings(), "retention_years", 1)
    result = runner.invoke(cli, ["retention", "--dry-run"])
    assert result.exit_code == 0
    assert cases["closed_recently"][1] in result.output and "3 case(s) would be erased" in result.output


def test_the_setting_must_be_at_least_one_year():
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValidationError):
        Settings(retention_years=0)
    assert Settings().retention_years == 6


def test_nothing_due_says_so(db, make_person):  # noqa: F811
    make_person("Opencase", "Fictivo")
    for flag in ("--dry-run", "--apply"):
        result = runner.invoke(cli, ["retention", flag])
        assert result.exit_code == 0, result.output
        assert "Nothing is due for erasure." in result.output
    assert _exists(db, db.scalar(select(Person.id)))


def test_exactly_one_mode_must_be_chosen(db, cases):
    for args in ([], ["--dry-run", "--apply"]):
        result = runner.invoke(cli, ["retention", *args])
        assert result.exit_code == 2
        assert "Choose one of --dry-run" in result.output
    assert _exists(db, cases["long_closed"][0])


def test_the_cutoff_counts_whole_years_and_leap_days():
    assert retention_cutoff(date(2032, 3, 1), 6) == date(2026, 3, 1)
    assert retention_cutoff(date(2028, 2, 29), 6) == date(2022, 2, 28)


def test_a_case_held_or_reopened_after_it_was_listed_is_kept(db, cases, monkeypatch):
    from app.casefile import erasure

    listed = erasure.due_for_retention
    late = [erasure.DueCase(cases[name][0], cases[name][1], date(2000, 1, 1)) for name in ("held", "closed_recently")]
    # As if the hold was set, and the other case reopened, between the listing and the erasing.
    monkeypatch.setattr(erasure, "due_for_retention", lambda db, cutoff: listed(db, cutoff) + late)
    result = runner.invoke(cli, ["retention", "--apply"])
    assert result.exit_code == 0, result.output
    assert "Erased 2 case(s)" in result.output
    assert f"Kept {cases['held'][1]}: This record is under a legal hold" in result.output
    assert f"Kept {cases['closed_recently'][1]}: The case was reopened" in result.output
    assert _exists(db, cases["held"][0]) and _exists(db, cases["closed_recently"][0])
    refusals = db.scalars(select(AuditEvent).where(AuditEvent.action == "person.erasure_refused")).all()
    assert sorted(e.details["reason"] for e in refusals) == ["legal_hold", "no_longer_due"]
