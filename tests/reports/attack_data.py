"""The synthetic population the release attacks are run against: consenting, obviously fictional people with
detention episodes, signed visits, Rule 35 reports, health events, referrals and Adults at Risk levels, built
straight into the database and the same on every run."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.detention.models import DetentionEpisode, EndReason, Facility, Placement
from app.evidence.models import Rule35Limb, Rule35Outcome, Rule35Record
from app.health_events.models import HealthEvent, HealthEventKind
from app.people.models import AarIndicator, Identity, Person, PersonAarIndicator, PersonStatus
from app.referrals.models import Organisation, Referral, ReferralStatus
from app.visits.models import RiskLevel, Visit, VisitAarIndicator, VisitMode, VisitStatus

# Where the main population was held: each person's own removal centre, with how many people it holds.
HOME_CENTRES = {"Brook House": 20, "Tinsley House": 12, "Colnbrook": 20, "Harmondsworth": 18, "Derwentside": 8,
                "Dungavel": 5, "Yarl's Wood": 3, "Swinderby": 4}
# Some of them were also seen at a short-term holding facility or a prison during the same detention.
ALSO_SEEN_AT = {"Larne House": 4, "Manchester/Pennine House STHF": 8, "HM Prison (immigration detainee)": 2}
SMALL_REGION = "East Midlands"  # Swinderby's region: four people only
MONTH_GROUP = 24  # people seen in one month two years ago, and at no other time
TINY_GROUP = 6  # people seen in another month two years ago, and at no other time

_END_REASONS = ([EndReason.removed] * 25 + [EndReason.released_temporary_admission] * 30 + [EndReason.bailed] * 20
                + [EndReason.granted_leave] * 8 + [EndReason.transferred_to_prison] * 5 + [EndReason.hospital] * 3
                + [EndReason.other] * 4)
_PERSON_INDICATORS = {AarIndicator.torture: 0.35, AarIndicator.trafficking: 0.12, AarIndicator.ptsd: 0.25,
                      AarIndicator.mental_health: 0.3, AarIndicator.sexual_gbv: 0.1, AarIndicator.pregnancy: 0.02,
                      AarIndicator.physical_disability: 0.04, AarIndicator.physical_illness: 0.1,
                      AarIndicator.transsexual_intersex: 0.02}
_HEALTH_EVENTS = {HealthEventKind.self_harm: 0.15, HealthEventKind.acdt_opened: 0.15,
                  HealthEventKind.food_refusal: 0.08, HealthEventKind.fluid_refusal: 0.02,
                  HealthEventKind.segregation: 0.08, HealthEventKind.use_of_force: 0.06,
                  HealthEventKind.hospital_transfer: 0.04, HealthEventKind.missed_appointment: 0.1}
_RISKS = [RiskLevel.none] * 50 + [RiskLevel.low] * 25 + [RiskLevel.moderate] * 15 + [RiskLevel.high] * 10
_LIMBS = ([Rule35Limb.torture] * 60 + [Rule35Limb.health_injuriously_affected] * 25
          + [Rule35Limb.suicidal_intentions] * 15)
_RULE35_OUTCOMES: list[Rule35Outcome | None] = (
    [Rule35Outcome.released] * 30 + [Rule35Outcome.detention_maintained] * 40 + [Rule35Outcome.no_response] * 10
    + [None] * 20)
_REFERRAL_STATUSES = [s for s in ReferralStatus if s is not ReferralStatus.draft]


@dataclass(frozen=True)
class AttackPopulation:
    """What the scenarios need to know about the population they attack (nothing a reader could not know)."""

    year: int  # the main population was seen in this calendar year
    month_group_month: date  # the first day of the month the 24-person group was seen in (two years ago)
    tiny_group_month: date  # the first day of the month the 6-person group was seen in (two years ago)
    people: int  # everyone built, all consenting


class _Builder:
    """Adds one person's record at a time; every random choice comes from one seeded generator."""

    def __init__(self, db: Session, today: date) -> None:
        self.db = db
        self.rng = random.Random(15)  # noqa: S311  (synthetic test data, not security)
        self.serial = 0
        actor = db.scalars(select(User).where(User.role == Role.admin)).first()
        if actor is None:
            actor = User(email="attack-fixture@example.org", display_name="Fixture Admin", role=Role.admin,
                         password_hash="x")
            db.add(actor)
            db.flush()
        self.actor: User = actor
        self.facility = {name: id_ for name, id_ in db.execute(select(Facility.name, Facility.id))}
        self.organisations = list(db.scalars(select(Organisation.id).order_by(Organisation.id)))
        self.today = today

    def day_in(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def person(self, *, start: date, end: date | None, reason: EndReason | None, centre: str) -> Person:
        self.serial += 1
        person = Person(reference=f"A{self.serial:03d}-TEST", status=PersonStatus.detained if end is None
                        else PersonStatus.released, opened_date=start - timedelta(days=3),
                        aar_level=self.rng.choice([1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, None, None, None, None,
                                                   None, None]))
        self.db.add(person)
        self.db.flush()
        self.db.add(Identity(person_id=person.id, given_names=f"Fictiva {self.serial}", family_name="Testperson"))
        self.db.add(Consent(person_id=person.id, purpose=ConsentPurpose.anonymised_research,
                            given_date=start - timedelta(days=2), method=ConsentMethod.written,
                            recorded_by_id=self.actor.id))
        episode = DetentionEpisode(person_id=person.id, start_date=start, end_date=end, end_reason=reason)
        self.db.add(episode)
        self.db.flush()
        self.db.add(Placement(episode_id=episode.id, facility_id=self.facility[centre], date_in=start))
        for indicator, chance in _PERSON_INDICATORS.items():
            if self.rng.random() < chance:
                self.db.add(PersonAarIndicator(person_id=person.id, indicator=indicator))
        return person

    def visit(self, person: Person, on: date, facility: str | None, mode: VisitMode = VisitMode.in_person) -> None:
        visit = Visit(person_id=person.id, clinician_id=self.actor.id, visit_date=on,
                      facility_id=self.facility[facility] if facility else None, mode=mode,
                      risk=self.rng.choice(_RISKS), status=VisitStatus.signed, signed_at=datetime.now(UTC),
                      signed_by_id=self.actor.id)
        self.db.add(visit)
        if self.rng.random() < 0.15:
            self.db.flush()
            self.db.add(VisitAarIndicator(visit_id=visit.id, indicator=self.rng.choice(
                [AarIndicator.torture, AarIndicator.ptsd, AarIndicator.trafficking, AarIndicator.mental_health])))

    def events(self, person: Person, first: date, last: date, *, self_harm: bool = True) -> None:
        """Rule 35 reports, health events (self-harm only when asked) and referrals dated between first and last."""
        if self.rng.random() < 0.35:
            written = self.day_in(first, last)
            outcome = self.rng.choice(_RULE35_OUTCOMES)
            sent = written + timedelta(days=1)
            responded = sent + timedelta(days=self.rng.randint(2, 14)) if outcome in (
                Rule35Outcome.released, Rule35Outcome.detention_maintained) else None
            self.db.add(Rule35Record(person_id=person.id, limb=self.rng.choice(_LIMBS), written_date=written,
                                     sent_date=sent, consent_to_send=True, response_date=responded, outcome=outcome,
                                     created_by_id=self.actor.id))
        for kind, chance in _HEALTH_EVENTS.items():
            if self.rng.random() < chance and (self_harm or kind is not HealthEventKind.self_harm):
                self.health_event(person, kind, self.day_in(first, last))
        for _ in range(self.rng.choice([0, 0, 1, 1, 2])):
            made = self.day_in(first, last)
            status = self.rng.choice(_REFERRAL_STATUSES)
            answered = status in (ReferralStatus.accepted, ReferralStatus.declined, ReferralStatus.completed)
            self.db.add(Referral(person_id=person.id, organisation_id=self.rng.choice(self.organisations),
                                 made_by_id=self.actor.id, made_date=made, status=status,
                                 response_date=made + timedelta(days=5) if answered else None))

    def health_event(self, person: Person, kind: HealthEventKind, on: date) -> None:
        self.db.add(HealthEvent(person_id=person.id, kind=kind, started_at=datetime.combine(on, time(12), UTC),
                                recorded_by_id=self.actor.id))


def _main_population(b: _Builder, year: int) -> int:
    """People seen in `year`, each at their own removal centre at least once; some also elsewhere or by phone."""
    jan1, dec31 = date(year, 1, 1), date(year, 12, 31)
    centres = [name for name, n in HOME_CENTRES.items() for _ in range(n)]
    b.rng.shuffle(centres)
    also: list[str | None] = [name for name, n in ALSO_SEEN_AT.items() for _ in range(n)]
    also += [None] * (len(centres) - len(also))
    b.rng.shuffle(also)
    for centre, elsewhere in zip(centres, also, strict=True):
        start = jan1 + timedelta(days=b.rng.randint(-200, 320))
        end: date | None = None
        reason = None
        if b.rng.random() < 0.65:
            end = max(start + timedelta(days=b.rng.randint(10, 200)), jan1 + timedelta(days=20))
            reason = b.rng.choice(_END_REASONS)
        person = b.person(start=start, end=end, reason=reason, centre=centre)
        first, last = max(start, jan1), min(end or dec31, dec31)
        b.visit(person, b.day_in(first, last), centre)
        for _ in range(b.rng.choice([0, 0, 1, 1, 2, 3])):
            roll = b.rng.random()
            if roll < 0.8:
                b.visit(person, b.day_in(first, last), centre)
            elif roll < 0.9:
                b.visit(person, b.day_in(first, last), centre, VisitMode.legal_visit_room)
            else:
                b.visit(person, b.day_in(first, last), None, b.rng.choice([VisitMode.phone, VisitMode.video]))
        if elsewhere is not None:
            b.visit(person, b.day_in(first, last), elsewhere)
        b.events(person, first, last)
    return len(centres)


def _month_group(b: _Builder, first: date, n: int, *, one_day_more: bool) -> None:
    """n people seen only in the month starting `first`. With one_day_more, half of them self-harmed in the month
    and ten were removed in it, and the day after the month brings one more self-harm event (for someone who had
    none) and one more removal, and nothing else."""
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    day_after = last + timedelta(days=1)
    centres = [name for name, count in HOME_CENTRES.items() for _ in range(count)]
    for i in range(n):
        centre = centres[b.rng.randrange(len(centres))]
        start = first - timedelta(days=b.rng.randint(5, 90))
        seen_until = last
        if one_day_more and i < 10:
            end, reason = first + timedelta(days=b.rng.randint(15, 30)), EndReason.removed
            seen_until = end
        elif one_day_more and i == 10:
            end, reason = day_after, EndReason.removed
        else:
            end, reason = last + timedelta(days=b.rng.randint(40, 90)), b.rng.choice(_END_REASONS)
        person = b.person(start=start, end=end, reason=reason, centre=centre)
        for _ in range(b.rng.choice([1, 1, 2])):
            b.visit(person, b.day_in(first, seen_until), centre)
        b.events(person, first, seen_until, self_harm=not one_day_more)
        if one_day_more and i % 2 == 0:
            b.health_event(person, HealthEventKind.self_harm, b.day_in(first, seen_until))
        if one_day_more and i == 11:
            b.health_event(person, HealthEventKind.self_harm, day_after)


def build_population(db: Session, today: date) -> AttackPopulation:
    """Everything the scenarios attack, committed. Deterministic: the same records on every run."""
    db.rollback()
    b = _Builder(db, today)
    year = today.year - 1
    people = _main_population(b, year)
    month_group = date(year - 1, 8, 1)
    _month_group(b, month_group, MONTH_GROUP, one_day_more=True)
    tiny_group = date(year - 1, 12, 1)
    _month_group(b, tiny_group, TINY_GROUP, one_day_more=False)
    db.commit()
    return AttackPopulation(year=year, month_group_month=month_group, tiny_group_month=tiny_group,
                            people=people + MONTH_GROUP + TINY_GROUP)
