"""Scrubbing free text of one person's identifiers, and of generic identifier patterns, before any release."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import jellyfish
from confusable_homoglyphs import categories
from confusable_homoglyphs.confusables import confusables_data

from app.reports.name_variants import sounds_like, variants


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
    # Every other date of the record (placements, visits, evidence, health events, referrals...), and each period
    # of detention as its first and last day (today for one still open): any date inside one is exact.
    record_dates: tuple[date, ...] = ()
    detention: tuple[tuple[date, date], ...] = ()
    # The person's exact ages over the record, and the band an exact age of theirs is replaced by.
    ages: tuple[int, ...] = ()
    age_band: str = ""
    # Names of the country, its people and its languages, when the facts line names only a world region; the
    # country's own regions are matched only when written with a capital (several are ordinary words).
    origins: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Replacement:
    """One span of the original text and what took its place, with the reason in plain words."""

    start: int
    end: int
    original: str
    replacement: str
    reason: str


@dataclass(frozen=True)
class Uncertain:
    """A span of the original text left in place that a person should read again, and why."""

    start: int
    end: int
    text: str
    reason: str


@dataclass(frozen=True)
class Scrubbed:
    """The scrubbed text, every replacement made, in order, so a preview can show each one, and the words left in
    place that may still identify the person."""

    text: str
    replacements: tuple[Replacement, ...]
    uncertain: tuple[Uncertain, ...] = ()

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
_LINK = _Kind("name in a link or handle", "[link]", 10)
_ORIGIN = _Kind("nationality", "[nationality]", 12)
_LANGUAGE = _Kind("language", "[language]", 13)
_PLACE = _Kind("place from an address", "[place]", 14)
_BIRTH_YEAR = _Kind("year of birth", "[year]", 15)
_AGE_RANK, _DATE_RANK = 11, 16  # their labels depend on what was found

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

# Scripts whose letters are written in place of Latin ones that look the same ("Аmina" with a Cyrillic А).
# Arabic, Hebrew, Ethiopic and the rest are left alone: Unicode lists some of their letters as look-alikes of
# Latin ones too (ا for l, ه for o), but nobody reads them so, and names written in them must stay whole.
_LOOKALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC", "LISU", "LATIN"})


def _lookalikes() -> dict[str, str]:
    """Letters of other scripts that Unicode's confusables data (confusable_homoglyphs) lists as a Latin letter."""
    folds: dict[str, str] = {}
    for ch, homoglyphs in confusables_data.items():
        if len(ch) != 1 or ch.isascii() or not unicodedata.category(ch).startswith("L"):
            continue
        if categories.alias(ch) not in _LOOKALIKE_SCRIPTS:
            continue
        latin = next((h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"].isascii() and h["c"].isalpha()),
                     None)
        if latin is not None:
            folds[ch] = latin.lower()
    return folds


_LOOKALIKES = _lookalikes()


def _lookalike(ch: str) -> str | None:
    """The Latin letter ch stands for, the same for its capital and small forms (both are written in its place)."""
    small = ch.casefold()
    if len(small) != 1:
        return None
    return _LOOKALIKES.get(small) or _LOOKALIKES.get(small.upper())


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    if ch == _TATWEEL or unicodedata.category(ch) == "Cf":
        return ""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", ch).casefold())
    # Digits of every script read as ASCII digits: a date or number may be written "١٩٩٠" or "१९९०".
    return "".join(str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else (_lookalike(c) or c)
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

# Also written without a dot in the domain ("name@gmail"), or with the at and dots spelled out for a form that
# refuses addresses ("amina.o [at] example [dot] org").
_EMAIL_RE = re.compile(r"[\w.+'%-]+(?:@| ?[\[({] ?at ?[\])}] ?)[\w-]+(?:(?:\.| ?[\[({] ?dot ?[\])}] ?)[\w-]+)*")
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


# --- Name parts run together, respelled, or inside links and handles.

def _name_pieces(terms: set[str]) -> set[str]:
    """Every recorded name part and its other spellings from the variants table, folded."""
    pieces = {term for term in terms if " " not in term}
    for term in list(pieces):
        pieces.update(variants(term))
    return {piece for piece in pieces if len(piece) >= 2}


def _runs_together(word: str, pieces: set[str]) -> bool:
    """Whether a word is only name parts run together, with digits and at most one initial ("aminaokafor88",
    "zawadiamina", "aokafor"): the shapes of user names and handles."""
    size = len(word)
    # best[i]: the fewest initials needed to read word[:i], and whether a name part of three letters or more
    # is among the parts read; None where word[:i] cannot be read at all.
    best: list[tuple[int, int, bool] | None] = [None] * (size + 1)
    best[0] = (0, 0, False)
    for i in range(size):
        state = best[i]
        if state is None:
            continue
        initials, parts, long_part = state
        steps: list[tuple[int, int, int, bool]] = []
        if word[i].isdigit():
            j = i
            while j < size and word[j].isdigit():
                j += 1
            steps.append((j, 0, 0, False))
        else:
            steps.extend((i + n, 0, 1, n >= 3) for n in range(2, size - i + 1) if word[i:i + n] in pieces)
            steps.append((i + 1, 1, 0, False))
        for j, initial, part, long_ in steps:
            candidate = (initials + initial, parts + part, long_part or long_)
            current = best[j]
            if candidate[0] <= 1 and (current is None or (candidate[0], -candidate[1]) < (current[0], -current[1])
                                      or (candidate[2] and not current[2])):
                best[j] = candidate
    final = best[size]
    return final is not None and final[2] and final[1] + final[0] >= 2


_CAMEL = re.compile(r"[^\W\d_](?:[^\W\d_A-Z]|(?<=[A-Z])[A-Z](?![a-z]))*")
_WORD = re.compile(r"[^\W_]+")


def _camel_parts(word: str) -> list[str]:
    """"AminaOkafor" as "Amina" and "Okafor"; "AMINAOkafor" as "AMINA" and "Okafor"."""
    return _CAMEL.findall(word)


def _name_words(original: str, folded: _Folded, terms: set[str]) -> Iterator[tuple[int, int]]:
    """Words that are name parts run together or camel-cased, or that sound like a recorded name part."""
    pieces = _name_pieces(terms)
    spoken = [p for p in pieces if len(p) >= 4 and p.isascii() and p.isalpha()]
    for match in _WORD.finditer(original):
        word = match.group()
        key = _compact(word)
        if len(key) < 4 or key in pieces or any(_in(c, _CLITIC) or _in(c, _UNSPACED) for c in key):
            continue  # prefixed and unspaced scripts are searched within words already
        if _runs_together(key, pieces):
            yield match.span()
            continue
        camel = [_compact(part) for part in _camel_parts(word)]
        if len(camel) > 1 and any(len(part) >= 3 and part in pieces for part in camel):
            yield match.span()
            continue
        if key.isalpha() and any(sounds_like(key, part) for part in spoken):
            yield match.span()


def _variant_terms(terms: set[str]) -> set[str]:
    """The variants table's other spellings of each name part, matched as whole words like the parts."""
    found: set[str] = set()
    for term in terms:
        if " " not in term:
            found.update(variants(term))
    return found - terms


_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+|(?<![\w@.])[\w-]+(?:\.[\w-]+)+/[^\s<>\"')\]]*", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@.])@[\w.]{2,}\w")


def _links(original: str, terms: set[str]) -> tuple[list[_Found], list[Uncertain]]:
    """Links and social-media handles: replaced whole when they hold a name part, otherwise left to be checked."""
    pieces = [p for p in _name_pieces(terms) if len(p) >= 3]
    found: list[_Found] = []
    unsure: list[Uncertain] = []
    for pattern, what in ((_URL, "a link"), (_HANDLE, "a handle")):
        for match in pattern.finditer(original):
            key = _compact(match.group())
            if any(piece in key for piece in pieces):
                found.append((match.start(), match.end(), _LINK))
            else:
                unsure.append(Uncertain(match.start(), match.end(), match.group(),
                                        f"{what}: check that it does not lead to the person"))
    return found, unsure


# --- Dates of the record, and any date inside a detention.

_UNITS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_TEENS = ("tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
          "eighteenth", "nineteenth")


def _ordinal_words() -> dict[str, int]:
    words = {word: n for n, word in enumerate(_UNITS, 1)} | {word: n for n, word in enumerate(_TEENS, 10)}
    words |= {"twentieth": 20, "thirtieth": 30}
    for tens, name in ((20, "twenty"), (30, "thirty")):
        for n, unit in enumerate(_UNITS, 1):
            if tens + n <= 31:
                words[f"{name} {unit}"] = words[f"{name}{unit}"] = tens + n
    return words


_ORDINALS = _ordinal_words()
_DAY = (r"(?:(?P<d>\d{1,2})(?:st|nd|rd|th)?|(?P<w>"
        + "|".join(sorted(map(re.escape, _ORDINALS), key=len, reverse=True)) + "))")
_MONTH = "(?P<m>" + _ANY_MONTH + ")"
_YEAR = r"(?P<y>\d{4})"
_NAMED_DATES = (
    re.compile(rf"(?<!\w)(?:the )?{_DAY}(?: of)? ?{_MONTH}(?: (?:of )?{_YEAR})?(?!\w)"),
    re.compile(rf"(?<!\w){_MONTH}(?: the)? ?{_DAY}(?: (?:of )?{_YEAR})?(?!\w)"),
)
_NUMERIC_DATE = re.compile(r"(?<![\w])(?P<a>\d{1,2}) (?P<b>\d{1,2}) (?P<y>\d{4}|\d{2})(?!\w)")
_ISO_DATE = re.compile(r"(?<![\w])(?P<y>\d{4}) (?P<m>\d{1,2}) (?P<d>\d{1,2})(?!\w)")
_COMPACT_DATE = re.compile(r"(?<!\w)\d{8}(?!\w)")
_SHORT_DATE = re.compile(r"(?<![\w/.])(\d{1,2})/(\d{1,2})(?![\w/]|\.\d)")


def _month_number(name: str) -> int:
    return next(m for m in range(1, 13) if re.fullmatch(_month_names(m), name))


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


class _Dates:
    """What a day of the record, or a day inside a detention, becomes in the text."""

    def __init__(self, ids: Identifiers) -> None:
        self.births = set(ids.birth_dates)
        self.record = set(ids.record_dates)
        self.periods = sorted(ids.detention)
        years = {d.year for d in self.record} | {y for first, last in self.periods
                                                 for y in range(first.year, last.year + 1)}
        self.years = sorted(years)

    def __bool__(self) -> bool:
        return bool(self.record or self.periods or self.births)

    def _kind(self, day: date) -> _Kind | None:
        if day in self.births:
            return _BIRTH_DATE
        for first, last in self.periods:
            if first <= day <= last:
                return _Kind("date in detention", f"[day {(day - first).days + 1} of detention]", _DATE_RANK)
        if day in self.record:
            return _Kind("date of the record", f"[{day.strftime('%B %Y')}]", _DATE_RANK)
        return None

    def kind(self, day: int, month: int, year: int | None, *, two_digit: bool = False) -> _Kind | None:
        """The replacement for a written date, or None if it is no day of the record nor inside a detention."""
        if year is None:
            candidates = [self._kind(d) for y in self.years if (d := _make_date(y, month, day))]
            candidates += [_BIRTH_DATE for born in self.births if (born.month, born.day) == (month, day)]
            kinds = {k for k in candidates if k is not None}
            if not kinds:
                return None
            if len(kinds) == 1:
                return kinds.pop()
            return _Kind("date in detention or of the record", "[date]", _DATE_RANK)
        years = [year]
        if two_digit:
            years = [2000 + year, 1900 + year]
        for y in years:
            written = _make_date(y, month, day)
            if written is not None and (found := self._kind(written)) is not None:
                return found
        return None


def _dates(original: str, folded: _Folded, ids: Identifiers) -> Iterator[_Found]:
    dates = _Dates(ids)
    if not dates:
        return
    text = folded.text
    for pattern in _NAMED_DATES:
        for match in pattern.finditer(text):
            day = int(match.group("d")) if match.group("d") else _ORDINALS[match.group("w")]
            year = int(match.group("y")) if match.group("y") else None
            kind = dates.kind(day, _month_number(match.group("m")), year)
            if kind is not None:
                yield *folded.span(*match.span()), kind
    for match in _NUMERIC_DATE.finditer(text):
        a, b, written = int(match.group("a")), int(match.group("b")), match.group("y")
        for day, month in ((a, b), (b, a)):
            kind = dates.kind(day, month, int(written), two_digit=len(written) == 2)
            if kind is not None:
                yield *folded.span(*match.span()), kind
                break
    for match in _ISO_DATE.finditer(text):
        kind = dates.kind(int(match.group("d")), int(match.group("m")), int(match.group("y")))
        if kind is not None:
            yield *folded.span(*match.span()), kind
    for match in _COMPACT_DATE.finditer(text):
        digits = match.group()
        for y_, m_, d_ in ((digits[:4], digits[4:6], digits[6:]), (digits[4:], digits[2:4], digits[:2])):
            kind = dates.kind(int(d_), int(m_), int(y_))
            if kind is not None:
                yield *folded.span(*match.span()), kind
                break
    for match in _SHORT_DATE.finditer(original):
        a, b = int(match.group(1)), int(match.group(2))
        for day, month in ((a, b), (b, a)):
            if 1 <= month <= 12 and (kind := dates.kind(day, month, None)) is not None:
                yield match.start(), match.end(), kind
                break
    for born in ids.birth_dates:
        for match in re.finditer(rf"(?<![\w/.\-]){born.year}(?![\w/\-]|\.\d)", original):
            yield match.start(), match.end(), _BIRTH_YEAR


# --- Exact ages.

_NUMBER_WORDS = {word: n for n, word in enumerate(
    ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
     "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"), 1)}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_AGE_NUMBER = (r"(?P<n>\d{1,3}|(?:" + "|".join(_TENS) + r")(?: ?(?:" + "|".join(list(_NUMBER_WORDS)[:9]) + r"))?|"
           + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")")
