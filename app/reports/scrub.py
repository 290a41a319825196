"""Scrubbing free text of one person's identifiers, and of generic identifier patterns, before any release."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import jellyfish


@dataclass(frozen=True)
class Identifiers:
    """Everything known about one person that must not survive in released text."""

    names: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    birth_dates: tuple[date, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Replacement:
    """One span of the original text and what took its place, with the reason in plain words."""

    start: int
    end: int
    original: str
    replacement: str
    reason: str


@dataclass(frozen=True)
class Scrubbed:
    """The scrubbed text and every replacement made, in order, so a preview can show each one."""

    text: str
    replacements: tuple[Replacement, ...]

    def segments(self) -> list[tuple[str, Replacement | None]]:
        """The scrubbed text as pieces: plain text with None, or a replacement's text with the replacement."""
        pieces: list[tuple[str, Replacement | None]] = []
        cursor = 0
        shift = 0  # how far the scrubbed text has moved from the original so far
        for item in self.replacements:
            at = item.start + shift
            if at > cursor:
                pieces.append((self.text[cursor:at], None))
            pieces.append((item.replacement, item))
            cursor = at + len(item.replacement)
            shift += len(item.replacement) - (item.end - item.start)
        if cursor < len(self.text):
            pieces.append((self.text[cursor:], None))
        return pieces


@dataclass(frozen=True)
class _Kind:
    reason: str
    label: str | None  # None: the release pseudonym
    rank: int  # the lower rank wins between equally long overlapping matches


_NAME = _Kind("name", None, 0)
_REFERENCE = _Kind("reference", "[reference]", 1)
_BIRTH_DATE = _Kind("date of birth", "[date of birth]", 2)
_PHONE = _Kind("phone number", "[phone]", 3)
_EMAIL = _Kind("e-mail address", "[e-mail]", 4)
_ADDRESS = _Kind("address", "[address]", 5)
_EXTRA = _Kind("coordinator's redaction", "[redacted]", 6)
_HOME_OFFICE = _Kind("Home Office reference", "[reference]", 7)
_POSTCODE = _Kind("postcode", "[postcode]", 8)
_NUMBER = _Kind("reference", "[reference]", 9)  # a long number of no recognised kind: anything else names it better

_Found = tuple[int, int, _Kind]


# --- Folding: the same word typed with or without accents, case, strokes or joiners folds to the same letters.

# Letters NFKD leaves whole although writers often type them without their stroke, and Arabic letters
# written interchangeably at the end of words or in Persian-style spelling.
_LETTER_FOLDS: dict[str, str] = {
    "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "ŧ": "t", "æ": "ae", "œ": "oe", "þ": "th",
    "ى": "ي", "ی": "ي", "ة": "ه", "ک": "ك", "ڪ": "ك",
}


def _ethiopic_folds() -> dict[str, str]:
    # Ge'ez has rows of homophone letters (ሀ ሐ ኀ; ሰ ሠ; አ ዐ; ጸ ፀ) and, for the glottal and h rows, first and
    # fourth orders that Amharic pronounces alike: a name's spelling varies between them from one paper to the next.
    folds: dict[str, str] = {}
    rows = {0x1210: 0x1200, 0x1280: 0x1200, 0x1220: 0x1230, 0x12D0: 0x12A0, 0x1340: 0x1338}
    for source, target in rows.items():
        for order in range(8):
            a, b = chr(source + order), chr(target + order)
            if unicodedata.name(a, "") and unicodedata.name(b, ""):
                folds[a] = b
    for row in (0x1200, 0x12A0):
        folds[chr(row + 3)] = chr(row)
    for key, value in list(folds.items()):
        folds[key] = folds.get(value, value)
    return folds


