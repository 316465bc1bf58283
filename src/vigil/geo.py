"""Countries, currencies and time zones: the reference data every stage shares."""

from __future__ import annotations

from functools import cache
from importlib import resources
from zoneinfo import available_timezones

import pycountry

# Where a country spans several zones, the zone most of its people live in.
_MAIN_ZONE_OVERRIDES: dict[str, str] = {
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia",
    "DE": "Europe/Berlin",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "GB": "Europe/London",
    "ID": "Asia/Jakarta",
    "KZ": "Asia/Almaty",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "US": "America/New_York",
    "UZ": "Asia/Tashkent",
}


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes."""
    return frozenset(c.alpha_2 for c in pycountry.countries)


@cache
def currency_codes() -> frozenset[str]:
    """ISO 4217 alphabetic codes."""
    return frozenset(c.alpha_3 for c in pycountry.currencies)


@cache
def main_time_zone() -> dict[str, str]:
    """Country code -> the IANA zone where most of its people live (from tzdata's zone.tab)."""
    zones: dict[str, str] = {}
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coords, zone, *_ = line.split("\t")
        zones.setdefault(country, zone)
    zones.update(_MAIN_ZONE_OVERRIDES)
    known = available_timezones()
    return {c: z for c, z in zones.items() if z in known}


@cache
def zone_countries() -> dict[str, str]:
    """IANA zone -> the country code tzdata's zone.tab files it under."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    zones: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coords, zone, *_ = line.split("\t")
        zones[zone] = country
    return zones


def country_of_zone(zone: str) -> str | None:
    """The country of an IANA zone (Asia/Manila -> PH), None for UTC and the like."""
    return zone_countries().get(zone)
