"""Name normalisation for search and duplicate detection: case-, accent- and punctuation-insensitive tokens
and their phonetic keys."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jellyfish

_SEPARATORS = re.compile(r"[^\w]+|_")
# Letters that NFKD does not decompose into a base letter plus an accent.
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l", "ı": "i", "þ": "th"})


def fold(text: str) -> str:
    """Lower-case, accent-free form: "Ñúñez-O'Brien" -> "nunez-o'brien"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str | None) -> list[str]:
    """The searchable parts of a name, in order and without repeats. Apostrophes join ("O'Brien" ->
    "obrien") because people type them inconsistently; hyphens and spaces separate."""
    if not text:
        return []
    folded = fold(text).replace("'", "").replace("\u2019", "")
    seen: dict[str, None] = {}
    for part in _SEPARATORS.split(folded):
        if part and not part.isdigit():
            seen.setdefault(part, None)
    return list(seen)


@lru_cache(maxsize=65536)
def phonetic(token: str) -> str:
    """A sound-alike key (Metaphone), so that Mohammed, Muhammad and Mohamed meet."""
    return jellyfish.metaphone(token)[:20] or token[:20]


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix`: lets a prefix search use a
    plain B-tree index as `token >= prefix AND token < bound` on every database."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def token_rows(person_id: int, given_names: str, family_name: str, aliases: list[str]) -> list[dict[str, object]]:
    """The person_name_tokens rows for a person's names: each distinct part once, first source wins."""
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for source, text in [("given", given_names), ("family", family_name)] + [("alias", a) for a in aliases]:
        for token in tokens(text):
            token = token[:100]
            if token not in seen:
                seen.add(token)
                rows.append({"person_id": person_id, "token": token, "phonetic": phonetic(token), "source": source})
    return rows