_FOLDS = str.maketrans(_LETTER_FOLDS | _ethiopic_folds())
_TATWEEL = "\u0640"  # Arabic elongation stroke: typography, not a letter


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    if ch == _TATWEEL or unicodedata.category(ch) == "Cf":
        return ""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", ch).casefold())
    # Digits of every script read as ASCII digits: a date or number may be written "١٩٩٠" or "१९९०".
    return "".join(str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c
                   for c in decomposed if unicodedata.category(c) not in ("Mn", "Me")).translate(_FOLDS)


def _is_word(c: str) -> bool:
    category = unicodedata.category(c)
    return category[0] in "LN" or category == "Mc"


# Scripts written without spaces between words: a name there is found as a substring.
_UNSPACED = ((0x0E00, 0x0EFF), (0x0F00, 0x0FFF), (0x1000, 0x109F), (0x1100, 0x11FF), (0x1780, 0x17FF),
             (0x3040, 0x30FF), (0x3130, 0x318F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA960, 0xA97F),
             (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF))
# Scripts that attach prepositions and conjunctions to the front of the next word ("ويوسف", "ንኣማኑኤል").
_CLITIC = ((0x0590, 0x05FF), (0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB1D, 0xFDFF),
           (0xFE70, 0xFEFF), (0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F))


