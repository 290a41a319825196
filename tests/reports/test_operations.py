"""Operational figures: each month's counts over every case, checked against a small dataset counted by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.auth.models import Role, User
from app.contacts.models import LegalRepresentative
from app.detention.models import DetentionEpisode, EndReason
from app.evidence.models import EvidenceItem, EvidenceKind, Rule35Limb, Rule35Outcome, Rule35Record
from app.intake import service as intake
from app.intake.models import Channel, Decision, Need, RequesterKind, Urgency
from app.medicolegal.letter_models import Letter, LetterState
from app.medicolegal.models import MedicoLegalReport, ReportState
from app.people.models import Assignment, Person
from app.visits.models import Visit, VisitMode, VisitStatus
from tests.pages import audit_events

WARNING = "Internal figures: not for publication."


class _Table(HTMLParser):
    """{row heading (without its note): [cell texts]} for every table of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self._label: list[str] | None = None
        self._cells: list[str] = []
        self._cell: list[str] | None = None
        self._in_note = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "th" and ("scope", "row") in attrs:
            self._label, self._cells = [], []
        elif tag == "br" and self._label is not None and self._cell is None:
            self._in_note = 1  # what follows the line break is the figure's note
        elif tag == "td" and self._label is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "th" and self._label is not None:
            self._in_note = 0
        elif tag == "td" and self._cell is not None:
            self._cells.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._label is not None:
            label = " ".join("".join(self._label).split()).removeprefix("of which: ")
            self.rows[label] = self._cells
            self._label = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._label is not None and not self._in_note:
            self._label.append(data)


def figures_page(client, year: int) -> dict[str, list[int | None]]:  # type: ignore[no-untyped-def]
    response = client.get("/reports/operations", params={"year": year})
    assert response.status_code == 200, response.text
    assert WARNING in response.text
    parser = _Table()
    parser.feed(response.text)
    return {label: [int(c) if c.isdigit() else None for c in cells] for label, cells in parser.rows.items()}


def months(**by_month: int) -> list[int]:
    """Twelve monthly counts from jan=..., feb=..., the rest 0."""
    names = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    return [by_month.get(name, 0) for name in names]


