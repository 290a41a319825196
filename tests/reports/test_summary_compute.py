"""The summary's SQL aggregation, before disclosure control: each table counts what it says it counts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from app.auth.models import User
from app.config import get_settings
from app.detention.models import EndReason
from app.evidence.models import Rule35Limb, Rule35Outcome, Rule35Record
from app.health_events.models import HealthEvent, HealthEventKind
from app.people.models import AarIndicator, PersonAarIndicator
from app.referrals.models import Organisation, Referral, ReferralStatus
from app.reports import summaries
from app.reports.summaries import SummaryParams
from app.visits.models import RiskLevel, Visit, VisitAarIndicator, VisitMode, VisitStatus


def _counts(computed: summaries.Computed, key: str) -> dict[str, tuple[int, ...]]:
    table = next(t for t in computed.tables if t.key == key)
    return dict(zip(table.row_labels, table.counts, strict=True))


def _compute(db, params, today) -> summaries.Computed:  # type: ignore[no-untyped-def]
    with summaries.population(db, params, today):
        assert summaries.population_ids(db) == sorted(summaries.population_ids(db))
        return summaries.compute(db, params, today, get_settings().zone)


def _params(today, days=60):  # type: ignore[no-untyped-def]
    return SummaryParams(start_date=today - timedelta(days=days), end_date=today)


def test_each_table_counts_what_it_says(db, research_people, today):
    people = research_people(6, detained_days=40)
    research_people(2, detained_days=200)
    outsiders = research_people(3, consent=False)
    actor = db.scalars(select(User.id)).first()
    a, b, c = people[0], people[1], people[2]
    db.add_all([
        PersonAarIndicator(person_id=a.id, indicator=AarIndicator.torture),
        PersonAarIndicator(person_id=outsiders[0].id, indicator=AarIndicator.torture),
        Rule35Record(person_id=a.id, limb=Rule35Limb.torture, written_date=today - timedelta(days=5),
                     sent_date=today - timedelta(days=5), consent_to_send=True, response_date=today - timedelta(days=2),
                     outcome=Rule35Outcome.released, created_by_id=actor),
        Rule35Record(person_id=b.id, limb=Rule35Limb.torture, written_date=today - timedelta(days=5),
                     created_by_id=actor),
        Rule35Record(person_id=c.id, limb=Rule35Limb.suicidal_intentions, written_date=today - timedelta(days=4),
                     sent_date=today - timedelta(days=4), consent_to_send=True, response_date=today - timedelta(days=1),
                     outcome=Rule35Outcome.detention_maintained, created_by_id=actor),
        # Outside the period: not counted.
        Rule35Record(person_id=c.id, limb=Rule35Limb.torture, written_date=today - timedelta(days=300),
                     created_by_id=actor),
        HealthEvent(person_id=b.id, kind=HealthEventKind.self_harm, recorded_by_id=actor,
                    started_at=summaries.datetime.now(summaries.UTC) - timedelta(days=3)),
        Visit(person_id=a.id, clinician_id=actor, visit_date=today - timedelta(days=2), mode=VisitMode.phone,
              status=VisitStatus.signed, risk=RiskLevel.high, signed_at=summaries.datetime.now(summaries.UTC),
              signed_by_id=actor),
        # A draft visit is not counted.
        Visit(person_id=a.id, clinician_id=actor, visit_date=today - timedelta(days=1), mode=VisitMode.video,
              status=VisitStatus.draft),
    ])
    db.flush()
    visit_id = db.scalars(select(Visit.id).where(Visit.person_id == b.id)).first()
    db.add(VisitAarIndicator(visit_id=visit_id, indicator=AarIndicator.trafficking))
    legal = db.scalars(select(Organisation).where(Organisation.type == "legal")).first()
    db.add(Referral(person_id=a.id, organisation_id=legal.id, made_by_id=actor, made_date=today - timedelta(days=3),
                    status=ReferralStatus.accepted))
    db.add(Referral(person_id=b.id, organisation_id=legal.id, made_by_id=actor, status=ReferralStatus.draft))
    db.commit()

    computed = _compute(db, _params(today), today)
    assert computed.people == 8
    assert _counts(computed, "people_seen") == {"People seen": (8,)}
    modes = _counts(computed, "visits_by_mode")
    assert modes["In person"] == (8,) and modes["By phone"] == (1,) and modes["By video"] == (0,)
    risks = _counts(computed, "risk_indicators")
    assert risks["Victim of torture"] == (1,)  # the outsider's indicator is not counted
    assert risks["Victim of trafficking or modern slavery"] == (1,)
    assert risks[summaries.SELF_HARM] == (1,)
    assert risks[summaries.SUICIDAL] == (2,)  # a high-risk visit, and a Rule 35(2) report
    rule35 = _counts(computed, "rule35")
    assert rule35["Rule 35(3): torture concern"] == (1, 0, 0, 1)
    assert rule35["Rule 35(2): suspected suicidal intentions"] == (0, 1, 0, 0)
    bands = _counts(computed, "length_of_detention")
    assert bands["29 days to under 2 months"] == (6,) and bands["6 to 12 months"] == (2,)
    assert bands[summaries.NO_DETENTION] == (0,)
    outcomes = _counts(computed, "outcomes")
    assert outcomes[summaries.STILL_DETAINED] == (8,)
    referrals = _counts(computed, "referrals")
    assert referrals["Legal advice"][1] == 1 and sum(sum(r) for r in referrals.values()) == 1
    assert sum(computed.detention_days.values()) == 8


def test_lengths_are_measured_to_the_end_of_the_period_and_outcomes_read_from_the_end(db, research_people, today):
    released = research_people(2, detained_days=20)
    research_people(1, detained_days=None)
    for person in released:
        episode = db.scalars(select(summaries.DetentionEpisode)
                             .where(summaries.DetentionEpisode.person_id == person.id)).one()
        episode.end_date = today - timedelta(days=5)
        episode.end_reason = EndReason.bailed
    db.commit()
    computed = _compute(db, _params(today), today)
    outcomes = _counts(computed, "outcomes")
    assert outcomes["Granted bail by the Tribunal"] == (2,)
    assert outcomes[summaries.NO_DETENTION] == (1,)
    assert computed.detention_days == Counter({15: 2})


def test_weighted_median():
    assert summaries.weighted_median(Counter()) is None
    assert summaries.weighted_median(Counter({3: 1})) == 3
    assert summaries.weighted_median(Counter({1: 1, 10: 1})) == 5.5
    assert summaries.weighted_median(Counter({1: 2, 7: 1})) == 1
    values = [4, 4, 9, 12, 30, 30, 30]
    assert summaries.weighted_median(Counter(values)) == 12


def test_population_ids_round_trip_and_fingerprint_is_order_free():
    ids = [3, 17, 4000000, 12]
    assert summaries.unpack_ids(summaries.pack_ids(sorted(ids))) == frozenset(ids)
    assert summaries.fingerprint(sorted(ids)) != summaries.fingerprint(sorted(ids[:-1]))