def _in(c: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(c)
    return any(low <= code <= high for low, high in ranges)


def _class(c: str) -> str:
    if _in(c, _UNSPACED):
        return "unspaced"
    return "digit" if c.isdigit() else "letter"


class _Folded:
    """The text folded for matching, with each folded character mapped back to its span in the original.

    `text` keeps one space for every run of punctuation and spacing; `compact` drops them altogether, so
    "O'Neill", "O Neill" and "ONeill" all read "oneill", and `boundary[p]` says whether a word could begin or
    end at compact position p.
    """

    def __init__(self, original: str) -> None:
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for i, ch in enumerate(original):
            folded = _fold_char(ch)
            if not folded:
                # A stray accent or joiner belongs to the letter before it, so a replacement takes it too.
                if ends:
                    ends[-1] = i + 1
                continue
            for c in folded:
                if _is_word(c):
                    chars.append(c)
                    starts.append(i)
                    ends.append(i + 1)
                elif chars and chars[-1] == " ":
                    ends[-1] = i + 1
                else:
                    chars.append(" ")
                    starts.append(i)
                    ends.append(i + 1)
        self.text = "".join(chars)
        self._starts = starts
        self._ends = ends
        self._where = [k for k, c in enumerate(chars) if c != " "]
        self.compact = "".join(chars[k] for k in self._where)
        size = len(self.compact)
        # gap[p]: spacing or punctuation stood between compact[p - 1] and compact[p] (or p is an end).
        self.gap = [True] * (size + 1)
        self.boundary = [True] * (size + 1)
        for p in range(1, size):
            before, after = self.compact[p - 1], self.compact[p]
            kind = _class(before)
            self.gap[p] = self._where[p] - self._where[p - 1] > 1
            self.boundary[p] = self.gap[p] or kind != _class(after) or kind == "unspaced"

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of folded text[start:end]."""
        return self._starts[start], self._ends[end - 1]

    def compact_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of compact[start:end]."""
        return self._starts[self._where[start]], self._ends[self._where[end - 1]]

    def _after_clitic(self, at: int, term: str) -> bool:
        """Whether compact[at:] starts mid-word behind a short attached prefix ("و" + "يوسف"), not a word's tail."""
        word_start = at
        while not self.boundary[word_start]:
            word_start -= 1
        if at - word_start > 3:
            return False
        # The match must carry on in the same word for a while: "قال حداد" holds "الحداد" only across a space.
        return not any(self.gap[p] for p in range(at + 1, at + min(3, len(term))))

    def find(self, term: str, *, whole_start: bool = True, whole_end: bool = True,
             to_word_end: bool = False) -> Iterator[tuple[int, int]]:
        """Original spans where the compact term occurs, as whole words unless told otherwise."""
        if not term:
            return
        clitic = whole_start and _in(term[0], _CLITIC)
        at = self.compact.find(term)
        while at != -1:
            end = at + len(term)
            starts = not whole_start or self.boundary[at] or (clitic and self._after_clitic(at, term))
            if starts and (to_word_end or not whole_end or self.boundary[end]):
                if to_word_end:
                    while not self.boundary[end]:
                        end += 1
                yield self.compact_span(at, end)
            at = self.compact.find(term, at + 1)


def _compact(text: str) -> str:
    return _Folded(text).compact


def _words(text: str) -> list[str]:
    return [word for word in _Folded(text).text.split(" ") if word]


# --- Names: whole names, every part of two letters or more, parts joined as they are written, near spellings.

def _name_terms(names: Iterable[str]) -> set[str]:
    terms: set[str] = set()
    for name in names:
        terms.add(_compact(name))
        for token in name.split():
            parts = _words(token)
            # "O'Neill-Pérez" is also written "ONeill", "Neill Perez" or "O Neill": every run of its parts counts.
            for i in range(len(parts)):
                for j in range(i + 1, len(parts) + 1):
                    terms.add("".join(parts[i:j]))
    for term in list(terms):
        # The Arabic article is often dropped or written apart: الحداد, حداد.
        if term.startswith("ال") and len(term) >= 4:
            terms.add(term[2:])
    return {term for term in terms if len(term) >= 2}


def _near_spellings(folded: _Folded, terms: set[str]) -> Iterator[tuple[int, int]]:
    """Words one letter off a name part of five letters or more (two off from nine): typed names drift."""
    parts = [t for t in terms if len(t) >= 5 and t.isalpha() and _class(t[0]) == "letter"]
    if not parts:
        return
    for word in re.finditer(r"[^ ]+", folded.text):
        text = word.group()
        if len(text) < 5 or not text.isalpha():
            continue
        for part in parts:
            if text[0] != part[0] or abs(len(text) - len(part)) > 2 or text == part:
                continue
            if jellyfish.damerau_levenshtein_distance(text, part) <= (1 if len(part) < 9 else 2):
                yield folded.span(word.start(), word.end())
                break


_NAME_GAP = re.compile(r"[\s,'’‘\-‐‑]+")
_INITIAL = re.compile(r"[^\W\d_]\.?")


def _joins_names(gap: str) -> bool:
    """Whether two name matches are one written name: only spacing, hyphens, commas or initials between them."""
    if "\n" in gap or len(gap) > 8:
        return False
    return all(not token or (_INITIAL.fullmatch(token) and _class(token[0]) == "letter")
               for token in _NAME_GAP.split(gap))


# --- Dates of birth.

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_ORDINAL = r"(?:st|nd|rd|th)?"


def _month_names(month: int) -> str:
    full = _MONTHS[month - 1]
    names = {full, full[:3]} | ({"sept"} if month == 9 else set())
    return "(?:" + "|".join(sorted(names, key=len, reverse=True)) + ")"


_ANY_MONTH = "(?:" + "|".join(_month_names(m) for m in range(1, 13)) + ")"


def _birth_date_regex(born: date) -> re.Pattern[str]:
    """Every common way of writing this date, over folded text (punctuation already one space, lower case)."""
    day, month, year = rf"0?{born.day}", rf"0?{born.month}", rf"(?:{born.year}|{born.year % 100:02d})"
    name = _month_names(born.month)
    forms = (
        rf"{day} {month} {year}", rf"{month} {day} {year}", rf"{born.year} {month} {day}",
        f"{born.year}{born.month:02d}{born.day:02d}", f"{born.day:02d}{born.month:02d}{born.year}",
        f"{born.month:02d}{born.day:02d}{born.year}", f"{born.day:02d}{born.month:02d}{born.year % 100:02d}",
        rf"{day}{_ORDINAL} ?(?:of ?)?{name} ?{year}", rf"{name} ?{day}{_ORDINAL} ?{year}",
        rf"{born.year} ?{name} ?{day}{_ORDINAL}",
        # A birthday without its year still narrows the person down; with another year it is another date.
        rf"{day}{_ORDINAL} ?(?:of ?)?{name}(?! ?\d)", rf"{name} ?{day}{_ORDINAL}(?! ?\d)",
    )
    return re.compile(rf"(?<!\w)(?:{'|'.join(forms)})(?!\w)")


# Any date written after words that say it is a birth date, whether or not it is the recorded one.
_ANY_DATE = (rf"\d{{1,2}} \d{{1,2}} \d{{2,4}}|\d{{4}} \d{{1,2}} \d{{1,2}}|\d{{8}}|\d{{6}}"
             rf"|\d{{1,2}}{_ORDINAL} ?(?:of ?)?{_ANY_MONTH}(?: ?\d{{2,4}})?"
             rf"|{_ANY_MONTH} ?\d{{1,2}}{_ORDINAL}(?: ?\d{{2,4}})?"
             rf"|\d{{4}}")
_BIRTH_CONTEXT = re.compile(
    rf"(?<!\w)(?:dob|d o b|date of birth|birth ?date|birthday|born)(?: (?:is|was|on|of|in))* ?({_ANY_DATE})(?!\w)")


# --- Phone numbers.

def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in text if c.isdigit())


