"""Nationality to world region: every ISO 3166-1 country lands in a real UN M49 sub-region."""

from __future__ import annotations

import pycountry
import pytest

from app.reports.regions import REGION_BY_CODE, REGION_NAMES, UNKNOWN_REGION, WITHOUT_REGION, world_region

pytestmark = pytest.mark.no_database

M49_SUB_REGIONS = {
    "Eastern Africa", "Middle Africa", "Northern Africa", "Southern Africa", "Western Africa",
    "Caribbean", "Central America", "South America", "Northern America",
    "Central Asia", "Eastern Asia", "South-eastern Asia", "Southern Asia", "Western Asia",
    "Eastern Europe", "Northern Europe", "Southern Europe", "Western Europe",
    "Australia and New Zealand", "Melanesia", "Micronesia", "Polynesia",
}


def test_the_table_uses_exactly_the_m49_sub_regions() -> None:
    assert set(REGION_NAMES) == M49_SUB_REGIONS
    assert len(REGION_NAMES) == 22


def test_every_country_maps_to_a_real_region_except_those_m49_leaves_out() -> None:
    unmapped = []
    for country in pycountry.countries:
        region = world_region(country.alpha_2)
        if country.alpha_2 in WITHOUT_REGION:
            assert region == UNKNOWN_REGION, country.name
        elif region not in M49_SUB_REGIONS:
            unmapped.append(country.alpha_2)
    assert unmapped == []
    assert sorted(WITHOUT_REGION) == ["AQ"]  # Antarctica


def test_the_table_holds_only_real_codes() -> None:
    iso = {country.alpha_2 for country in pycountry.countries}
    assert set(REGION_BY_CODE) - iso == {"XK"}  # Kosovo: user-assigned, not in ISO 3166-1


@pytest.mark.parametrize(("code", "region"), [
    ("ER", "Eastern Africa"), ("SY", "Western Asia"), ("AF", "Southern Asia"), ("AL", "Southern Europe"),
    ("VN", "South-eastern Asia"), ("MX", "Central America"), ("JM", "Caribbean"), ("SD", "Northern Africa"),
    ("CD", "Middle Africa"), ("NG", "Western Africa"), ("ZA", "Southern Africa"), ("IR", "Southern Asia"),
    ("IQ", "Western Asia"), ("GB", "Northern Europe"), ("UA", "Eastern Europe"), ("FR", "Western Europe"),
    ("CN", "Eastern Asia"), ("UZ", "Central Asia"), ("BR", "South America"), ("US", "Northern America"),
    ("NZ", "Australia and New Zealand"), ("PG", "Melanesia"), ("KI", "Micronesia"), ("WS", "Polynesia"),
    ("TR", "Western Asia"), ("CY", "Western Asia"), ("SO", "Eastern Africa"), ("XK", "Southern Europe"),
])
def test_spot_checks(code: str, region: str) -> None:
    assert world_region(code) == region


@pytest.mark.parametrize("code", ["er", "Er", " ER "])
def test_codes_are_read_in_any_case(code: str) -> None:
    assert world_region(code) == "Eastern Africa"


@pytest.mark.parametrize("code", [None, "", "ZZ", "AQ", "ERI", "E"])
def test_missing_or_unknown_codes_give_unknown_region(code: str | None) -> None:
    assert world_region(code) == "Unknown region"
