"""The sections of the person page that other domains contribute, listed here in the order the page shows them.

A section's build function runs a fixed number of queries for one person, whatever their record holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.auth.models import User
from app.casefile.closing import case_section
from app.casefile.erasure import legal_hold_section
from app.consent.views import consent_section
from app.detention.hearings import hearing_section
from app.detention.removals import removal_section
from app.evidence.service import evidence_section, rule35_section
from app.health_events.views import health_events_section
from app.intake.views import requests_section
from app.medicolegal.letter_views import letters_section
from app.medicolegal.views import reports_section
from app.people.models import Person
from app.referrals.views import referrals_section
from app.reports.narrative_views import narratives_section
from app.visits.planned_views import planned_section
from app.visits.views import visits_section
from app.work.notes import notes_section
from app.work.tasks import tasks_section

Builder = Callable[[Session, User, Person], dict[str, Any]]


@dataclass(frozen=True)
class Section:
    key: str
    template: str
    build: Builder


SECTIONS = (
    Section("case", "casefile/_case_section.html", case_section),
    Section("requests", "intake/_person_section.html", requests_section),
    Section("tasks", "work/_tasks_section.html", tasks_section),
    Section("notes", "work/_notes_section.html", notes_section),
    Section("removals", "detention/_removal_section.html", removal_section),
    Section("hearings", "detention/_hearing_section.html", hearing_section),
    Section("legal_hold", "casefile/_legal_hold_section.html", legal_hold_section),
    Section("planned_visits", "visits/planned_section.html", planned_section),
    Section("visits", "visits/_section.html", visits_section),
    Section("evidence", "evidence/_section.html", evidence_section),
    Section("reports", "medicolegal/_report_section.html", reports_section),
    Section("rule35", "evidence/_rule35_section.html", rule35_section),
    Section("health_events", "health_events/_section.html", health_events_section),
    Section("referrals", "referrals/_section.html", referrals_section),
    Section("consent", "consent/_section.html", consent_section),
    Section("narratives", "reports/_person_section.html", narratives_section),
    Section("letters", "medicolegal/letter_section.html", letters_section),
)


def build_all(db: Session, user: User, person: Person) -> list[tuple[Section, dict[str, Any]]]:
    return [(section, section.build(db, user, person)) for section in SECTIONS]
