"""The audit catalogue: every event's detail keys are checked, and none collide with the record's own fields."""

from __future__ import annotations

import inspect

import pytest

from app.audit import catalogue
from app.audit import service as audit

pytestmark = pytest.mark.no_database


def test_detail_keys_never_shadow_the_audit_record_parameters():
    reserved = set(inspect.signature(audit.record).parameters) - {"details"}
    for action, keys in catalogue.CATALOGUE.items():
        assert not keys & reserved, action


def test_unknown_events_and_missing_details_are_refused():
    with pytest.raises(catalogue.UnknownAuditEvent, match="not in the audit catalogue"):
        catalogue.check("person.teleported", {})
    with pytest.raises(catalogue.UnknownAuditEvent, match="missing"):
        catalogue.check("person.changed", {})
    catalogue.check("person.changed", {"fields": ["nationality"]})
