"""UTC offsets of each country's main zone as validity intervals, to read local hours in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from vigil.geo import main_time_zone

OFFSET_YEARS = (1970, 2100)  # zone rules beyond these are guesses anyway
OFFSET_COLUMNS = {
    "country": "VARCHAR",
    "valid_from": "TIMESTAMP",
    "valid_to": "TIMESTAMP",
    "offset_minutes": "INTEGER",
}


def offset_intervals(
    countries: list[str], first: datetime, last: datetime
) -> list[tuple[str, datetime, datetime, int]]:
    """(country, valid_from, valid_to, offset_minutes) covering [first, last] for each country.

    Transitions (daylight saving) are found to the hour, which is when zones change. The span
    is kept within OFFSET_YEARS: ingest quarantines implausible dates, but a workspace filled
    before it did may hold a year 1 or 9999, whose payments then read in UTC.
    """
    zones = main_time_zone()
    lo, hi = OFFSET_YEARS
    start = datetime(min(max(first.year - 1, lo), hi), 1, 1, tzinfo=UTC)
    end = datetime(max(min(last.year + 2, hi), lo), 1, 1, tzinfo=UTC)
    rows: list[tuple[str, datetime, datetime, int]] = []
    for country in sorted(set(countries)):
        zone = ZoneInfo(zones.get(country, "UTC"))

        def offset(at: datetime, zone: ZoneInfo = zone) -> int:
            return int(at.astimezone(zone).utcoffset().total_seconds() // 60)

        since, current, cursor = start, offset(start), start
        while cursor < end:
            step = cursor + timedelta(days=1)
            if offset(step) != current:  # find the hour it changed
                hour = cursor
                while offset(hour) == current:
                    hour += timedelta(hours=1)
                rows.append((country, _naive(since), _naive(hour), current))
                since, current = hour, offset(hour)
            cursor = step
        rows.append((country, _naive(since), _naive(end), current))
    return rows


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)
