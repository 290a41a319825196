"""The iCalendar file (.ics) of a planned visit. Like a reminder e-mail it leaves the tracker, so it carries the
case reference and the centre only: never a name, the notes, the interpreter's details or anything clinical."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from app.visits.models import PlannedVisit, PlannedVisitStatus

PRODUCT = "-//Casework tracker//Planned visits//EN"


def summary(reference: str, facility: str) -> str:
    return f"Visit: case {reference} at {facility}"


def uid(planned: PlannedVisit, base_url: str) -> str:
    """The same for every download of one planned visit, so a calendar updates the event rather than adding one."""
    host = urlsplit(base_url).hostname or "casework-tracker"
    return f"planned-visit-{planned.id}@{host}"


def filename(reference: str, planned: PlannedVisit) -> str:
    return f"visit-{reference}-{planned.id}.ics"


def calendar_file(planned: PlannedVisit, *, reference: str, facility: str, base_url: str,
                  now: datetime | None = None) -> bytes:
    link = f"{base_url}/people/{reference}/planned-visits/{planned.id}"
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid(planned, base_url))
    event.add("dtstamp", (now or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", planned.starts_at.astimezone(UTC))
    event.add("dtend", (planned.starts_at + timedelta(minutes=planned.duration_minutes)).astimezone(UTC))
    event.add("summary", summary(reference, facility))
    event.add("location", facility)
    event.add("description", f"Planned visit for case {reference}. The details are in the casework tracker.")
    event.add("url", link)
    # Each saved change moves the version on: calendars take the higher sequence as the newer event.
    event.add("sequence", planned.version - 1)
    event.add("status", "CANCELLED" if planned.status is PlannedVisitStatus.cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()