@pytest.fixture
def known_year(db, make_person, make_user, today):  # type: ignore[no-untyped-def]
    """A year of fictional activity (the year before this one), with a little before and after it."""
    year = today.year - 1
    before, after = year - 1, year + 1
    clinician = make_user(Role.clinician, name="Dr Figures Fictional")
    people = {name: make_person("Figures", name) for name in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot")}
    db.rollback()
    admin = db.scalars(select(User).where(User.role == Role.admin)).first()
    assert admin is not None
    ids = {name: person.id for name, person in people.items()}
    opened_closed = {
        "Alpha": (date(year, 1, 10), date(year, 6, 20)),
        "Bravo": (date(year, 2, 5), None),
        "Charlie": (date(before, 12, 31), date(after, 1, 2)),  # opened the year before, closed the year after
        "Delta": (date(before, 3, 1), date(before, 9, 9)),  # all in the year before
        "Echo": (date(year, 10, 1), None),
        "Foxtrot": (date(year, 11, 1), None),
    }
    for name, (opened, closed) in opened_closed.items():
        person = db.get(Person, ids[name])
        assert person is not None
        person.opened_date, person.closed_date = opened, closed
        person.closing_reason = "other" if closed else None

    def utc(*parts: int) -> datetime:
        return datetime(*parts, tzinfo=UTC)

    def request(received: datetime, decision: Decision | None = None, decided: datetime | None = None,
                person: str | None = None) -> None:
        made = intake.create(db, admin.id, intake.NewRequest(
            received_at=received, channel=Channel.phone, requester_kind=RequesterKind.self, urgency=Urgency.routine,
            needs=[Need.clinical_concern], details={"summary": "Fictional request"}))
        if decision is not None:
            made.decision, made.decided_at, made.decided_by_id = decision, decided, admin.id
            made.person_id = ids[person] if person else None

    request(utc(year, 1, 15, 10), Decision.accepted, utc(year, 2, 1, 9), person="Alpha")
    request(utc(year, 3, 31, 23, 30), Decision.signposted, utc(year, 4, 2, 9))  # 00:30 on 1 April in London
    request(utc(year, 3, 10, 12), Decision.declined, utc(year, 3, 12, 12))
    request(utc(year, 12, 31, 23, 30))  # still 31 December in London (GMT): December
    request(utc(before, 6, 1, 12))
    request(utc(after, 1, 5, 12))

    def visit(person: str, on: date, status: VisitStatus = VisitStatus.signed) -> None:
        signed = status is VisitStatus.signed
        db.add(Visit(person_id=ids[person], clinician_id=clinician.id, visit_date=on, mode=VisitMode.in_person,
                     status=status, signed_at=utc(on.year, on.month, on.day, 18) if signed else None,
                     signed_by_id=clinician.id if signed else None))

    visit("Alpha", date(year, 1, 20))
    visit("Alpha", date(year, 1, 25), VisitStatus.draft)
    visit("Bravo", date(year, 1, 28))
    visit("Alpha", date(year, 3, 3))
    visit("Bravo", date(before, 5, 5))

    def evidence(person: str, kind: EvidenceKind, issued: date | None, received: date | None = None) -> None:
        db.add(EvidenceItem(person_id=ids[person], kind=kind, issued_date=issued, received_date=received,
                            created_by_id=admin.id))

    evidence("Alpha", EvidenceKind.medico_legal_report, date(year, 5, 5))
    evidence("Bravo", EvidenceKind.medico_legal_report, None, date(year, 5, 20))
    evidence("Bravo", EvidenceKind.gp_records, date(year, 5, 1))  # not a medico-legal report
    evidence("Alpha", EvidenceKind.medico_legal_report, date(before, 7, 7))

    def rule35(person: str, sent: date | None, response: date | None = None,
               outcome: Rule35Outcome | None = None) -> None:
        db.add(Rule35Record(person_id=ids[person], limb=Rule35Limb.torture, written_date=sent or date(year, 8, 1),
                            sent_date=sent, consent_to_send=sent is not None, response_date=response, outcome=outcome,
                            created_by_id=admin.id))

    rule35("Alpha", date(year, 4, 1), date(year, 4, 10), Rule35Outcome.detention_maintained)
    rule35("Bravo", date(year, 4, 20), date(year, 5, 2), Rule35Outcome.released)
    rule35("Charlie", date(year, 6, 6), outcome=Rule35Outcome.no_response)
    rule35("Delta", None)  # written, never sent

    def episode(person: str, start: date, end: date, reason: EndReason) -> None:
        db.add(DetentionEpisode(person_id=ids[person], start_date=start, end_date=end, end_reason=reason))

    episode("Alpha", date(before, 12, 1), date(year, 3, 15), EndReason.bailed)  # visited 20 January: counted
    episode("Bravo", date(year, 1, 1), date(year, 1, 10), EndReason.granted_leave)  # visited the year before
    episode("Bravo", date(year, 8, 1), date(year, 9, 9), EndReason.removed)  # not a release
    episode("Charlie", date(year, 6, 1), date(year, 7, 1), EndReason.released_temporary_admission)  # never seen
    # Assigned on the day of release (midday): counted. Assigned after release: not counted.
    db.add(Assignment(person_id=ids["Echo"], clinician_id=clinician.id, assigned_at=utc(year, 10, 10, 12)))
    episode("Echo", date(year, 9, 1), date(year, 10, 10), EndReason.bailed)
    db.add(Assignment(person_id=ids["Foxtrot"], clinician_id=clinician.id, assigned_at=utc(year, 11, 20, 12)))
    episode("Foxtrot", date(year, 10, 1), date(year, 11, 1), EndReason.bailed)

    representative = LegalRepresentative(firm="Figures Fictional LLP", caseworker="Casey Figures")
    db.add(representative)
    db.flush()

    def report(person: str, signed: datetime | None) -> None:
        state = ReportState.signed if signed else ReportState.drafting
        made = MedicoLegalReport(person_id=ids[person], author_id=clinician.id,
                                 legal_representative_id=representative.id, received_date=date(before, 1, 1),
                                 due_date=date(before, 1, 22), state=state,
                                 reviewer_id=admin.id if signed else None, approved_at=signed, signed_at=signed,
                                 signed_by_id=clinician.id if signed else None,
                                 content_sha256="0" * 64 if signed else None, created_by_id=admin.id)
        made.questions = "Fictional questions"
        db.add(made)

    report("Alpha", utc(year, 2, 28, 23, 30))  # still 28 February in London (GMT)
    report("Bravo", utc(year, 6, 30, 23, 30))  # 00:30 on 1 July in London (BST): July
    report("Charlie", utc(before, 8, 8, 12))
    report("Echo", None)  # never signed

    def letter(person: str, issued: datetime | None) -> None:
        made = Letter(person_id=ids[person], template_key="healthcare-concern", title="Fictional letter",
                      state=LetterState.issued if issued else LetterState.draft, made_by_id=admin.id,
                      issued_at=issued, issued_by_id=admin.id if issued else None,
                      content_sha256="0" * 64 if issued else None)
        made.body = "A fictional letter."
        db.add(made)

    letter("Alpha", utc(year, 9, 9, 9))
    letter("Bravo", utc(year, 9, 30, 12))
    letter("Charlie", utc(after, 1, 3, 9))
    letter("Delta", None)  # a draft, never issued
    db.commit()
    return year


def test_each_figure_matches_the_hand_count(client, signed_in, known_year):
    signed_in(Role.coordinator)
    year = known_year
    rows = figures_page(client, year)

    def check(label: str, monthly: list[int], previous: int, total: int | None = None) -> None:
        assert rows[label] == [*monthly, sum(monthly) if total is None else total, previous], label

    check("Requests received", months(jan=1, mar=1, apr=1, dec=1), previous=1)
    check("Requests decided", months(feb=1, mar=1, apr=1), previous=0)
    check("Accepted", months(feb=1), previous=0)
    check("Declined", months(mar=1), previous=0)
    check("Signposted", months(apr=1), previous=0)
    check("More information asked for", months(), previous=0)
    check("Cases opened", months(jan=1, feb=1, oct=1, nov=1), previous=2)
    check("Cases closed", months(jun=1), previous=1)  # Charlie, closed the year after, is not counted
    check("People visited", months(jan=2, mar=1), previous=1, total=2)  # Alpha and Bravo, each once in the year
    check("Visits signed", months(jan=2, mar=1), previous=1)
    check("Visits still in draft", months(jan=1), previous=0)
    check("Medico-legal reports", months(may=2), previous=1)
    check("Medico-legal reports signed off here", months(feb=1, jul=1), previous=1)
    check("Letters issued", months(sep=2), previous=0)
    check("Rule 35 reports sent", months(apr=2, jun=1), previous=0)
    check("Home Office responses to Rule 35 reports", months(apr=1, may=1), previous=0)
    check("Detention maintained", months(apr=1), previous=0)
    check("Released", months(may=1), previous=0)
    check("Rule 35 reports recorded as having had no response", months(jun=1), previous=0)
    check("Released after our involvement", months(jan=1, mar=1, oct=1), previous=0)
    check("Bailed", months(mar=1, oct=1), previous=0)
    check("Granted leave", months(jan=1), previous=0)
    check("Released on temporary admission", months(), previous=0)


def test_the_year_after_shows_this_years_totals_for_comparison(client, signed_in, known_year, today):
    signed_in(Role.admin)
    rows = figures_page(client, known_year + 1)
    assert rows["Requests received"][13] == 4  # the known year's total, as the year before
    assert rows["Requests received"][0] == 1  # the request of 5 January
    assert rows["Cases closed"][0] == 1  # Charlie, closed on 2 January
    future = rows["Cases opened"][today.month:12]  # months not begun are left blank
    assert all(cell is None for cell in future)


def test_the_page_defaults_to_this_year_and_is_audited(client, db, signed_in, today):
    user = signed_in(Role.coordinator)
    response = client.get("/reports/operations")
    assert response.status_code == 200
    assert f"Operational figures for {today.year}" in response.text
    assert WARNING in response.text and "anonymised summaries" in response.text
    events = audit_events(db, "reports.operations_viewed")
    assert [(e.actor_user_id, e.details) for e in events] == [(user.id, {"year": today.year})]


@pytest.mark.parametrize("typed", ["20x5", "1999", "99999", "12", "٢٠٢٥"])
def test_a_bad_year_is_a_message_not_a_500(client, db, signed_in, today, typed):
    signed_in(Role.coordinator)
    response = client.get("/reports/operations", params={"year": typed})
    assert response.status_code == 422
    assert "<title>Error: Operational figures" in response.text
    assert "There is a problem" in response.text and 'href="#f-year"' in response.text
    assert "Enter" in response.text and "<table" not in response.text
    assert audit_events(db, "reports.operations_viewed") == []


def test_a_year_not_yet_begun_is_refused(client, signed_in, today):
    signed_in(Role.admin)
    response = client.get("/reports/operations", params={"year": today.year + 1})
    assert response.status_code == 422
    assert f"Enter a year from 2000 to {today.year}" in response.text


@pytest.mark.parametrize("role", [Role.clinician, Role.researcher])
def test_clinicians_and_researchers_may_not_see_the_figures(client, db, signed_in, role):
    signed_in(role)
    assert client.get("/reports/operations").status_code == 403
    assert audit_events(db, "reports.operations_viewed") == []
    if role is Role.researcher:  # researchers have the reports page, without the link
        page = client.get("/reports")
        assert page.status_code == 200 and "/reports/operations" not in page.text


def test_the_reports_page_links_to_the_figures_for_coordinators(client, signed_in):
    signed_in(Role.coordinator)
    assert 'href="/reports/operations"' in client.get("/reports").text
