"""The fields a spreadsheet column can be mapped to, guessing them from headings, and reading one row's cells
into the values the record takes, with a plain message for every cell that cannot be read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import pycountry

from app.consent.models import ConsentMethod, ConsentPurpose
from app.consent.schemas import INTERPRETED_METHODS, METHOD_LABELS, PURPOSE_LABELS
from app.dates import format_date
from app.detention.models import END_REASON_LABELS, EndReason
from app.people.models import BirthPrecision, Sex

# field name -> (label on the mapping page, the words a heading for it usually holds)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "given_names": ("Given names", ("given", "first name", "forename", "first names")),
    "family_name": ("Family name", ("family", "surname", "last name")),
    "birth": ("Date or year of birth", ("birth", "dob", "d.o.b", "born", "age")),
    "sex": ("Sex", ("sex", "gender")),
    "nationality": ("Nationality", ("nationality", "country", "citizenship")),
    "languages": ("Languages", ("language",)),
    "home_office_reference": ("Home Office reference", ("home office", "ho ref", "ho reference", "hoc")),
    "detention_start": ("Date detained", ("detained", "detention start", "date in", "start date")),
    "facility": ("Facility (by name)", ("facility", "centre", "center", "irc", "where held")),
    "detention_end": ("Date the detention ended", ("released", "release", "detention end", "date out", "end date")),
    "end_reason": ("Why the detention ended", ("reason", "outcome", "release reason", "why released")),
    "visit_date": ("Date of a past visit", ("visit date", "visited", "last visit")),
    "visit_note": ("Notes of that visit", ("visit note", "notes", "note", "comments")),
    "referral_organisation": ("Referred to (organisation)", ("referred", "referral")),
    "referral_reason": ("Reason for the referral", ("referral reason", "why referred")),
    "consent_purpose": ("Consent given for", ("consent",)),
    "consent_date": ("Date consent was given", ("consent date", "consented")),
    "consent_method": ("How consent was given", ("consent method", "how consent")),
}
FIELD_LABELS = {name: label for name, (label, _) in FIELDS.items()}
NAME_FIELDS = ("given_names", "family_name")
# How a row's message names a field, where its label reads badly in a sentence.
MESSAGE_NAMES = {"birth": "date of birth", "visit_note": "the visit's notes"}

# Words that say a year of birth is an estimate: "approx. 1990", "c. 1990", "about 1990", "1990?".
APPROXIMATE = re.compile(r"^(?:approx\.?|approximately|about|around|circa|ca\.?|c\.|est\.?|estimated|~)\s*"
                         r"(\d{4})$|^(\d{4})\s*(?:\?|\(approx\.?\)|\(est\.?\)|approx\.?)$", re.IGNORECASE)
YEAR = re.compile(r"^(\d{4})$")
NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$")
WORD_FORMATS = ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%d %B, %Y", "%B %d, %Y", "%b %d, %Y")
EARLIEST_YEAR = 1900


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[_\-:]+", " ", text.lower()).split())


def guess(heading: str, taken: set[str]) -> str:
    """The field a heading most likely names ("" for none): the longest matching words win, so that
    "Visit date" is the visit's date rather than any date, and each field is guessed once only."""
    text = _normal(heading)
    best, best_length = "", 0
    for name, (label, words) in FIELDS.items():
        if name in taken:
            continue
        for word in (*words, label.lower()):
            if word in text and len(word) > best_length:
                best, best_length = name, len(word)
    return best


def guesses(headings: list[str]) -> list[str]:
    taken: set[str] = set()
    chosen = []
    for heading in headings:
        name = guess(heading, taken)
        if name:
            taken.add(name)
        chosen.append(name)
    return chosen


# --- reading cells -------------------------------------------------------------------------------------

class CellError(ValueError):
    """A cell that cannot be read; the message names the value and says what is expected."""