_AGES = (
    re.compile(rf"(?<!\w){_AGE_NUMBER} ?(?:years?|yrs?|y) ?(?:old|o)(?!\w)"),
    re.compile(rf"(?<!\w){_AGE_NUMBER} ?(?:years?|yrs?) of age(?!\w)"),
    re.compile(rf"(?<!\w)(?:aged?|age of|age is|age was|age now) {_AGE_NUMBER}(?!\w)"),
)


def _number(written: str) -> int:
    if written.isdigit():
        return int(written)
    words = written.replace(" ", "")
    for tens, value in _TENS.items():
        if words.startswith(tens):
            return value + _NUMBER_WORDS.get(words[len(tens):], 0)
    return _NUMBER_WORDS[words]


def _ages(folded: _Folded, ids: Identifiers) -> Iterator[_Found]:
    """An exact age of the person becomes their age band; anyone else's exact age is replaced as well."""
    for pattern in _AGES:
        for match in pattern.finditer(folded.text):
            age = _number(match.group("n"))
            if age > 120:
                continue
            if age in ids.ages and ids.age_band:
                kind = _Kind("exact age", f"[{ids.age_band}]", _AGE_RANK)
            else:
                kind = _Kind("exact age", "[age]", _AGE_RANK)
            yield *folded.span(*match.span()), kind


