"""The words that name a person's country: its names, the adjectives for its people, its languages and regions."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pycountry
from babel import Locale, UnknownLocaleError
from babel.core import get_global

# CLDR (through Babel) and ISO 3166 (through pycountry) name countries but not their people, so the adjectives
# are made from the name by the usual English endings (Eritrea -> Eritrean, Sudan -> Sudanese, Iraq -> Iraqi,
# Afghanistan -> Afghan); the ones no ending makes are listed here.
_IRREGULAR: dict[str, str] = {
    "AE": "emirati emiratis", "AF": "afghan afghani afghans", "AZ": "azeri azeris", "BA": "bosniak bosniaks",
    "BD": "bengali bengalis", "BF": "burkinabe", "BW": "motswana batswana", "CD": "congolese",
    "CF": "central african", "CG": "congolese", "CH": "swiss", "CI": "ivorian ivorians", "CN": "han",
    "CV": "cape verdean", "CY": "cypriot cypriots", "DK": "danish dane danes", "ES": "spanish spaniard",
    "ET": "abyssinian habesha", "FI": "finnish finn finns", "FR": "french", "GB": "british briton brit",
    "GR": "greek greeks", "GW": "bissau guinean", "HN": "honduran", "IE": "irish", "IR": "persian persians",
    "IS": "icelandic icelander", "KG": "kyrgyz kirghiz", "KM": "comorian", "KP": "north korean", "KR": "korean",
    "LA": "lao laotian", "LS": "basotho mosotho", "MG": "malagasy", "MM": "burmese", "MV": "maldivian",
    "NE": "nigerien", "NL": "dutch", "NZ": "kiwi", "PE": "peruvian", "PH": "filipino filipina filipinos",
    "PL": "polish pole poles", "PT": "portuguese", "RS": "serb serbs", "HR": "croat croats", "SA": "saudi saudis",
    "SE": "swedish swede swedes", "SO": "somali somalis", "SV": "salvadoran salvadorean", "SZ": "swazi",
    "TJ": "tajik tajiks", "TM": "turkmen", "TR": "turkish turk turks", "VN": "vietnamese", "XK": "kosovar kosovan",
    "YE": "yemeni yemenis yemenite",
}
_ENDINGS = ("n", "an", "ian", "ean", "ese", "i", "ien", "ite")
_STEM_ENDINGS = ("an", "ian", "ean", "ese", "i", "ite", "ic")
# A language official or spoken by a tenth of the people in more countries than this says little about where a
# person is from (English, Arabic, French, Swahili); one spoken in a few countries names them.
_WIDESPREAD = 4


def _english_names(alpha2: str) -> set[str]:
    names: set[str] = set()
    babel_name = Locale("en").territories.get(alpha2)
    if babel_name:
        # CLDR writes "Congo - Kinshasa" and "Myanmar (Burma)": each piece is a name people use.
        names.update(piece.strip() for piece in re.split(r" - |[()]", babel_name) if piece.strip())
    country = pycountry.countries.get(alpha_2=alpha2)
    if country is not None:
        for field in ("name", "common_name", "official_name"):
            value = getattr(country, field, None)
            if value:
                names.add(re.sub(r"^the ", "", value, flags=re.IGNORECASE))
                names.update(piece.strip() for piece in value.split(",") if piece.strip())
    return names


def _adjectives(name: str) -> set[str]:
    word = name.casefold()
    forms = {word + ending for ending in _ENDINGS}
    stems = set()
    if word[-1:] in "aeiouy":
        stems.add(word[:-1])
    for suffix in ("ia", "istan", "stan", "land", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            stem = word[: -len(suffix)]
            stems.add(stem)
            forms.add(stem)  # Somalia -> Somali, Afghanistan -> Afghan, Thailand -> Thai, Czechia -> Czech
    for stem in stems:
        if len(stem) >= 3:
            forms.update(stem + ending for ending in _STEM_ENDINGS)
    return forms


def _languages_of(alpha2: str) -> dict[str, dict[str, Any]]:
    languages: dict[str, dict[str, Any]] = get_global("territory_languages").get(alpha2, {})
    return languages


@lru_cache(maxsize=1)
def _spread() -> dict[str, int]:
    """How many countries each language is official in, or spoken by a tenth of the people of."""
    counts: dict[str, int] = {}
    for languages in get_global("territory_languages").values():
        for code, info in languages.items():
            if info.get("official_status") or float(info.get("population_percent") or 0) >= 10:
                counts[code] = counts.get(code, 0) + 1
    return counts


def _language_names(code: str) -> set[str]:
    names = set()
    english = Locale("en").languages.get(code)
    if english:
        names.add(english)
    try:
        native = Locale.parse(code).languages.get(code)
    except (UnknownLocaleError, ValueError):
        native = None
    if native:
        names.add(native)
    return names


def _native_country_names(alpha2: str) -> set[str]:
    names = set()
    for code, info in _languages_of(alpha2).items():
        if not info.get("official_status"):
            continue
        try:
            name = Locale.parse(code).territories.get(alpha2)
        except (UnknownLocaleError, ValueError):
            continue
        if name:
            names.add(name)
    return names


@lru_cache(maxsize=256)
def origin_words(alpha2: str) -> tuple[str, ...]:
    """The country's names in English and in its own languages, and the words for its people."""
    code = alpha2.strip().upper()
    names = _english_names(code)
    words = set(names) | _native_country_names(code)
    for name in names:
        if len(name.split()) <= 2 and " of " not in f" {name.casefold()} ":
            words.update(_adjectives(name))
    words.update(_IRREGULAR.get(code, "").split())
    return tuple(sorted(word for word in words if len(word) >= 3))


@lru_cache(maxsize=256)
def region_words(alpha2: str) -> tuple[str, ...]:
    """The names of the country's own regions (ISO 3166-2): each narrows a person to the country."""
    code = alpha2.strip().upper()
    found = pycountry.subdivisions.get(country_code=code) or []
    return tuple(sorted({s.name for s in found if len(s.name) >= 4}))


def language_words(alpha2: str | None, recorded: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Names (in English and in themselves) of the languages that point to few countries: those of the country
    spoken by at least one person in a hundred there, and the person's recorded languages."""
    codes: set[str] = set()
    if alpha2:
        for code, info in _languages_of(alpha2.strip().upper()).items():
            if info.get("official_status") or float(info.get("population_percent") or 0) >= 1:
                codes.add(code)
    english: dict[str, str] = {name.casefold(): code for code, name in Locale("en").languages.items()}
    words: set[str] = set()
    for name in recorded:
        known = english.get(name.strip().casefold())
        if known is None:
            words.add(name.strip())  # a language CLDR does not know is rarer still
        else:
            codes.add(known)
    spread = _spread()
    for code in codes:
        if spread.get(code.split("_")[0], 0) <= _WIDESPREAD:
            words.update(_language_names(code))
    return tuple(sorted(word for word in words if len(word) >= 3))
