"""Sections of the person page contributed by other domains (visits, evidence, referrals ...).

Each domain registers a section when its views module is imported; the person page renders them in order.
A section's build function runs a fixed number of queries for one person, whatever their record holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.auth.models import User
from app.people.models import Person

Builder = Callable[[Session, User, Person], dict[str, Any]]


@dataclass(frozen=True)
class Section:
    key: str
    order: int
    template: str
    build: Builder


SECTIONS: dict[str, Section] = {}


def register(key: str, *, order: int, template: str, build: Builder) -> None:
    SECTIONS[key] = Section(key, order, template, build)


def build_all(db: Session, user: User, person: Person) -> list[tuple[Section, dict[str, Any]]]:
    return [(section, section.build(db, user, person))
            for section in sorted(SECTIONS.values(), key=lambda s: s.order)]
