"""Each alert on the person page says what triggered it, links to what resolves it and is graded by severity; the
dashboard and the people list grade and order alerts the same way."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from app.alerts import service as alerts
from app.alerts import triggers
from app.alerts.rules import RULES, Severity, ordered
from app.auth.models import Role, User
from app.config import get_settings
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.contacts.models import LegalRepresentative
from app.detention import clock
from app.detention.models import (
    BailOutcome,
    DetentionEpisode,
    Facility,
    Hearing,
    HearingKind,
    Placement,
    RemovalDirection,
)
from app.evidence.models import Rule35Limb, Rule35Record
from app.health_events.models import HealthEvent, HealthEventKind
from app.medicolegal.models import MedicoLegalReport, ReportState
from app.people.models import AarIndicator, Person, PersonAarIndicator
from app.referrals.models import NrmReferral, Organisation, Referral, ReferralStatus
from app.visits.models import Visit, VisitMode

TAG_WORDS = {Severity.urgent: "Urgent", Severity.due_soon: "Due soon", Severity.admin: "Admin"}


def alert_block(page: str, rule_id: str) -> str | None:
    """The person page's item for one alert, from its opening tag to the end of its "Why this alert"."""
    match = re.search(rf'<li class="alert alert--[a-z-]+" id="alert-{rule_id.replace("_", "-")}">(.*?)</details>',
                      page, re.S)
    return match.group(0) if match else None


def severity_of(block: str) -> str:
    match = re.search(r'<strong class="tag tag--severity-([a-z-]+)">([^<]+)</strong>', block)
    assert match, block[:300]
    return match.group(2)


def action_links(block: str) -> list[tuple[str, str]]:
    """(href, words) of each action link, unescaped."""
    return [(html.unescape(href), html.unescape(words))
            for href, words in re.findall(r'<a href="([^"]+)" class="alert__action">([^<]+)</a>', block)]


def actor(db: Any) -> User:
    return db.scalars(select(User).where(User.role == Role.admin)).first()


def episode_of(db: Any, person: Person) -> DetentionEpisode:
    db.rollback()
    return db.scalars(select(DetentionEpisode).where(DetentionEpisode.person_id == person.id)).one()


def organisation(db: Any, name: str) -> Organisation:
    found = db.scalar(select(Organisation).where(Organisation.name == name))
    assert found is not None, name
    return found


def give_care_consent(db: Any, person: Person, today: date) -> None:
    db.add(Consent(person_id=person.id, purpose=ConsentPurpose.care_record, given_date=today - timedelta(days=30),
                   method=ConsentMethod.written, recorded_by_id=actor(db).id))


# Each case arranges a person for whom the rule fires and returns (words of the trigger, the action's href).
Arrange = Callable[[Any, Any, date, datetime], tuple[Person, str, str]]


