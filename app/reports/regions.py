"""Nationality to world region: the UN M49 sub-region of an ISO 3166-1 alpha-2 country code."""

from __future__ import annotations

UNKNOWN_REGION = "Unknown region"

# UN M49 (Standard country or area codes for statistical use). Where M49 splits a sub-region further
# (Sub-Saharan Africa, Latin America and the Caribbean) the intermediate region is used, because
# "Sub-Saharan Africa" alone would hide too little and the intermediate regions are what reports cite.
# Taiwan has no M49 entry of its own (the UN counts it within China), so it follows China into Eastern Asia;
# Kosovo (XK, a user-assigned code the Home Office uses) sits in Southern Europe with Serbia.
# Antarctica (AQ) is the only ISO 3166-1 entry M49 leaves without a sub-region.
_REGIONS: dict[str, str] = {
    "Northern Africa": "DZ EG EH LY MA SD TN",
    "Eastern Africa": "BI DJ ER ET IO KE KM MG MU MW MZ RE RW SC SO SS TF TZ UG YT ZM ZW",
    "Middle Africa": "AO CD CF CG CM GA GQ ST TD",
    "Southern Africa": "BW LS NA SZ ZA",
    "Western Africa": "BF BJ CI CV GH GM GN GW LR ML MR NE NG SH SL SN TG",
    "Caribbean": "AG AI AW BB BL BQ BS CU CW DM DO GD GP HT JM KN KY LC MF MQ MS PR SX TC TT VC VG VI",
    "Central America": "BZ CR GT HN MX NI PA SV",
    "South America": "AR BO BR BV CL CO EC FK GF GS GY PE PY SR UY VE",
    "Northern America": "BM CA GL PM US",
    "Central Asia": "KG KZ TJ TM UZ",
    "Eastern Asia": "CN HK JP KP KR MN MO TW",
    "South-eastern Asia": "BN ID KH LA MM MY PH SG TH TL VN",
    "Southern Asia": "AF BD BT IN IR LK MV NP PK",
    "Western Asia": "AE AM AZ BH CY GE IL IQ JO KW LB OM PS QA SA SY TR YE",
    "Eastern Europe": "BG BY CZ HU MD PL RO RU SK UA",
    "Northern Europe": "AX DK EE FI FO GB GG IE IM IS JE LT LV NO SE SJ",
    "Southern Europe": "AD AL BA ES GI GR HR IT ME MK MT PT RS SI SM VA XK",
    "Western Europe": "AT BE CH DE FR LI LU MC NL",
    "Australia and New Zealand": "AU CC CX HM NF NZ",
    "Melanesia": "FJ NC PG SB VU",
    "Micronesia": "FM GU KI MH MP NR PW UM",
    "Polynesia": "AS CK NU PF PN TK TO TV WF WS",
}

REGION_NAMES: tuple[str, ...] = tuple(_REGIONS)
REGION_BY_CODE: dict[str, str] = {code: region for region, codes in _REGIONS.items() for code in codes.split()}

# Countries M49 itself places in no sub-region; they read as an unknown region rather than a guessed one.
WITHOUT_REGION: frozenset[str] = frozenset({"AQ"})


def world_region(alpha2: str | None) -> str:
    """The UN M49 sub-region for an ISO 3166-1 alpha-2 code (any case), or "Unknown region"."""
    if not alpha2:
        return UNKNOWN_REGION
    return REGION_BY_CODE.get(alpha2.strip().upper(), UNKNOWN_REGION)