def parse_date(text: str) -> date:
    """An exact date as spreadsheets hold them: ISO (1990-04-03), UK day-first numbers (03/04/1990 is 3 April,
    never 4 March) or words (3 April 1990)."""
    text = " ".join(text.split())
    if match := ISO_DATE.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := NUMERIC_DATE.match(text):
        day, month, year = (int(part) for part in match.groups())
    else:
        cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text, flags=re.IGNORECASE)
        for fmt in WORD_FORMATS:
            try:
                return datetime.strptime(cleaned, fmt).date()  # noqa: DTZ007 (a calendar date, no time or zone)
            except ValueError:
                continue
        raise CellError(f"{text} is not a date: write it as 3 April 1990, 03/04/1990 (day first) or 1990-04-03")
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(f"{text} is not a date") from None


def parse_birth(text: str, today: date) -> tuple[BirthPrecision, date | None, int | None]:
    """A date or year of birth: the precision, and the date or the year."""
    text = " ".join(text.split())
    if match := APPROXIMATE.match(text):
        year = int(match.group(1) or match.group(2))
        precision, day = BirthPrecision.approximate, None
    elif match := YEAR.match(text):
        year = int(match.group(1))
        precision, day = BirthPrecision.year, None
    else:
        day = parse_date(text)
        year, precision = day.year, BirthPrecision.exact
    if not EARLIEST_YEAR <= year <= today.year or (day is not None and day > today):
        raise CellError(f"{text} is not a date of birth in the past (after {EARLIEST_YEAR})")
    return precision, day, None if day is not None else year


SEX_WORDS = {"f": Sex.female, "female": Sex.female, "woman": Sex.female, "w": Sex.female,
             "m": Sex.male, "male": Sex.male, "man": Sex.male, "intersex": Sex.intersex,
             "not recorded": Sex.not_recorded, "unknown": Sex.not_recorded, "not known": Sex.not_recorded}


def parse_sex(text: str) -> Sex:
    found = SEX_WORDS.get(text.strip().lower())
    if found is None:
        raise CellError(f"{text} is not a sex this record holds: use female, male, intersex or leave it empty")
    return found


def parse_nationality(text: str) -> str:
    """An ISO 3166 alpha-2 code from a country's name, official name or its two- or three-letter code."""
    try:
        country = pycountry.countries.lookup(text.strip())
    except LookupError:
        raise CellError(f"{text} is not a country: write the country's name (Eritrea) or its code "
                        "(ER or ERI)") from None
    return str(country.alpha_2)


def _by_label(text: str, labels: dict[str, str], what: str) -> str:
    wanted = _normal(text)
    for code, label in labels.items():
        if wanted in (_normal(code), _normal(label)):
            return code
    raise CellError(f"{text} is not one of the {what}: use one of " + ", ".join(labels.values()))


def parse_end_reason(text: str) -> EndReason:
    return EndReason(_by_label(text, {r.value: label for r, label in END_REASON_LABELS.items()},
                               "reasons a detention ends"))


def parse_purpose(text: str) -> ConsentPurpose:
    return ConsentPurpose(_by_label(text, {p.value: label for p, label in PURPOSE_LABELS.items()},
                                    "purposes of a consent"))


def parse_method(text: str) -> ConsentMethod:
    return ConsentMethod(_by_label(text, {m.value: label for m, label in METHOD_LABELS.items()},
                                   "ways consent is given"))


# --- one row ---------------------------------------------------------------------------------------------