# Separators between digits: a few punctuation marks mixed with spaces (people pad "+44 -  (0)7700...").
_DIGIT_RUN = re.compile(r"\d(?:[ \t\u00a0()\-./]{0,8}\d)*")


def _known_phones(original: str, phones: Iterable[str]) -> Iterator[tuple[int, int]]:
    """Known numbers found digit by digit, whatever the spacing, brackets or +44/0 prefix they are written with."""
    cores: list[tuple[str, int]] = []
    for phone in phones:
        digits = _digits(phone)
        # Only the last nine digits survive every written form: +44, 0044, (0), a trunk 0 or a country code.
        core = digits[-9:]
        if len(core) >= 6:
            cores.append((core, len(digits) - len(core) + 3))
    if not cores:
        return
    for run in _DIGIT_RUN.finditer(original):
        positions = [run.start() + k for k, c in enumerate(run.group()) if c.isdigit()]
        digits = _digits(run.group())
        for core, prefix in cores:
            at = digits.find(core)
            while at != -1:
                first = at
                # Take the country code or trunk 0 written before it, but not a neighbouring number.
                while first > 0 and at - first < prefix:
                    gap = original[positions[first - 1] + 1:positions[first]]
                    if len(gap.replace(" ", "")) > 3 or "." in gap or "/" in gap:
                        break
                    first -= 1
                start, end = positions[first], positions[at + len(core) - 1] + 1
                while start > 0 and original[start - 1] in "+(":
                    start -= 1
                if end < len(original) and original[end] == ")" and "(" in original[start:end]:
                    end += 1
                yield start, end
                at = digits.find(core, at + 1)


# --- Generic patterns: identifiers of this person or anyone else that need no list to be recognised.

_EMAIL_RE = re.compile(r"[\w.+'%-]+@[\w-]+(?:\.[\w-]+)+")
# UK numbers (0..., +44...) and international ones (+..., 00...), 9 to 15 digits, spaced or bracketed.
_PHONE_RE = re.compile(r"(?<![\w+])(?:\+ ?\d|\(\+?\d|0)(?:[ \t\u00a0()\-]{0,3}\d){8,14}(?!\d)")
_DASHED_DATE = re.compile(r"\d{1,2}-\d{1,2}-\d{4}")
_POSTCODE_RE = re.compile(
    r"(?<!\w)(?:GIR ?0AA|[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPSTUW]|[A-HK-Y]\d[ABEHMNPRV-Y])"
    r"[ \t\u00a0]?\d[ABD-HJLNP-UW-Z]{2})(?!\w)", re.IGNORECASE)
