"""Forms for creating and editing a person (identity and case facts) and for assigning clinicians."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.errors import RuleBroken
from app.people.models import AarIndicator, AarLevelSource, BirthPrecision, PersonStatus, Sex
from app.web.params import FormId, FormInt, VersionToken

# What the person page and the form call where an Adults at Risk level came from.
AAR_SOURCE_LABELS = {"self_declared": "Self-declared", "professional_evidence": "Professional evidence",
                     "home_office": "Home Office decision"}


@lru_cache
def nationality_choices() -> list[tuple[str, str]]:
    names = []
    for country in pycountry.countries:
        name = getattr(country, "common_name", None) or country.name
        names.append((country.alpha_2, name))
    return sorted(names, key=lambda pair: pair[1])


def nationality_name(code: str | None) -> str:
    if not code:
        return ""
    return dict(nationality_choices()).get(code, code)


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class PersonForm(BaseModel):
    """What a coordinator types about a person. Identity fields end up in the identity table."""

    model_config = ConfigDict(extra="forbid")

    given_names: str = Field(title="Given names", min_length=1, max_length=200)
    family_name: str = Field(title="Family name", min_length=1, max_length=200)
    aliases: str | None = Field(default=None, title="Other names and spellings", max_length=4000)
    home_office_reference: str | None = Field(default=None, title="Home Office reference", max_length=40)
    port_reference: str | None = Field(default=None, title="Port reference", max_length=40)
    cid_number: str | None = Field(default=None, title="CID number", max_length=40)
    other_numbers: str | None = Field(default=None, title="Other numbers", max_length=2000)
    phone_in_detention: str | None = Field(default=None, title="Phone in detention", max_length=40)
    legal_representative_id: FormId | None = Field(default=None, title="Legal representative")
    status: PersonStatus = Field(default=PersonStatus.unknown, title="Status")
    sex: Sex = Field(default=Sex.not_recorded, title="Sex")
    gender_identity: str | None = Field(default=None, title="Gender identity", max_length=60)
    nationality: str | None = Field(default=None, title="Nationality", max_length=2)
    stateless: bool = Field(default=False, title="Stateless")
    languages: str | None = Field(default=None, title="Languages", max_length=400)
    interpreter_needed: bool = Field(default=False, title="Interpreter needed")
    birth_precision: BirthPrecision = Field(default=BirthPrecision.unknown, title="How well the age is known")
    birth_date: date | None = Field(default=None, title="Date of birth")
    birth_year: FormInt | None = Field(default=None, title="Year of birth")
    aar_indicators: list[AarIndicator] = Field(default_factory=list, title="Adults at Risk indicators")
    aar_level: FormInt | None = Field(default=None, title="Adults at Risk level")
    aar_level_date: date | None = Field(default=None, title="Date of the AAR level")
    aar_level_source: AarLevelSource | None = Field(default=None, title="Source of the AAR level")
    # Edit forms carry the version they were loaded at; the new-person form answers the duplicate warning.
    version: VersionToken = Field(default=None, title="Version")
    confirm_new: bool = Field(default=False, title="Confirmation that this is a different person")

    @field_validator("nationality")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.upper()
        if value not in dict(nationality_choices()):
            raise ValueError("Choose nationality from the list.")
        return value

    @field_validator("aar_level")
    @classmethod
    def _level(cls, value: int | None) -> int | None:
        if value is not None and value not in (1, 2, 3):
            raise ValueError("Choose Adults at Risk level 1, 2 or 3.")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PersonForm:
        today = date.today()  # noqa: DTZ011 - a bound only; views re-check against the organisation's today
        problems: dict[str, str] = {}
        if self.birth_date and self.birth_date > today:
            problems["birth_date"] = "Date of birth must be in the past."
        if self.birth_year is not None and not 1900 <= self.birth_year <= today.year:
            problems["birth_year"] = f"Year of birth must be between 1900 and {today.year}."
        if self.birth_precision is BirthPrecision.exact and self.birth_date is None:
            problems["birth_date"] = "Enter the date of birth, or choose a less exact option."
        if self.birth_precision in (BirthPrecision.year, BirthPrecision.approximate, BirthPrecision.disputed) and (
                self.birth_year is None and self.birth_date is None):
            problems["birth_year"] = "Enter the year of birth (an estimate is fine if it says so)."
        if self.birth_date and self.birth_year is not None and self.birth_date.year != self.birth_year:
            problems["birth_year"] = "Year of birth does not match the date of birth."
        if self.aar_level_date and self.aar_level_date > today:
            problems["aar_level_date"] = "The date of the AAR level cannot be in the future."
        if (self.aar_level_date or self.aar_level_source) and self.aar_level is None:
            problems["aar_level"] = "Choose the Adults at Risk level, or clear its date and source."
        if self.stateless and self.nationality:
            problems["stateless"] = "A stateless person has no nationality: clear one of them."
        if problems:
            raise RuleBroken(problems)
        return self

    @property
    def alias_list(self) -> list[str]:
        seen: dict[str, None] = {}
        for name in _lines(self.aliases):
            seen.setdefault(name[:400], None)
        return list(seen)

    @property
    def language_list(self) -> list[str]:
        seen: dict[str, None] = {}
        for part in (self.languages or "").split(","):
            if part.strip():
                seen.setdefault(part.strip()[:60], None)
        return list(seen)


class AssignForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clinician_id: FormId = Field(title="Clinician")


# A reason someone reviewing the access later can judge: a sentence, not "urgent" or "x".
EMERGENCY_REASON_MIN_CHARS = 20
EMERGENCY_REASON_MIN_WORDS = 4


class EmergencyAccessForm(BaseModel):
    """A clinician opening a person not assigned to them in an emergency."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(title="Reason for emergency access", max_length=2000)
    next: str | None = Field(default=None, max_length=300)

    @field_validator("reason")
    @classmethod
    def _a_real_sentence(cls, value: str) -> str:
        text = " ".join(value.split())
        # Words of two letters or more, not all the same: "x x x x" or "test test test test" is not a reason.
        words = [w.lower() for w in text.split(" ") if sum(c.isalpha() for c in w) >= 2]
        if (len(text) < EMERGENCY_REASON_MIN_CHARS or len(words) < EMERGENCY_REASON_MIN_WORDS
                or len(set(words)) < 3):
            raise ValueError(
                f"Describe the emergency in a sentence of at least {EMERGENCY_REASON_MIN_WORDS} words and "
                f"{EMERGENCY_REASON_MIN_CHARS} characters, for example why this person's record is needed now.")
        return text


class EmergencyReviewForm(BaseModel):
    """A coordinator or administrator marking an emergency access reviewed."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, title="Review note", max_length=1000)
