"""UTC offsets of each country's main zone as validity intervals, to read local hours in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa

from vigil.geo import main_time_zone


def offset_intervals(countries: list[str], first: datetime, last: datetime) -> pa.Table:
    """(country, valid_from, valid_to, offset_minutes) covering [first, last] for each country.

    Transitions (daylight saving) are found to the hour, which is when zones change.
    """
    zones = main_time_zone()
    start = datetime(first.year - 1, 1, 1, tzinfo=UTC)
    end = datetime(last.year + 2, 1, 1, tzinfo=UTC)
    rows: dict[str, list] = {"country": [], "valid_from": [], "valid_to": [], "offset_minutes": []}
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
                rows["country"].append(country)
                rows["valid_from"].append(since.replace(tzinfo=None))
                rows["valid_to"].append(hour.replace(tzinfo=None))
                rows["offset_minutes"].append(current)
                since, current = hour, offset(hour)
            cursor = step
        rows["country"].append(country)
        rows["valid_from"].append(since.replace(tzinfo=None))
        rows["valid_to"].append(end.replace(tzinfo=None))
        rows["offset_minutes"].append(current)
    return pa.table(
        rows,
        schema=pa.schema(
            [
                ("country", pa.string()),
                ("valid_from", pa.timestamp("us")),
                ("valid_to", pa.timestamp("us")),
                ("offset_minutes", pa.int32()),
            ]
        ),
    )