_HOME_OFFICE_RE = re.compile(r"(?<!\w)[A-Za-z]\d{6,8}(?:/\d{1,3})?(?!\w)")
_HOME_OFFICE_GROUPS = re.compile(r"(?<![\w-])\d{4}(?:[- ]?\d{4}){3}(?![\w-])")
_CASE_REFERENCE_RE = re.compile(r"(?<![\w-])[A-Za-z0-9]{4}-[A-Za-z0-9]{4}(?![\w-])")
_NHS_NUMBER = re.compile(r"(?<![\w+])\d{3} \d{3} \d{4}(?!\w)")
_LONG_NUMBER = re.compile(r"(?<!\w)\d{9,}(?!\w)")


def _generic(original: str) -> Iterator[_Found]:
    for match in _EMAIL_RE.finditer(original):
        yield match.start(), match.end(), _EMAIL
    for pattern in (_HOME_OFFICE_RE, _HOME_OFFICE_GROUPS):
        for match in pattern.finditer(original):
            yield match.start(), match.end(), _HOME_OFFICE
    for match in _CASE_REFERENCE_RE.finditer(original):
        text = match.group()
        # In lower case only a digit tells a reference ("k7q2-m9xd") from a word pair ("self-harm"); and our
        # references never hold 0 or 1, so digits alone with them are ranges such as "2019-2021".
        if text.replace("-", "").isdigit():
            if "0" not in text and "1" not in text:
                yield match.start(), match.end(), _REFERENCE
        elif text.isupper() or any(c.isdigit() for c in text):
            yield match.start(), match.end(), _REFERENCE
    for match in _POSTCODE_RE.finditer(original):
        yield match.start(), match.end(), _POSTCODE
    for match in _PHONE_RE.finditer(original):
        date_first = _DASHED_DATE.match(match.group())
        if date_first and len(_digits(match.group()[date_first.end():])) < 9:
            continue  # a date and a time, "01-02-2023 10:30", not a phone number
        yield match.start(), match.end(), _PHONE
    for pattern in (_NHS_NUMBER, _LONG_NUMBER):
        for match in pattern.finditer(original):
            yield match.start(), match.end(), _NUMBER


# --- Known identifiers.

def _known(original: str, folded: _Folded, ids: Identifiers) -> Iterator[_Found]:
    names = _name_terms(ids.names)
    for term in names:
        for start, end in folded.find(term):
            yield start, end, _NAME
    for start, end in _near_spellings(folded, names):
        yield start, end, _NAME

    for reference in ids.references:
        terms = {_compact(reference)}
        if "/" in reference:
            terms.add(_compact(reference.rsplit("/", 1)[0]))  # "B1234567/2" is also quoted as "B1234567"
        for term in terms:
            if len(term) < 2:
                continue
            # A long reference is unmistakable even run into other text ("refK7Q2M9XD"); a short one stands alone.
            loose = len(term) >= 5
            for start, end in folded.find(term, whole_start=not loose, whole_end=not loose):
                yield start, end, _REFERENCE

    for born in ids.birth_dates:
        for match in _birth_date_regex(born).finditer(folded.text):
            yield *folded.span(*match.span()), _BIRTH_DATE
    for match in _BIRTH_CONTEXT.finditer(folded.text):
        yield *folded.span(*match.span(1)), _BIRTH_DATE

    for start, end in _known_phones(original, ids.phones):
        yield start, end, _PHONE
    for phone in ids.phones:
        term = _compact(phone)
        if len(term) >= 6:
            for start, end in folded.find(term, whole_start=False, whole_end=False):
                yield start, end, _PHONE

    for email in ids.emails:
        for start, end in folded.find(_compact(email), whole_start=False, whole_end=False):
            yield start, end, _EMAIL
        local = _compact(email.split("@", 1)[0])
        # A local part that starts with a name ("amanuel.t") is left to the name matching, which reads it as a name.
        if len(local) >= 3 and not any(local.startswith(name) for name in names if len(name) >= 3):
            for start, end in folded.find(local):
                yield start, end, _EMAIL

    for address in ids.addresses:
        for start, end in folded.find(_compact(address), whole_start=False, whole_end=False):
            yield start, end, _ADDRESS
        for line in re.split(r"[,;\n]", address):
            term = _compact(line)
            if len(term) >= 3:
                for start, end in folded.find(term):
                    yield start, end, _ADDRESS

    for extra in ids.extra:
        term = _compact(extra)
        if len(term) >= 2:
            # A coordinator redacting "Tigray" means "Tigrayan" too.
            for start, end in folded.find(term, to_word_end=len(term) >= 4):
                yield start, end, _EXTRA