# --- Country, language and address words.

def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STREET_TYPES = {
    "street": "st", "road": "rd", "lane": "ln", "avenue": "ave", "drive": "dr", "close": "cl", "court": "ct",
    "crescent": "cres", "place": "pl", "square": "sq", "terrace": "terr", "gardens": "gdns", "grove": "gr",
    "way": "", "walk": "", "mews": "", "row": "", "hill": "", "park": "pk", "parade": "pde", "green": "",
    "view": "", "rise": "", "wharf": "", "quay": "", "yard": "", "vale": "", "wynd": "", "gate": "",
}
_STREET_WORDS = frozenset(_STREET_TYPES) | {short for short in _STREET_TYPES.values() if short}
# Street names that are also everyday words; alone, without their street type, they are not the address.
_COMMON_STREETS = _word_set(
    "high church station main park victoria london new old north south east west green mill school king queen "
    "manor bridge market castle chapel albert george river hill grove mount long broad back front "
    "water spring farm garden cross york")
_HOUSE = re.compile(r"^\s*(?:(?:flat|unit|apartment|apt|room|suite|floor)\s*\w+\s*)?\d+[a-z]?\b\s*", re.IGNORECASE)


def _address_terms(addresses: Iterable[str]) -> tuple[set[str], set[str]]:
    """Street and place names of the addresses: (whole-word terms, terms matched only when capitalised)."""
    terms: set[str] = set()
    capitalised: set[str] = set()
    for address in addresses:
        for line in re.split(r"[,;\n]", address):
            rest = _HOUSE.sub("", _POSTCODE_RE.sub("", line)).strip()
            words = _words(rest)
            if not words:
                continue
            if len(words) >= 2 and words[-1] in _STREET_WORDS:
                stem = words[:-1]
                for full, short in _STREET_TYPES.items():
                    terms.add("".join(stem) + full)
                    if short:
                        terms.add("".join(stem) + short)
                if len(stem) == 1 and len(stem[0]) >= 4 and stem[0] not in _COMMON_STREETS:
                    capitalised.add(stem[0])
            elif len(words) <= 3 and len("".join(words)) >= 4 and not any(c.isdigit() for c in rest):
                terms.add("".join(words))  # a town or district
    return terms, capitalised


