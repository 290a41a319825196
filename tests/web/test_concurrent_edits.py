"""Two people saving the same record at once, for real: on PostgreSQL another session holds the record's row while
a form is saved, then saves first. The form that lost the race gets the conflict page, never a 500, and nothing of
it is saved. (SQLite takes the write lock before a form's first read, so there two saves cannot interleave.)"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from app.audit.models import Revision
from app.auth.models import Role
from app.main import create_app
from app.web.errors import STALE_MESSAGE
from tests.conftest import csrf_from, is_postgres
from tests.pages import form_fields

pytestmark = pytest.mark.skipif(not is_postgres(), reason="SQLite runs one writer at a time: saves cannot race")


def _ids(db, person_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    db.rollback()
    tables = {"item": "evidence_items", "record": "rule35_records", "visit": "visits", "episode": "detention_episodes",
              "consent": "consents", "referral": "referrals"}
    return {key: db.scalar(text(f"SELECT min(id) FROM {table} WHERE person_id = :p"), {"p": person_id})
            for key, table in tables.items()}


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as probe:
        return bool(probe.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND datname = current_database()")))


def _race(engine: Engine, person_id: int, send: Any) -> tuple[Any, bool]:
    """Send the form while another session holds the person's rows, then let that session save first."""
    answer: dict[str, Any] = {}
    with engine.connect() as other:
        other.execute(text("SELECT id FROM people WHERE id = :p FOR UPDATE"), {"p": person_id})
        other.execute(text("SELECT id FROM visits WHERE person_id = :p FOR UPDATE"), {"p": person_id})
        worker = threading.Thread(target=lambda: answer.setdefault("response", send()))
        worker.start()
        deadline, waited = time.monotonic() + 10, False
        while time.monotonic() < deadline and not waited and worker.is_alive():
            waited = _waiting_on_a_lock(engine)
            time.sleep(0.05)
        other.execute(text("UPDATE people SET version = version + 1 WHERE id = :p"), {"p": person_id})
        other.execute(text("UPDATE visits SET version = version + 1 WHERE person_id = :p"), {"p": person_id})
        other.commit()
        worker.join(30)
    return answer["response"], waited


# (form page, where it posts, fields changed or added to what the page shows)
FORMS = [
    ("/people/{ref}/edit", "/people/{ref}/edit", {"family_name": "Racedname"}),
    ("/people/{ref}/evidence/{item}/edit", "/people/{ref}/evidence/{item}/edit", {"author": "Dr Raced"}),
    ("/people/{ref}/rule35/{record}/edit", "/people/{ref}/rule35/{record}/edit", {"author_name": "Dr Raced"}),
    ("/people/{ref}/visits/{visit}/edit", "/people/{ref}/visits/{visit}/edit", {"findings": "Raced findings."}),
    ("/people/{ref}/episodes/{episode}/end", "/people/{ref}/episodes/{episode}/end",
     {"end_date": "{today}", "end_reason": "bailed"}),
    ("/people/{ref}/consents/{consent}/withdraw", "/people/{ref}/consents/{consent}/withdraw",
     {"withdrawn_date": "{today}"}),
    ("/people/{ref}/referrals/{referral}", "/people/{ref}/referrals/{referral}/status",
     {"status": "accepted", "response_date": "{today}"}),
]


@pytest.mark.parametrize(("page", "action", "changes"), FORMS, ids=[f[1].split("}/", 1)[-1] for f in FORMS])
def test_the_save_that_loses_a_race_gets_the_conflict_page(client, db, signed_in, full_record, today,
                                                           page, action, changes):
    signed_in(Role.admin)
    person, _ = full_record("Racing", "Fictivo")
    names = {"ref": person.reference, "today": today.isoformat(), **_ids(db, person.id)}
    page_path, action_path = page.format(**names), action.format(**names)
    shown = client.get(page_path)
    assert shown.status_code == 200, page_path
    fields = form_fields(shown.text, action_path) | {k: v.format(**names) for k, v in changes.items()}
    assert fields.get("version"), f"the form at {page_path} carries no version"
    db.rollback()
    revisions_before = db.scalar(select(func.count()).select_from(Revision).where(Revision.person_id == person.id))
    engine = db.get_bind()

    with TestClient(create_app(), base_url="http://testserver") as racer:
        racer.cookies.update(client.cookies)
        fields["csrf_token"] = csrf_from(racer.get("/").text)
        response, waited = _race(engine, person.id, lambda: racer.post(action_path, data=fields,
                                                                        follow_redirects=False))

    assert waited, "the save never reached the row the other session held"
    assert response.status_code == 409, (action_path, response.status_code)
    assert STALE_MESSAGE.split(":")[0] in response.text
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Revision)
                     .where(Revision.person_id == person.id)) == revisions_before
