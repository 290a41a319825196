"""The public online referral form (/refer): one request written and nothing else, sealed, shown nowhere back;
and every submission that must store nothing (invalid, forged, a bot's, too frequent, too large, a refused
document, the form switched off) answered with a clear page while nothing is kept."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from starlette.requests import Request

from app.audit.models import AuditEvent, Outcome
from app.config import get_settings
from app.contacts.models import LegalRepresentative
from app.detention.models import Facility
from app.intake import public
from app.intake.models import Channel, HelpRequest, Need, RequesterKind, Urgency
from app.people.models import Person
from tests.conftest import csrf_from
from tests.evidence.conftest import PDF_BYTES
from tests.pages import audit_events, count

FAMILY = "Quarrington-Fictivo"  # made up, so that finding it anywhere in the clear is a finding
GIVEN = "Testa Marisol"
ANSWERS = {
    "given_names": GIVEN, "family_name": FAMILY, "birth": "1991", "nationality": "Fictional Republic",
    "home_office_reference": "F1234567", "phone_in_detention": "01632 960123",
    "language": "Fictionese, needs an interpreter",
    "needs": ["rule35", "mental_health"], "urgency": "this_week",
    "summary": "A Rule 35 report before the bail hearing on Friday, please.",
    "firm": "Lantern Law (fictional)", "caseworker": "Rowan Examplewright", "solicitor_phone": "01632 960456",
    "solicitor_email": "rowan@lantern-law.example.org", "legal_aid_contract": "yes",
    "other_professionals": "Visitor group volunteer (fictional), 01632 960789",
    "case_history": "Arrived in 2025; describes ill-treatment in detention abroad.",
    "removal_or_hearing": "Bail hearing on Friday at 10:00.",
    "consent": "true",
}
# Words of the answers that must never appear on a page after sending, nor in an audit row.
SUBMITTED_WORDS = [FAMILY, "Marisol", "F1234567", "01632 960123", "Fictionese", "Lantern Law", "Examplewright",
                   "lantern-law.example.org", "bail hearing on Friday", "ill-treatment"]


def _token(client) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/refer")
    assert page.status_code == 200
    return csrf_from(page.text)


def _send(client, answers: dict | None = None, *, files: dict | None = None,  # type: ignore[no-untyped-def]
          token: str | None = None, **changes):
    """POST the form as a browser would (multipart, with the page's token), with `changes` to the answers;
    a change to None leaves that answer out."""
    data = (ANSWERS if answers is None else answers) | changes
    data = {k: v for k, v in data.items() if v is not None}
    token = _token(client) if token is None else token
    return client.post("/refer", data=data | {"csrf_token": token}, follow_redirects=False,
                       files=files or {"document": ("", b"", "application/octet-stream")})


def _open_facility(db) -> Facility:  # type: ignore[no-untyped-def]
    return db.scalars(select(Facility).where(Facility.is_active.is_(True)).order_by(Facility.id)).first()


def _stored(db) -> list[HelpRequest]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(HelpRequest)))


def test_the_form_has_its_sections_a_hidden_honeypot_and_a_token_cookie(client, db):
    page = client.get("/refer")
    assert page.status_code == 200
    for legend in ("About your client", "The referral", "About you, the solicitor", "Other professionals involved",
                   "The case", "Declaration"):
        assert f"<legend><h2>{legend}</h2></legend>" in page.text
    assert "My client has consented to this referral and to you holding their details" in page.text
    assert 'name="website" type="text" value="" tabindex="-1" autocomplete="off"' in page.text
    assert "Leave this empty" in page.text
    assert _open_facility(db).name in page.text
    assert page.cookies.get("casework_refer_csrf") == csrf_from(page.text)
    assert 'enctype="multipart/form-data"' in page.text


def test_a_referral_writes_one_sealed_request_and_nothing_else(client, db):
    facility = _open_facility(db)
    people_before, representatives_before = count(db, Person), count(db, LegalRepresentative)
    before = datetime.now(UTC)

    response = _send(client, facility_id=str(facility.id))

    assert response.status_code == 303 and response.headers["location"] == "/refer/sent"
    [request] = _stored(db)
    assert request.channel is Channel.online_form and request.requester_kind is RequesterKind.legal_representative
    assert request.urgency is Urgency.this_week and request.need_list == [Need.rule35, Need.mental_health]
    assert request.recorded_by_id is None and request.person_id is None and request.decision is None
    assert request.facility_id == facility.id and request.legal_representative_id is None
    received = request.received_at if request.received_at.tzinfo else request.received_at.replace(tzinfo=UTC)
    assert received >= before.replace(microsecond=0)
    assert request.document_name is None and request.document_content is None
    assert request.details == {
        "given_names": GIVEN, "family_name": FAMILY, "birth": "1991", "nationality": "Fictional Republic",
        "home_office_reference": "F1234567", "phone_in_detention": "01632 960123",
        "language": "Fictionese, needs an interpreter",
        "requester_name": "Rowan Examplewright", "requester_organisation": "Lantern Law (fictional)",
        "callback_phone": "01632 960456", "callback_email": "rowan@lantern-law.example.org",
        "callback_notes": "Legal-aid contract: yes",
        "summary": "A Rule 35 report before the bail hearing on Friday, please.",
        "other_professionals": "Visitor group volunteer (fictional), 01632 960789",
        "case_history": "Arrived in 2025; describes ill-treatment in detention abroad.",
        "removal_or_hearing": "Bail hearing on Friday at 10:00.",
    }
    raw = db.execute(text("SELECT details FROM requests")).scalar_one()
    assert FAMILY.encode() not in bytes(raw) and b"Examplewright" not in bytes(raw)
    assert count(db, Person) == people_before and count(db, LegalRepresentative) == representatives_before

    [event] = audit_events(db, "request.submitted_online")
    assert event.details == {"urgency": "this_week", "with_document": False}
    assert event.actor_user_id is None and event.ip_address == "testclient"
    assert event.object_type == "request" and event.object_id == str(request.id)


def test_the_thank_you_page_shows_nothing_that_was_sent(client, db):
    response = _send(client)
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "Referral sent" in page.text and "What happens next" in page.text
    [request] = _stored(db)
    shown = [word for word in [*SUBMITTED_WORDS, request.reference] if word in page.text]
    assert shown == []


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"needs": None}, "needs", "Choose at least one thing your client needs."),
    ({"consent": None}, "consent", "Confirm that your client has consented to this referral."),
    ({"solicitor_email": "rowan at lantern-law"}, "solicitor_email", "Enter your e-mail address in the right format"),
    ({"given_names": None, "family_name": None}, "family_name", "Enter your client&#39;s name as they give it"),
    ({"summary": None}, "summary", "Enter what you are asking us to do."),
    ({"urgency": None}, "urgency", "Choose how urgent it is."),
    ({"legal_aid_contract": None}, "legal_aid_contract", "Choose yes or no: does your firm have a legal-aid"),
])
def test_a_field_error_shows_the_form_again_with_the_message_beside_it_and_stores_nothing(
        client, db, changes, field, message):
    response = _send(client, **changes)

    assert response.status_code == 422
    assert f'id="f-{field}-error"' in response.text and message in response.text
    assert f'href="#f-{field}"' in response.text  # the error summary links to the field
    assert "There is a problem" in response.text
    if field != "family_name":
        assert FAMILY in response.text  # what was typed is kept
    assert _stored(db) == [] and audit_events(db, "request.submitted_online") == []


def test_a_facility_that_is_not_open_is_refused_beside_the_field(client, db):
    response = _send(client, facility_id="999999")
    assert response.status_code == 422
    assert 'id="f-facility_id-error"' in response.text
    assert _stored(db) == []


@pytest.mark.parametrize("token", ["", "forged-token-that-is-not-the-cookie", "tøken-\u2603", "x" * 20_000])
def test_a_post_without_the_page_token_is_refused_and_stores_nothing(client, db, token):
    client.get("/refer")  # the browser holds the cookie; the form's token is missing or wrong
    response = _send(client, token=token)

    assert response.status_code == 403
    assert "This form had expired or came from another site, so nothing was sent" in response.text
    assert FAMILY not in response.text  # a forged post is not shown back
    assert _stored(db) == []
    [event] = audit_events(db, "security.csrf_rejected")
    assert event.details == {"reason": "missing token" if not token else "wrong token", "path": "/refer"}
    assert event.outcome is Outcome.denied


def test_a_post_with_no_cookie_or_from_another_site_is_refused(client, db):
    token = _token(client)
    cross_site = client.post("/refer", data=ANSWERS | {"csrf_token": token}, follow_redirects=False,
                             headers={"Sec-Fetch-Site": "cross-site"})
    client.cookies.clear()
    no_cookie = client.post("/refer", data=ANSWERS | {"csrf_token": token}, follow_redirects=False)
    assert (cross_site.status_code, no_cookie.status_code) == (403, 403)
    assert _stored(db) == []
    assert [e.details["reason"] for e in audit_events(db, "security.csrf_rejected")] == [
        "sec-fetch-site cross-site", "wrong token"]


def test_a_filled_honeypot_looks_like_success_but_stores_nothing_but_an_audit_row(client, db):
    honest = _send(client)
    bot = _send(client, website="https://spam.example.org")

    assert bot.status_code == honest.status_code == 303
    assert bot.headers["location"] == honest.headers["location"] == "/refer/sent"
    assert bot.headers.get("set-cookie") == honest.headers.get("set-cookie")  # the same one-shot message
    assert len(_stored(db)) == 1  # the honest one only
    [refused] = audit_events(db, "request.online_refused")
    assert refused.details == {"reason": "honeypot"} and refused.ip_address == "testclient"
    assert len(audit_events(db, "request.submitted_online")) == 1


def test_the_submission_after_the_hourly_limit_is_refused_with_429_and_stores_nothing(client, db, monkeypatch):
    monkeypatch.setattr(get_settings(), "referral_form_per_hour", 2)
    assert [_send(client).status_code for _ in range(2)] == [303, 303]

    response = _send(client)

    assert response.status_code == 429
    assert ("Too many referrals have been sent from this connection in the last hour; try again later, or "
            "telephone us") in response.text
    assert len(_stored(db)) == 2
    [limited] = audit_events(db, "request.online_refused")
    assert limited.details == {"reason": "rate_limited"} and limited.ip_address == "testclient"
    assert limited.outcome is Outcome.denied


def test_the_limit_counts_only_the_last_hour_from_the_same_address(client, db, monkeypatch):
    monkeypatch.setattr(get_settings(), "referral_form_per_hour", 1)
    now = datetime.now(UTC)
    db.add_all([
        AuditEvent(action="request.submitted_online", ip_address="testclient", occurred_at=now - timedelta(hours=2),
                   details={"urgency": "routine", "with_document": False}),
        AuditEvent(action="request.online_refused", ip_address="192.0.2.7", occurred_at=now - timedelta(minutes=5),
                   outcome=Outcome.denied, details={"reason": "honeypot"}),
    ])
    db.commit()

    assert _send(client).status_code == 303  # neither the old row nor the other address's counts
    assert _send(client).status_code == 429  # the one just sent does
    assert len(_stored(db)) == 1


def test_an_oversized_body_is_refused_with_413_and_stores_nothing(client, db, monkeypatch):
    monkeypatch.setattr(get_settings(), "upload_limit_mb", 1)
    too_big = PDF_BYTES + b"0" * (get_settings().upload_limit_bytes + 300 * 1024)

    response = _send(client, files={"document": ("scan.pdf", too_big, "application/pdf")})

    assert response.status_code == 413
    assert "The referral was too large to send" in response.text and "up to 1 MB" in response.text
    assert _stored(db) == []
    assert [e.details for e in audit_events(db, "request.online_refused")] == [{"reason": "too_large"}]


def test_an_oversized_body_without_a_length_is_refused(client, db, monkeypatch):
    monkeypatch.setattr(get_settings(), "upload_limit_mb", 1)
    token = _token(client)

    def body():  # type: ignore[no-untyped-def]
        yield (f'--zzz\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--zzz\r\n'
               'Content-Disposition: form-data; name="document"; filename="a.pdf"\r\n\r\n').encode()
        yield from (b"0" * 65536 for _ in range(64))

    response = client.post("/refer", content=body(), follow_redirects=False,
                           headers={"content-type": "multipart/form-data; boundary=zzz"})
    assert response.status_code == 413
    assert _stored(db) == []


def test_the_body_reader_stops_pulling_once_past_the_limit():
    """The test client hands the app a body whole, so the streaming is watched at the ASGI receive itself."""
    pulled: list[int] = []

    async def receive():  # type: ignore[no-untyped-def]
        pulled.append(1)
        return {"type": "http.request", "body": b"0" * 1024, "more_body": len(pulled) < 100}

    request = Request({"type": "http", "method": "POST", "path": "/refer", "headers": []}, receive)
    assert asyncio.run(public._bounded_body(request, 10 * 1024)) is None
    assert len(pulled) == 11
    small = Request({"type": "http", "method": "POST", "path": "/refer", "headers": []}, receive)
    pulled.clear()
    assert asyncio.run(public._bounded_body(small, 200 * 1024)) == b"0" * 1024 * 100


def test_a_file_larger_than_the_upload_limit_but_within_the_body_allowance_is_refused_beside_the_field(
        client, db, monkeypatch):
    monkeypatch.setattr(get_settings(), "upload_limit_mb", 1)
    just_over = PDF_BYTES + b"0" * (get_settings().upload_limit_bytes + 10 - len(PDF_BYTES))
    response = _send(client, files={"document": ("scan.pdf", just_over, "application/pdf")})
    assert response.status_code == 413
    assert 'id="f-document-error"' in response.text and "larger than the 1 MB limit" in response.text
    assert _stored(db) == []


def test_a_document_that_is_not_an_allowed_type_refuses_the_submission_beside_the_field(client, db):
    page = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    response = _send(client, files={"document": ("instructions.pdf", page, "application/pdf")})

    assert response.status_code == 422
    assert 'id="f-document-error"' in response.text
    assert "its content is a web page (HTML)" in response.text and "Nothing was sent" in response.text
    assert FAMILY in response.text  # the answers are kept; only the file must be chosen again
    assert _stored(db) == []


def test_an_allowed_pdf_is_stored_sealed_on_the_request(client, db):
    response = _send(client, files={"document": ("Detention review (fictional).pdf", PDF_BYTES, "text/html")})

    assert response.status_code == 303
    [request] = _stored(db)
    assert request.document_name == "Detention review (fictional).pdf"
    assert request.document_type == "application/pdf" and request.document_size == len(PDF_BYTES)
    assert request.document_sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert request.document_content == PDF_BYTES
    raw = db.execute(text("SELECT document_content FROM requests")).scalar_one()
    assert b"%PDF" not in bytes(raw)
    [event] = audit_events(db, "request.submitted_online")
    assert event.details == {"urgency": "this_week", "with_document": True}


def test_switched_off_the_form_is_closed_and_stores_nothing(client, db, monkeypatch):
    token = _token(client)
    monkeypatch.setattr(get_settings(), "referral_form_enabled", False)

    page = client.get("/refer")
    response = _send(client, token=token)

    for answer in (page, response):
        assert answer.status_code == 503
        assert "The online referral form is closed; telephone us" in answer.text
        assert 'action="/refer"' not in answer.text
    assert _stored(db) == []
    db.rollback()
    assert db.scalars(select(AuditEvent).where(AuditEvent.action.like("request.%"))).all() == []


def test_the_solicitors_email_links_the_request_to_the_registered_representative(client, db):
    archived = LegalRepresentative(firm="Lantern Law (fictional)", email="rowan@lantern-law.example.org",
                                   archived_at=datetime(2026, 1, 1, tzinfo=UTC))
    current = LegalRepresentative(firm="Lantern Law (fictional)", caseworker="Rowan Examplewright",
                                  email="Rowan@Lantern-Law.example.org", phone="01632 960456")
    db.add_all([archived, current])
    db.commit()
    current_id = current.id

    assert _send(client, solicitor_email="ROWAN@lantern-law.EXAMPLE.org").status_code == 303
    assert _send(client, solicitor_email="someone.else@example.org").status_code == 303

    linked, unlinked = sorted(_stored(db), key=lambda r: r.id)
    assert linked.legal_representative_id == current_id
    assert unlinked.legal_representative_id is None
    assert count(db, LegalRepresentative) == 2  # nothing added to the register