def _resolve(original: str, found: Iterable[_Found]) -> list[_Found]:
    """Overlapping matches become one (the longest names it), and a name written in parts becomes one name."""
    merged: list[_Found] = []
    longest = 0
    for start, end, kind in sorted(found, key=lambda f: (f[0], f[0] - f[1], f[2].rank)):
        if end <= start:
            continue
        if merged and start < merged[-1][1]:
            first, last, named = merged[-1]
            if (end - start, -kind.rank) > (longest, -named.rank):
                named, longest = kind, end - start
            merged[-1] = (first, max(last, end), named)
        else:
            merged.append((start, end, kind))
            longest = end - start
    joined: list[_Found] = []
    for start, end, kind in merged:
        if joined and kind is _NAME and joined[-1][2] is _NAME and _joins_names(original[joined[-1][1]:start]):
            joined[-1] = (joined[-1][0], end, _NAME)
        else:
            joined.append((start, end, kind))
    for i, (start, end, kind) in enumerate(joined):
        if kind is _NAME:
            floor = joined[i - 1][1] if i else 0
            ceiling = joined[i + 1][0] if i + 1 < len(joined) else len(original)
            joined[i] = (*_with_initials(original, start, end, floor, ceiling), kind)
    return joined


def _initial_at(original: str, i: int) -> bool:
    """Whether original[i:i + 2] is an initial such as "T." standing alone."""
    return (i >= 0 and i + 1 < len(original) and original[i].isupper() and original[i + 1] == "."
            and (i == 0 or not original[i - 1].isalnum())
            and (i + 2 == len(original) or not original[i + 2].isalnum()))


def _with_initials(original: str, start: int, end: int, floor: int, ceiling: int) -> tuple[int, int]:
    """A name's initials written beside it ("J. M. O'Neill", "Amanuel T.") identify as much as the name."""
    while True:
        at = start
        while at > floor and original[at - 1] in " \t":
            at -= 1
        if at - 2 < floor or not _initial_at(original, at - 2):
            break
        start = at - 2
    while True:
        at = end
        while at < ceiling and original[at] in " \t":
            at += 1
        if at + 2 > ceiling or not _initial_at(original, at):
            break
        end = at + 2
    return start, end


def scrub(text: str, ids: Identifiers, *, pseudonym: str) -> Scrubbed:
    """Replace every known identifier of the person and every generic identifier pattern in text."""
    folded = _Folded(text)
    found = list(_known(text, folded, ids)) + list(_generic(text))
    pieces: list[str] = []
    replacements: list[Replacement] = []
    cursor = 0
    for start, end, kind in _resolve(text, found):
        label = kind.label if kind.label is not None else pseudonym
        replacements.append(Replacement(start=start, end=end, original=text[start:end], replacement=label,
                                        reason=kind.reason))
        pieces.append(text[cursor:start])
        pieces.append(label)
        cursor = end
    pieces.append(text[cursor:])
    return Scrubbed(text="".join(pieces), replacements=tuple(replacements))