def _word_terms(original: str, folded: _Folded, terms: Iterable[str], kind: _Kind, *,
                capitalised: bool = False) -> Iterator[_Found]:
    for term in {_compact(t) for t in terms}:
        if len(term) < 3:
            continue
        for form in (term, term + "s"):
            for start, end in folded.find(form):
                if not capitalised or original[start].isupper():
                    yield start, end, kind


# --- Words left in place that a person should read again.

_MONTH_WORDS = {m for m in _MONTHS} | {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_ORDINARY_CAPITALS = _word_set(
    "i mr mrs ms miss dr prof home office rule adults risk level court tribunal nhs gp detention centre healthcare "
    "bail immigration removal prison holding facility hospital police service services english arabic french "
    "god islam muslim christian christianity orthodox catholic quran bible ramadan eid christmas easter "
    "day case person medical legal report reports foundation council trust charity unit")


def _uncertain(original: str, taken: list[_Found], terms: set[str]) -> list[Uncertain]:
    """Capitalised words mid-sentence that nothing recognised, and words close to a recorded name."""
    covered = [(start, end) for start, end, _ in taken]
    parts = [p for p in _name_pieces(terms) if len(p) >= 4 and p.isascii() and p.isalpha()]
    unsure: list[Uncertain] = []
    index = 0
    for match in re.finditer(r"[^\W\d_][^\W\d_'’\-]*", original):
        start, end = match.span()
        while index < len(covered) and covered[index][1] <= start:
            index += 1
        if index < len(covered) and covered[index][0] < end:
            continue
        word = match.group()
        key = _compact(word)
        if parts and len(key) >= 4 and any(jellyfish.jaro_winkler_similarity(key, p) >= 0.85 for p in parts):
            unsure.append(Uncertain(start, end, word, "close to a recorded name"))
            continue
        if not word[0].isupper() or len(key) < 3 or key in _MONTH_WORDS or key in _ORDINARY_CAPITALS:
            continue
        if word.isupper() and len(word) <= 5:
            continue  # an abbreviation: ACDT, AAR, PTSD
        before = original[:start].rstrip()
        if not before or before[-1] in ".!?:;\n•–-(\"'“‘*":
            continue  # a sentence starts with a capital whatever the word
        unsure.append(Uncertain(start, end, word, "a capitalised word not recognised: it may be a name or a place"))
    return unsure


# --- Known identifiers.

def _names(original: str, folded: _Folded, names: set[str]) -> Iterator[_Found]:
    for term in names | _variant_terms(names):
        for start, end in folded.find(term):
            yield start, end, _NAME
    for start, end in _near_spellings(folded, names):
        yield start, end, _NAME
    for start, end in _name_words(original, folded, names):
        yield start, end, _NAME


def _known(original: str, folded: _Folded, ids: Identifiers) -> Iterator[_Found]:
    names = _name_terms(ids.names)
    yield from _names(original, folded, names)

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

    streets, capitalised = _address_terms(ids.addresses)
    yield from _word_terms(original, folded, streets, _ADDRESS)
    yield from _word_terms(original, folded, capitalised, _PLACE, capitalised=True)
    yield from _word_terms(original, folded, ids.origins, _ORIGIN)
    yield from _word_terms(original, folded, ids.languages, _LANGUAGE)
    yield from _word_terms(original, folded, ids.regions, _ORIGIN, capitalised=True)
    yield from _dates(original, folded, ids)
    yield from _ages(folded, ids)

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
    names = _name_terms(ids.names)
    linked, unsure = _links(text, names)
    found = list(_known(text, folded, ids)) + list(_generic(text)) + linked
    resolved = _resolve(text, found)
    unsure += _uncertain(text, resolved, names)
    pieces: list[str] = []
    replacements: list[Replacement] = []
    cursor = 0
    for start, end, kind in resolved:
        label = kind.label if kind.label is not None else pseudonym
        replacements.append(Replacement(start=start, end=end, original=text[start:end], replacement=label,
                                        reason=kind.reason))
        pieces.append(text[cursor:start])
        pieces.append(label)
        cursor = end
    pieces.append(text[cursor:])
    kept = [u for u in unsure if not any(start < u.end and u.start < end for start, end, _ in resolved)]
    return Scrubbed(text="".join(pieces), replacements=tuple(replacements),
                    uncertain=tuple(sorted(kept, key=lambda u: u.start)))