def removal_soon(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Rema", "Fictivo")
    db.add(RemovalDirection(person_id=person.id, removal_at=now + timedelta(hours=10), carrier="Flight FX 101",
                            destination="Fictional Republic", recorded_by_id=actor(db).id))
    return person, "Removal direction to Fictional Republic on", f"/people/{person.reference}#removals-section"


def hearing_soon(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Hera", "Fictivo")
    db.add(Hearing(person_id=person.id, kind=HearingKind.bail, hearing_at=now + timedelta(hours=30),
                   venue="Fictional Hearing Centre", recorded_by_id=actor(db).id))
    return person, "Bail hearing (First-tier Tribunal) on", f"/people/{person.reference}#hearings-section"


def detained_long(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Dora", "Fictivo", detained_days=40)
    episode = episode_of(db, person)
    days = clock.days_between_inclusive(episode.start_date, today)
    return person, f": {days} days.", f"/people/{person.reference}/episodes/{episode.id}/bail"


def band_crossed(db, make_person, today, now):  # type: ignore[no-untyped-def]
    start = clock.latest_start_reaching(clock.threshold("month_2"), today) - timedelta(days=2)
    person = make_person("Bana", "Fictivo", detained_days=(today - start).days + 1)
    return person, "entered the band “2 to 3 months”", f"/people/{person.reference}#detention"


def auto_bail(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Aubrey", "Fictivo", detained_days=200)
    episode = episode_of(db, person)
    return person, "4 months reached on", f"/people/{person.reference}/episodes/{episode.id}/bail"


def no_exam(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Exa", "Fictivo", detained_days=3)  # the fixture's placement has no examination
    episode = episode_of(db, person)
    return person, "Arrived at Brook House on", f"/people/{person.reference}/episodes/{episode.id}/exam"


def rule35_overdue(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Rulo", "Fictivo")
    report = Rule35Record(person_id=person.id, limb=Rule35Limb.torture, written_date=today - timedelta(days=12),
                          sent_date=today - timedelta(days=10), consent_to_send=True, created_by_id=actor(db).id)
    db.add(report)
    db.flush()
    return person, "Rule 35(3) report sent", f"/people/{person.reference}/rule35/{report.id}/edit"


def torture(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Tora", "Fictivo")
    db.add(PersonAarIndicator(person_id=person.id, indicator=AarIndicator.torture))
    return person, "Torture is recorded as an Adults at Risk indicator", f"/people/{person.reference}/referrals/new"


def self_harm(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Selma", "Fictivo", detained_days=20)
    db.add(HealthEvent(person_id=person.id, kind=HealthEventKind.self_harm, recorded_by_id=actor(db).id,
                       started_at=now - timedelta(days=3)))
    return person, "Self-harm on", f"/people/{person.reference}/rule35/new"


def refusal(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Flu", "Fictivo")
    refusing = HealthEvent(person_id=person.id, kind=HealthEventKind.fluid_refusal, recorded_by_id=actor(db).id,
                           started_at=now - timedelta(hours=30))
    db.add(refusing)
    db.flush()
    return person, "Fluid refusal since", f"/people/{person.reference}/health-events/{refusing.id}/end"


def nrm(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Nerma", "Fictivo")
    referral = Referral(person_id=person.id, organisation_id=organisation(db, "Salvation Army").id,
                        made_by_id=actor(db).id, status=ReferralStatus.sent, made_date=today - timedelta(days=14))
    db.add(referral)
    db.flush()
    db.add(NrmReferral(referral_id=referral.id))
    return (person, "National Referral Mechanism referral made",
            f"/people/{person.reference}/referrals/{referral.id}/nrm")


def visit_follow_up(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Vida", "Fictivo")
    db.add(Visit(person_id=person.id, clinician_id=actor(db).id, visit_date=today - timedelta(days=10),
                 mode=VisitMode.in_person, follow_up_date=today - timedelta(days=2)))
    return person, "set a follow-up for", f"/people/{person.reference}/visits/new"


def referral_follow_up(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Refa", "Fictivo")
    referral = Referral(person_id=person.id, organisation_id=organisation(db, "Helen Bamber Foundation").id,
                        made_by_id=actor(db).id, status=ReferralStatus.sent, made_date=today - timedelta(days=20),
                        follow_up_date=today - timedelta(days=1))
    db.add(referral)
    db.flush()
    return (person, "Referral to Helen Bamber Foundation", f"/people/{person.reference}/referrals/{referral.id}")


def no_care_consent(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Conny", "Fictivo")
    return (person, "No current consent to keep a care record.",
            f"/people/{person.reference}/consents/new?purpose=care_record")


def report_overdue(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Repa", "Fictivo")
    rep = LegalRepresentative(firm="Overdue Law (fictional)")
    db.add(rep)
    db.flush()
    report = MedicoLegalReport(person_id=person.id, author_id=actor(db).id, legal_representative_id=rep.id,
                               questions="Q", received_date=today - timedelta(days=30),
                               due_date=today - timedelta(days=2), state=ReportState.drafting,
                               created_by_id=actor(db).id)
    db.add(report)
    db.flush()
    return (person, f"Medico-legal report {report.id} was due on",
            f"/people/{person.reference}/reports/{report.id}")


def bail_again(db, make_person, today, now):  # type: ignore[no-untyped-def]
    person = make_person("Bailey", "Fictivo", detained_days=200,
                         bail=(today - timedelta(days=40), BailOutcome.refused))
    episode = episode_of(db, person)
    return person, "Bail refused on", f"/people/{person.reference}/episodes/{episode.id}/bail"


CASES: dict[str, Arrange] = {
    "removal_imminent": removal_soon, "hearing_soon": hearing_soon, "detained_28_days": detained_long,
    "length_band_crossed": band_crossed, "auto_bail_referral_due": auto_bail, "no_admission_exam": no_exam,
    "rule35_response_overdue": rule35_overdue, "torture_without_evidence": torture,
    "self_harm_without_rule35": self_harm, "food_fluid_refusal": refusal, "nrm_decision_outstanding": nrm,
    "visit_follow_up_overdue": visit_follow_up, "referral_follow_up_overdue": referral_follow_up,
    "consent_missing": no_care_consent, "bail_reapplication_open": bail_again,
    "report_overdue": report_overdue,
}


def test_every_rule_has_a_case_a_severity_and_an_action():
    assert set(CASES) == set(RULES)
    for rule in RULES.values():
        assert isinstance(rule.severity, Severity) and rule.action.strip(), rule.id
    # Graded, not all red: each severity is used.
    assert {rule.severity for rule in RULES.values()} == set(Severity)


@pytest.mark.parametrize("rule_id", list(CASES))
def test_each_alert_shows_its_trigger_its_action_link_and_a_graded_tag(client, signed_in, db, make_person, today,
                                                                       rule_id):
    signed_in(Role.coordinator)
    person, words, href = CASES[rule_id](db, make_person, today, datetime.now(UTC))
    db.commit()
    page = client.get(f"/people/{person.reference}")
    assert page.status_code == 200
    block = alert_block(page.text, rule_id)
    assert block is not None, f"{rule_id} does not show"
    rule = RULES[rule_id]
    expected_tag = TAG_WORDS[rule.severity]
    assert severity_of(block) == expected_tag
    assert words in html.unescape(block), html.unescape(block)
    links = action_links(block)
    assert href in [h for h, _ in links], links
    # The action link comes before what triggered it, and the explanation is folded away.
    assert block.index('class="alert__action"') < block.index('class="alert__trigger"')
    assert "<summary>Why this alert" in block
    assert html.unescape(block).index(rule.describe(get_settings())) > block.index("<details")
    assert f'href="/people/{person.reference}/tasks/new?from_alert={rule_id}"' in block


def test_consent_missing_names_each_referral_that_lacks_consent_and_links_to_the_prefilled_form(
        client, signed_in, db, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Shara", "Fictivo")
    give_care_consent(db, person, today)
    torture_org = organisation(db, "Freedom from Torture")
    bamber = organisation(db, "Helen Bamber Foundation")
    for org in (torture_org, bamber):
        db.add(Referral(person_id=person.id, organisation_id=org.id, made_by_id=actor(db).id,
                        status=ReferralStatus.sent, made_date=today - timedelta(days=3)))
    # Consent to share with Helen Bamber stands: only the referral to Freedom from Torture lacks one.
    db.add(Consent(person_id=person.id, purpose=ConsentPurpose.share_with_organisation, organisation_id=bamber.id,
                   given_date=today - timedelta(days=4), method=ConsentMethod.verbal, recorded_by_id=actor(db).id))
    db.commit()
    block = alert_block(client.get(f"/people/{person.reference}").text, "consent_missing")
    assert block is not None
    text = html.unescape(block[:block.index("<details")])  # what triggered it, not the rule's explanation
    assert "Referral to Freedom from Torture, made " in text and "has no current consent to share." in text
    assert "Helen Bamber" not in text and "care record" not in text
    href = f"/people/{person.reference}/consents/new?purpose=share_with_organisation&organisation={torture_org.id}"
    assert action_links(block) == [(href, "Record consent to share with Freedom from Torture")]
    assert severity_of(block) == "Admin"
    form = client.get(href).text
    assert re.search(rf'<option value="{torture_org.id}"[^>]*selected', form), "organisation not pre-filled"
    assert re.search(r'<option value="share_with_organisation"[^>]*selected', form) or \
        re.search(r'value="share_with_organisation"[^>]*checked', form), "purpose not pre-filled"


def test_a_rule_that_does_not_fire_shows_nothing(client, signed_in, db, make_person, today):
    signed_in(Role.coordinator)
    quiet = make_person("Quinta", "Fictivo")
    give_care_consent(db, quiet, today)
    db.commit()
    page = client.get(f"/people/{quiet.reference}").text
    assert 'id="alerts-title"' not in page and 'class="alert ' not in page and "Why this alert" not in page
    # One rule firing shows that rule alone.
    person, _, _ = refusal(db, make_person, today, datetime.now(UTC))
    give_care_consent(db, person, today)
    db.commit()
    page = client.get(f"/people/{person.reference}").text
    assert re.findall(r'id="alert-([a-z0-9-]+)"', page) == ["food-fluid-refusal"]


def test_a_removal_beyond_the_urgent_hours_is_due_soon_and_within_them_urgent(client, signed_in, db, make_person,
                                                                             today):
    signed_in(Role.coordinator)
    person = make_person("Remy", "Fictivo")
    give_care_consent(db, person, today)
    direction = RemovalDirection(person_id=person.id, removal_at=datetime.now(UTC) + timedelta(hours=50),
                                 carrier="Flight FX 101", destination="Fictional Republic", recorded_by_id=actor(db).id)
    db.add(direction)
    db.commit()
    block = alert_block(client.get(f"/people/{person.reference}").text, "removal_imminent")
    assert block is not None and severity_of(block) == "Due soon"
    assert "in 49 hours" in block or "in 50 hours" in block
    db.rollback()
    db.get(RemovalDirection, direction.id).removal_at = datetime.now(UTC) + timedelta(hours=5)
    db.commit()
    block = alert_block(client.get(f"/people/{person.reference}").text, "removal_imminent")
    assert block is not None and severity_of(block) == "Urgent"


def test_person_page_lists_urgent_alerts_first_and_hides_links_a_clinician_cannot_use(
        client, signed_in, db, make_person, today):
    clinician = signed_in(Role.clinician)
    person = make_person("Orla", "Fictivo", detained_days=40, assigned_to=clinician)
    give_care_consent(db, person, today)
    db.commit()
    page = client.get(f"/people/{person.reference}").text
    shown = re.findall(r'id="alert-([a-z0-9-]+)"', page)
    # RULES lists detained_28_days before no_admission_exam; the urgent one leads.
    assert shown == ["no-admission-exam", "detained-28-days"]
    block = alert_block(page, "detained_28_days")
    assert block is not None
    assert "/bail" not in block and "Consider a bail application" in block and "a coordinator can record this" in block


def test_dashboard_and_people_list_grade_alerts_and_put_urgent_before_admin(client, signed_in, db, make_person,
                                                                           today):
    signed_in(Role.coordinator)
    person = make_person("Dash", "Fictivo", detained_days=40)
    give_care_consent(db, person, today)
    db.commit()
    page = client.get("/").text
    listed = page[page.index('id="alerts-title"'):]
    listed = listed[:listed.index("</ul>")]
    exam, detained = listed.index("alert=no_admission_exam"), listed.index("alert=detained_28_days")
    assert exam < detained  # urgent before admin, although RULES lists detained_28_days first
    assert re.search(r'tag--severity-urgent">Urgent</strong>\s*<strong class="alert__title">No admission GP',
                     listed)
    assert re.search(r'tag--severity-admin">Admin</strong>\s*<strong class="alert__title">Detained over 28 days',
                     listed)
    people = client.get("/people").text
    badges = re.findall(r'<span class="tag tag--badge tag--severity-([a-z-]+)"><span class="visually-hidden">'
                        r'([^<]+): </span>([^<]+)</span>', people)
    assert badges == [("urgent", "Urgent", "No admission GP examination recorded"),
                      ("admin", "Admin", "Detained over 28 days")]


@pytest.mark.no_database
def test_ordering_is_by_severity_then_rules_order():
    shuffled = [RULES["consent_missing"], RULES["detained_28_days"], RULES["hearing_soon"],
                RULES["food_fluid_refusal"], RULES["removal_imminent"]]
    assert [r.id for r in ordered(shuffled)] == [
        "removal_imminent", "food_fluid_refusal", "hearing_soon", "detained_28_days", "consent_missing"]


def test_triggers_cost_one_statement_whatever_fires_and_none_for_the_detention_rules(db, make_person, today,
                                                                                    reader_engine):
    now = datetime.now(UTC)
    person = make_person("Many", "Fictivo", detained_days=200, bail=(today - timedelta(days=40), BailOutcome.refused))
    for arrange in (removal_soon, hearing_soon, rule35_overdue, self_harm, refusal, nrm, visit_follow_up,
                    referral_follow_up, report_overdue):
        # Each case makes its own person; move their records onto this one, so every rule fires for one record.
        other, _, _ = arrange(db, make_person, today, now)
        db.flush()
        for model in (RemovalDirection, Hearing, Rule35Record, HealthEvent, Referral, Visit, MedicoLegalReport):
            for row in db.scalars(select(model).where(model.person_id == other.id)):
                row.person_id = person.id
        db.commit()
    db.add(PersonAarIndicator(person_id=person.id, indicator=AarIndicator.torture))
    db.commit()
    db.rollback()
    person = db.get(Person, person.id)
    cutoffs = alerts.Cutoffs.for_day(today, get_settings(), now=now)
    fired = alerts.firing(db, cutoffs, [person.id])[person.id]
    # All but three: the bail application 40 days ago stops the automatic referral; the referral to Helen Bamber
    # (torture rehabilitation) is evidence enough; the band was entered months ago.
    assert {r.id for r in fired} == set(RULES) - {"length_band_crossed", "auto_bail_referral_due",
                                                  "torture_without_evidence"}
    episode = episode_of(db, person)
    placements = db.execute(select(Placement, Facility).join(Facility, Facility.id == Placement.facility_id)
                            .where(Placement.episode_id == episode.id)).all()

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(reader_engine, "before_cursor_execute", count)
    try:
        result = triggers.for_person(db, person, fired, cutoffs, get_settings(), episode=episode,
                                     placements=placements)
        assert len(statements) == 1, statements
        statements.clear()
        detention_only = [RULES[r] for r in ("detained_28_days", "auto_bail_referral_due",
                                             "bail_reapplication_open", "no_admission_exam")]
        triggers.for_person(db, person, detention_only, cutoffs, get_settings(), episode=episode,
                            placements=placements)
        assert statements == []
    finally:
        event.remove(reader_engine, "before_cursor_execute", count)
    # Every firing rule named a record of its own, not the fallback link to its section.
    for alert in result:
        assert all(t.label != "See the record below." for t in alert.triggers), alert.rule.id
    severities = [alert.severity for alert in result]
    assert severities == sorted(severities, key=list(Severity).index)

