"""The casework command: create-user and migrate."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, text
from typer.testing import CliRunner

from app.alerts.models import PersonAlertState
from app.auth.models import Role, User
from app.auth.passwords import verify_password
from app.cli import cli
from tests.conftest import TEST_MASTER_KEY, is_postgres

runner = CliRunner()


def test_create_user_takes_the_password_from_the_environment(db):
    result = runner.invoke(cli, ["create-user", "--email", "Script@Example.org", "--role", "coordinator"],
                           env={"CASEWORK_NEW_USER_PASSWORD": "a password for scripts"})
    assert result.exit_code == 0, result.output
    db.rollback()
    user = db.scalars(select(User).where(User.email == "script@example.org")).one()
    assert user.role is Role.coordinator and user.display_name == "Script"
    assert verify_password("a password for scripts", user.password_hash)


def test_create_user_refuses_duplicates_weak_passwords_and_unknown_roles(db, make_user):
    make_user(Role.admin, email="exists@example.org")
    env = {"CASEWORK_NEW_USER_PASSWORD": "a password for scripts"}
    duplicate = runner.invoke(cli, ["create-user", "--email", "exists@example.org", "--role", "admin"], env=env)
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    weak = runner.invoke(cli, ["create-user", "--email", "weak@example.org", "--role", "admin"],
                         env={"CASEWORK_NEW_USER_PASSWORD": "short"})
    assert weak.exit_code == 2 and "at least 12 characters" in weak.output
    role = runner.invoke(cli, ["create-user", "--email", "role@example.org", "--role", "boss"], env=env)
    assert role.exit_code == 2 and "Unknown role" in role.output
    db.rollback()
    emails = set(db.scalars(select(User.email)))
    assert emails == {"exists@example.org"}


def test_create_user_without_a_terminal_or_password_explains_what_to_do(db):
    result = runner.invoke(cli, ["create-user", "--email", "x@example.org", "--role", "admin"],
                           env={"CASEWORK_NEW_USER_PASSWORD": None})
    assert result.exit_code == 2
    assert "CASEWORK_NEW_USER_PASSWORD" in result.output


def test_migrate_is_idempotent_on_an_up_to_date_database(engine):
    result = runner.invoke(cli, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_seed_demo_loads_people_and_accounts_once_on_the_test_database(db):
    from app.config import DEMO_PASSWORD
    from app.people.models import Person
    from app.visits.models import Visit

    first = runner.invoke(cli, ["seed-demo", "--people", "30"])
    assert first.exit_code == 0, first.output
    assert "Added 30 fictional people." in first.output
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Person)) == 30
    assert db.scalar(select(func.count()).select_from(Visit)) > 100
    emails = set(db.scalars(select(User.email)))
    assert {"admin@example.org", "coordinator@example.org", "clinician@example.org",
            "researcher@example.org"} <= emails
    admin = db.scalars(select(User).where(User.email == "admin@example.org")).one()
    assert verify_password(DEMO_PASSWORD, admin.password_hash)

    again = runner.invoke(cli, ["seed-demo", "--people", "30"])
    assert again.exit_code == 0 and "already loaded" in again.output
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Person)) == 30
    # Ids were assigned by the generator: the database must still hand out fresh ones afterwards.
    db.add(Person(reference="ZZZZ-ZZZZ", status="unknown", opened_date=admin.created_at.date()))
    db.commit()


def test_seed_demo_is_refused_in_production(monkeypatch):
    from app.config import get_settings

    monkeypatch.setenv("CASEWORK_ENVIRONMENT", "production")
    monkeypatch.setenv("CASEWORK_MASTER_KEY", TEST_MASTER_KEY)
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli, ["seed-demo", "--people", "5"])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "never loaded into a production database" in result.output


def test_reset_mfa_removes_the_second_factor_and_is_audited(db, make_user):
    import pyotp

    from app.audit.models import AuditEvent
    from app.auth import mfa
    from app.config import get_settings

    user = make_user(Role.admin)
    db.rollback()
    user = db.get(User, user.id)
    secret = pyotp.random_base32()
    assert mfa.enrol(db, get_settings(), user, secret, pyotp.TOTP(secret).now()) is not None
    db.commit()
    result = runner.invoke(cli, ["reset-mfa", "--email", user.email.upper()])
    assert result.exit_code == 0, result.output
    db.rollback()
    assert not mfa.is_enrolled(db.get(User, user.id))
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "admin.user_mfa_reset", AuditEvent.object_id == str(user.id))) == 1
    missing = runner.invoke(cli, ["reset-mfa", "--email", "nobody@example.org"])
    assert missing.exit_code == 1 and "nothing was changed" in missing.output


def test_refresh_alerts_works_out_flags_and_refreshes_planner_statistics(engine, db, make_person):  # noqa: F811
    person = make_person("Fictivo", "Nightly", detained_days=40)
    started = datetime.now(UTC)
    with engine.begin() as conn:
        if is_postgres():
            conn.execute(text("DELETE FROM person_alert_states"))
        else:
            conn.execute(text("ANALYZE"))  # the statistics table exists from here on; empty it
            conn.execute(text("DELETE FROM sqlite_stat1"))
            conn.execute(text("DELETE FROM person_alert_states"))
    result = runner.invoke(cli, ["refresh-alerts"])
    assert result.exit_code == 0, result.output
    assert "Query planner statistics refreshed." in result.output
    with engine.connect() as conn:
        assert conn.execute(select(PersonAlertState.flags).where(PersonAlertState.person_id == person.id)).scalar()
        if is_postgres():
            # VACUUM too: it lets counts read an index alone after a bulk load.
            analysed, vacuumed = conn.execute(text(
                "SELECT last_analyze, last_vacuum FROM pg_stat_user_tables WHERE relname = 'people'")).one()
            assert analysed >= started and vacuumed >= started
        else:
            assert conn.execute(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'people'")).scalar() > 0
