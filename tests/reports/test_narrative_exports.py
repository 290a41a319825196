"""No identifier of the person survives into a narrative's preview, HTML export or PDF export, for people whose
names are written in several scripts and spellings, with identifiers planted in every free-text field."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.auth.models import Role, User
from app.config import get_settings
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.contacts import service as contacts
from app.contacts.models import LegalRepresentative
from app.evidence.models import EvidenceItem, EvidenceKind, Finding
from app.health_events.models import HealthEvent, HealthEventKind
from app.people.models import Identity, IdentityAlias
from app.reports import exports, narratives
from app.reports.models import CaseNarrative
from app.reports.narrative_views import render_narrative_html
from app.visits.models import Visit, VisitAddendum, VisitMode, VisitStatus


@dataclass(frozen=True)
class Someone:
    given: str
    family: str
    aliases: tuple[str, ...]
    reference: str
    home_office: str
    phone: str
    email: str
    born: date
    # How a busy clinician might write them: other cases, accents dropped, punctuation moved, other formats.
    written: tuple[str, ...]
    # What must not be found afterwards (compared after folding case, accents and punctuation).
    secrets: tuple[str, ...]


PEOPLE = (
    Someone("Amanuel", "Tesfay", ("Amanuel Tesfai", "አማኑኤል ተስፋይ"), "K7Q2-M9XD", "B1234567", "07700 900123",
            "amanuel.t@example.org", date(1991, 4, 9),
            ("AMANUEL TESFAI", "tesfáy", "አማኑኤል", "k7q2 m9xd", "B1234567", "09/04/1991", "9 April 1991",
             "+44 7700 900123", "Amanuel.T@Example.org"),
            ("amanuel", "tesfay", "tesfai", "አማኑኤል", "ተስፋይ", "k7q2m9xd", "b1234567", "900123")),
    Someone("Yusuf", "Al-Haddad", ("يوسف الحداد",), "M3N4-P5Q6", "H7654321", "+44 20 7946 0958",
            "y.haddad@example.net", date(1985, 12, 3),
            ("YUSUF AL HADDAD", "al-haddad", "يوسف", "الحداد", "03.12.1985", "December 3, 1985", "020 7946 0958",
             "Y.Haddad@Example.net", "m3n4-p5q6", "h7654321"),
            ("yusuf", "haddad", "يوسف", "الحداد", "m3n4p5q6", "h7654321", "79460958")),
    Someone("Oleksandr", "Kovalenko", ("Олександр Коваленко", "Alexander Kovalenko"), "R8S9-T2U3", "C2468013",
            "07700 900456", "okoval@example.com", date(1979, 7, 21),
            ("OLEKSANDR", "Коваленко", "oleksandr kovalenko", "21/07/79", "21st July 1979", "1979-07-21",
             "07700900456", "ALEXANDER"),
            ("oleksandr", "kovalenko", "олександр", "коваленко", "alexander", "r8s9t2u3", "c2468013", "900456")),
    Someone("Wei", "Li", ("李伟", "Lee Wei"), "W4X5-Y6Z7", "D9753124", "07700 900789", "liwei@example.com",
            date(2001, 1, 30),
            ("李伟说", "LI WEI", "Wei Li", "30-01-2001", "20010130", "Lee Wei", "liwei@example.com"),
            ("李伟", "liwei", "weili", "leewei", "w4x5y6z7", "d9753124", "900789")),
    Someone("José María", "O'Neill-Pérez", ("Jose Maria ONeill",), "A2B3-C4D5", "E1357924", "07700 900321",
            "jm.oneill@example.org", date(1968, 5, 15),
            ("jose maria oneill perez", "O'NEILL", "Pérez", "JOSÉ-MARÍA", "15 May 1968", "May 15th 1968",
             "15.5.68", "(07700) 900 321"),
            ("jose", "maria", "oneill", "perez", "a2b3c4d5", "e1357924", "900321", "1968")),
)


def _fold(text: str) -> str:
    """Case, accents and punctuation folded away; words kept apart by single spaces."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " " + " ".join(re.sub(r"[\W_]+", " ", stripped.casefold()).split()) + " "