@dataclass
class Row:
    """One spreadsheet row read into record values. `number` is the row as the spreadsheet numbers it
    (the heading row is 1); `errors` are full sentences about this row."""

    number: int
    given_names: str = ""
    family_name: str = ""
    birth_precision: BirthPrecision = BirthPrecision.unknown
    birth_date: date | None = None
    birth_year: int | None = None
    sex: Sex = Sex.not_recorded
    nationality: str | None = None
    languages: str | None = None
    home_office_reference: str | None = None
    detention_start: date | None = None
    facility: str | None = None
    facility_id: int | None = None
    detention_end: date | None = None
    end_reason: EndReason | None = None
    visit_date: date | None = None
    visit_note: str | None = None
    referral_organisation: str | None = None
    referral_organisation_id: int | None = None
    referral_reason: str | None = None
    consent_purpose: ConsentPurpose | None = None
    consent_date: date | None = None
    consent_method: ConsentMethod | None = None
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors.append(f"Row {self.number}: {message}.")

    @property
    def birth_year_known(self) -> int | None:
        return self.birth_date.year if self.birth_date else self.birth_year


TEXT_LIMITS = {"given_names": 200, "family_name": 200, "home_office_reference": 40, "languages": 400,
               "facility": 120, "referral_organisation": 160, "referral_reason": 4000, "visit_note": 4000}
DATE_FIELDS = ("detention_start", "detention_end", "visit_date", "consent_date")


def read_row(number: int, cells: list[str], mapping: list[str], today: date) -> Row:
    """The row's values by the mapping (one field per column, "" for a column left out). Each cell that
    cannot be read adds an error and leaves its field empty; rules across fields come after."""
    row = Row(number)
    for text, name in zip(cells, mapping, strict=False):
        text = text.strip()
        if not name or not text:
            continue
        label = MESSAGE_NAMES.get(name, FIELD_LABELS[name].lower())
        try:
            if name in TEXT_LIMITS:
                if len(text) > TEXT_LIMITS[name]:
                    raise CellError(f"is longer than {TEXT_LIMITS[name]} characters")
                setattr(row, name, text)
            elif name == "birth":
                row.birth_precision, row.birth_date, row.birth_year = parse_birth(text, today)
            elif name in DATE_FIELDS:
                setattr(row, name, parse_date(text))
            elif name == "sex":
                row.sex = parse_sex(text)
            elif name == "nationality":
                row.nationality = parse_nationality(text)
            elif name == "end_reason":
                row.end_reason = parse_end_reason(text)
            elif name == "consent_purpose":
                row.consent_purpose = parse_purpose(text)
            elif name == "consent_method":
                row.consent_method = parse_method(text)
        except CellError as problem:
            row.error(f"{label} {problem}")
    _across_fields(row, today)
    return row


def _across_fields(row: Row, today: date) -> None:
    if not (row.given_names or row.family_name):
        row.error("there is no name: every person needs at least one name")
    for name in DATE_FIELDS:
        value = getattr(row, name)
        if value is not None and value > today:
            row.error(f"{FIELD_LABELS[name].lower()} {format_date(value)} is in the future")
    if row.detention_start is None and (row.facility or row.detention_end or row.end_reason):
        row.error("the detention has no date detained")
    if row.detention_start is not None and not row.facility:
        row.error("the detention has no facility")
    if row.detention_end is not None and row.detention_start is not None and row.detention_end < row.detention_start:
        row.error("the detention ends before it starts")
    if row.detention_end is not None and row.end_reason is None:
        row.error("the detention has an end date but no reason it ended")
    if row.end_reason is not None and row.detention_end is None:
        row.error("the detention has a reason it ended but no end date")
    if bool(row.visit_date) != bool(row.visit_note):
        row.error("a past visit needs both its date and its notes")
    if row.referral_reason and not row.referral_organisation:
        row.error("the referral has a reason but no organisation")
    consent = (row.consent_purpose, row.consent_date, row.consent_method)
    if any(consent) and not all(consent):
        row.error("a consent needs what it is for, the date it was given and how it was given")
    if row.consent_method in INTERPRETED_METHODS:
        row.error("the consent was given with an interpreter, whose language a spreadsheet does not hold: import "
                  "it without the consent columns and record the consent on the person's page")
    if row.consent_purpose is ConsentPurpose.share_with_organisation and not row.referral_organisation:
        row.error("a consent to share needs the organisation it is shared with (the referral's organisation)")
