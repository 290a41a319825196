"""has_current_consent and current_consents: the dates on which a consent stands."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth.models import Role
from app.consent import service
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from tests.referrals.helpers import organisation

SHARE = ConsentPurpose.share_with_organisation
RESEARCH = ConsentPurpose.anonymised_research


@pytest.fixture
def person_and_user(db, make_user, make_person):  # type: ignore[no-untyped-def]
    user = make_user(Role.coordinator)
    person = make_person("Consent", "Boundary")
    db.rollback()
    return person, user


def add(db, person, user, purpose, given, withdrawn=None, organisation_id=None) -> Consent:  # type: ignore[no-untyped-def]
    consent = Consent(person_id=person.id, purpose=purpose, organisation_id=organisation_id, given_date=given,
                      method=ConsentMethod.written, recorded_by_id=user.id, withdrawn_date=withdrawn,
                      withdrawal_recorded_by_id=user.id if withdrawn else None)
    db.add(consent)
    db.commit()
    return consent


def test_consent_given_today_is_current_today_but_not_yesterday(db, person_and_user, today):
    person, user = person_and_user
    add(db, person, user, RESEARCH, given=today)
    assert service.has_current_consent(db, person.id, RESEARCH, on=today)
    assert not service.has_current_consent(db, person.id, RESEARCH, on=today - timedelta(days=1))
    assert service.has_current_consent(db, person.id, RESEARCH, on=today + timedelta(days=30))


def test_consent_withdrawn_today_is_not_current_today_but_was_yesterday(db, person_and_user, today):
    person, user = person_and_user
    add(db, person, user, RESEARCH, given=today - timedelta(days=10), withdrawn=today)
    assert not service.has_current_consent(db, person.id, RESEARCH, on=today)
    assert service.has_current_consent(db, person.id, RESEARCH, on=today - timedelta(days=1))
    assert service.has_current_consent(db, person.id, RESEARCH, on=today - timedelta(days=10))
    assert not service.has_current_consent(db, person.id, RESEARCH, on=today - timedelta(days=11))


def test_consent_withdrawn_tomorrow_is_still_current_today(db, person_and_user, today):
    person, user = person_and_user
    add(db, person, user, RESEARCH, given=today - timedelta(days=3), withdrawn=today + timedelta(days=1))
    assert service.has_current_consent(db, person.id, RESEARCH, on=today)
    assert not service.has_current_consent(db, person.id, RESEARCH, on=today + timedelta(days=1))


def test_consent_given_and_withdrawn_on_the_same_day_never_stands(db, person_and_user, today):
    person, user = person_and_user
    add(db, person, user, RESEARCH, given=today, withdrawn=today)
    assert not service.has_current_consent(db, person.id, RESEARCH, on=today)


def test_sharing_consent_is_for_one_organisation_and_one_purpose(db, person_and_user, today):
    person, user = person_and_user
    hbf = organisation(db, "Helen Bamber Foundation")
    fft = organisation(db, "Freedom from Torture")
    add(db, person, user, SHARE, given=today, organisation_id=hbf.id)
    assert service.has_current_consent(db, person.id, SHARE, organisation_id=hbf.id, on=today)
    assert not service.has_current_consent(db, person.id, SHARE, organisation_id=fft.id, on=today)
    assert not service.has_current_consent(db, person.id, RESEARCH, on=today)
    assert not service.has_current_consent(db, person.id, ConsentPurpose.care_record, on=today)


def test_another_persons_consent_does_not_count(db, person_and_user, make_person, today):
    person, user = person_and_user
    other = make_person("Other", "Consenter")
    db.rollback()
    add(db, other, user, RESEARCH, given=today)
    assert not service.has_current_consent(db, person.id, RESEARCH, on=today)
    assert service.has_current_consent(db, other.id, RESEARCH, on=today)


def test_organisation_is_required_for_sharing_and_refused_for_other_purposes(db, person_and_user, today):
    person, _ = person_and_user
    with pytest.raises(ValueError, match="organisation_id"):
        service.has_current_consent(db, person.id, SHARE, on=today)
    with pytest.raises(ValueError, match="organisation_id"):
        service.has_current_consent(db, person.id, RESEARCH, organisation_id=1, on=today)


def test_current_consents_lists_only_those_standing_on_the_day(db, person_and_user, today):
    person, user = person_and_user
    hbf = organisation(db, "Helen Bamber Foundation")
    standing = add(db, person, user, ConsentPurpose.care_record, given=today - timedelta(days=5))
    withdrawn = add(db, person, user, RESEARCH, given=today - timedelta(days=5), withdrawn=today)
    later = add(db, person, user, SHARE, given=today, organisation_id=hbf.id)
    assert [c.id for c in service.current_consents(db, person.id, today)] == [standing.id, later.id]
    assert [c.id for c in service.current_consents(db, person.id, today - timedelta(days=1))] == [
        standing.id, withdrawn.id]
