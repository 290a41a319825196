"""Name normalisation for search and duplicate detection: case-, accent- and punctuation-insensitive tokens
and their phonetic keys, stored only as keyed hashes (a blind index): the database holds no name part in a
form anyone without the index key can read or guess by hashing a list of names."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jellyfish

from app.crypto.primitives import keyed_hash

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


# Prefixes up to this length are indexed; a longer typed part is looked up by its first PREFIX_MAX letters, so it
# may also find names that differ only after them.
PREFIX_MAX = 8


def prefix_digest(key: bytes, part: str) -> bytes:
    """What a typed name part (the start of some name part) is looked up by."""
    return keyed_hash(key, "p:" + part[:PREFIX_MAX])


def whole_digest(key: bytes, token: str) -> bytes:
    return keyed_hash(key, "w:" + token)


def sound_digest(key: bytes, token: str) -> bytes:
    return keyed_hash(key, "s:" + phonetic(token))


def reference_digest(key: bytes, text: str | None) -> bytes | None:
    """Home Office reference lookup value: case- and space-insensitive."""
    compact = "".join((text or "").split()).upper()
    return keyed_hash(key, "r:" + compact) if compact else None


def token_rows(key: bytes, person_id: int, given_names: str, family_name: str,
               aliases: list[str]) -> list[dict[str, object]]:
    """The person_name_tokens rows for a person's names: for each distinct part (numbered in order), the keyed
    hashes of its prefixes, of the whole part and of its sound; each hash once per person."""
    rows: list[dict[str, object]] = []
    seen: set[bytes] = set()
    parts: dict[str, None] = {}
    for text in [given_names, family_name, *aliases]:
        for token in tokens(text):
            parts.setdefault(token[:100], None)
    for number, token in enumerate(parts, start=1):
        digests = [keyed_hash(key, "p:" + token[:n]) for n in range(1, min(len(token), PREFIX_MAX) + 1)]
        digests += [whole_digest(key, token), sound_digest(key, token)]
        for digest in digests:
            if digest not in seen:
                seen.add(digest)
                rows.append({"person_id": person_id, "digest": digest, "token_no": number})
    return rows