def _squashed(text: str) -> str:
    return re.sub(r"[\W_]+", "", _fold(text))


def assert_nothing_survives(text: str, someone: Someone) -> None:
    folded, squashed = _fold(text), _squashed(text)
    digits = re.sub(r"\D", "", text)
    for secret in someone.secrets:
        key = _squashed(secret)
        if key.isdigit():
            assert key not in digits, f"{secret!r} survived"
        elif not key.isascii():
            assert key not in squashed, f"{secret!r} survived"
        else:
            assert f" {' '.join(_fold(secret).split())} " not in folded, f"{secret!r} survived"
            assert key not in squashed or len(key) < 5, f"{secret!r} survived"


def _planted(someone: Someone) -> str:
    return " ".join(f"Noted: {variant} said so." for variant in someone.written)


@pytest.fixture
def make_subject(db, make_person, today):  # type: ignore[no-untyped-def]
    def make(someone: Someone):  # type: ignore[no-untyped-def]
        person = make_person(someone.given, someone.family, detained_days=60, birth_date=someone.born,
                             nationality="SY")
        db.rollback()
        identity = db.get(Identity, person.id)
        identity.home_office_reference = someone.home_office
        identity.phone_in_detention = someone.phone
        representative = LegalRepresentative(firm="Testcase Law (fictional)", email=someone.email)
        db.add(representative)
        db.flush()
        contacts.set_current(db, None, person.id, representative.id)
        for alias in someone.aliases:
            db.add(IdentityAlias(person_id=person.id, name=alias))
        person.reference = someone.reference
        actor = db.scalars(select(User.id).where(User.role == Role.admin)).first()
        db.add(Consent(person_id=person.id, purpose=ConsentPurpose.anonymised_research, given_date=today,
                       method=ConsentMethod.written, recorded_by_id=actor))
        text = _planted(someone)
        visit = Visit(person_id=person.id, clinician_id=actor, visit_date=today - timedelta(days=5),
                      mode=VisitMode.in_person, status=VisitStatus.signed, signed_at=datetime.now(UTC),
                      signed_by_id=actor, presenting_concerns=text, findings=text, actions=text)
        db.add(visit)
        db.flush()
        db.add(VisitAddendum(visit_id=visit.id, author_id=actor, text=text))
        item = EvidenceItem(person_id=person.id, kind=EvidenceKind.psychiatric_report, summary=text,
                            created_by_id=actor, issued_date=today - timedelta(days=3))
        db.add(item)
        db.flush()
        db.add(Finding(evidence_item_id=item.id, body_region="Head", description=text, attributed_cause=text))
        db.add(HealthEvent(person_id=person.id, kind=HealthEventKind.segregation, notes=text, recorded_by_id=actor,
                           started_at=datetime.now(UTC) - timedelta(days=2)))
        narrative = CaseNarrative(person_id=person.id, pseudonym="Case QX-4821", created_by_id=actor)
        db.add(narrative)
        db.commit()
        return narrative

    return make


@pytest.mark.parametrize("someone", PEOPLE, ids=[p.family for p in PEOPLE])
def test_no_identifier_survives_in_any_format(db, make_subject, someone, today):
    narrative = make_subject(someone)
    content = narratives.compose(db, narrative, today, get_settings().disclosure_k)
    assert content["replacements"] >= len(someone.written) * 6  # every planted variant, in every field
    narrative.content = content
    html = render_narrative_html(narrative)
    assert "Case QX-4821" in html and "<mark" in html
    assert_nothing_survives(html, someone)
    pdf = exports.to_pdf(html)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Case narrative" in text and "QX-4821" in text
    assert_nothing_survives(text, someone)


def test_the_check_itself_catches_a_leak():
    someone = PEOPLE[4]
    with pytest.raises(AssertionError):
        assert_nothing_survives("Seen by O’NEILL today.", someone)
    with pytest.raises(AssertionError):
        assert_nothing_survives("Phone (07700) 900-321.", someone)
    with pytest.raises(AssertionError):
        assert_nothing_survives("Born 1968.", someone)
    assert_nothing_survives("Seen today, day 12 of detention.", someone)
