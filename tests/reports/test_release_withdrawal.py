"""A narrative's past releases stop for researchers when the person withdraws research consent; an administrator
keeps the audited copy; the release log says so; every download carries its true media type."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.auth.models import Role, User
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.visits.models import Visit, VisitMode, VisitStatus
from tests.conftest import csrf_from, page_csrf, sign_in
from tests.pages import audit_events


def _switch(client, make_user, role: Role) -> User:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    user = make_user(role)
    assert sign_in(client, user.email).status_code == 303
    return user


def _act(client, narrative_id: int, action: str, **fields):  # type: ignore[no-untyped-def]
    page = client.get(f"/reports/narratives/{narrative_id}")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    data = {"csrf_token": csrf_from(page.text)} | ({"version": version.group(1)} if version else {}) | fields
    return client.post(f"/reports/narratives/{narrative_id}/{action}", data=data, follow_redirects=False)


def _released_narrative(client, make_user, make_person, db, today) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    person = make_person("Fictiva", "Withdrawtest", detained_days=30)
    db.rollback()
    actor_id = db.scalars(select(User.id).where(User.role == Role.admin)).first()
    db.add(Consent(person_id=person.id, purpose=ConsentPurpose.anonymised_research, given_date=today,
                   method=ConsentMethod.written, recorded_by_id=actor_id))
    db.add(Visit(person_id=person.id, clinician_id=actor_id, visit_date=today - timedelta(days=3),
                 mode=VisitMode.in_person, status=VisitStatus.signed, findings="Old scars on both forearms.",
                 signed_at=datetime.now(UTC), signed_by_id=actor_id))
    db.commit()
    _switch(client, make_user, Role.coordinator)
    token = page_csrf(client, f"/people/{person.reference}")
    started = client.post(f"/people/{person.reference}/narratives", data={"csrf_token": token},
                          follow_redirects=False)
    narrative_id = int(started.headers["location"].rsplit("/", 1)[1])
    assert _act(client, narrative_id, "submit").status_code == 303
    _switch(client, make_user, Role.admin)
    assert _act(client, narrative_id, "approve").status_code == 303
    return person.id, narrative_id


def test_withdrawal_reaches_past_releases(client, make_user, make_person, db, today):
    person_id, narrative_id = _released_narrative(client, make_user, make_person, db, today)
    _switch(client, make_user, Role.researcher)
    downloads = {}
    for output_format, media_type, magic in (("html", "text/html", b"<!doctype html"), ("pdf", "application/pdf",
                                                                                       b"%PDF")):
        exported = _act(client, narrative_id, "export", output_format=output_format)
        assert exported.status_code == 303
        download = client.get(exported.headers["location"])
        assert download.status_code == 200 and download.headers["content-type"].startswith(media_type)
        assert download.content[:20].lower().startswith(magic.lower())
        assert download.headers["content-disposition"].endswith(f'.{output_format}"')
        downloads[output_format] = exported.headers["location"]
    release_page = downloads["html"].removesuffix("/download")
    assert "Download as released (HTML)" in client.get(release_page).text

    db.rollback()
    db.execute(update(Consent).where(Consent.person_id == person_id)
               .values(withdrawn_date=today, withdrawal_recorded_by_id=Consent.recorded_by_id))
    db.commit()
    # The researcher who downloaded yesterday cannot download again; the log says why.
    for location in downloads.values():
        refused = client.get(location)
        assert refused.status_code == 410 and "withdrawn their consent" in refused.text
        assert refused.headers["content-type"].startswith("text/html") and b"%PDF" not in refused.content
    assert len(audit_events(db, "summary.download_refused")) == 2
    listing = client.get("/reports/releases").text
    assert listing.count("Withdrawn: consent no longer stands") == 2
    page = client.get(release_page).text
    assert "It can no longer be downloaded." in page and "/download" not in page
    # A coordinator is not an administrator: refused too.
    _switch(client, make_user, Role.coordinator)
    assert client.get(downloads["pdf"]).status_code == 410
    # The administrator opens the copy kept as the record of what was published, and that is recorded.
    _switch(client, make_user, Role.admin)
    kept = client.get(downloads["pdf"])
    assert kept.status_code == 200 and kept.content.startswith(b"%PDF")
    assert audit_events(db, "summary.downloaded")[-1].details["withdrawn"] is True
    assert "may still open the copy" in client.get(release_page).text
