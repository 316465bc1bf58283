"""Calendar arithmetic on arrays: local wall-clock times to UTC and back, DST included."""

from __future__ import annotations

import numpy as np
import polars as pl

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND


def local_to_utc(local_us: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """Naive local times (µs since 1970 on the wall clock of `zones`) to UTC µs.

    A time that does not exist (the hour skipped when clocks go forward) is read as one hour
    later, the way a phone would show it; an ambiguous time takes the earlier instant.
    """
    frame = pl.DataFrame({"i": np.arange(len(local_us)), "local": local_us, "zone": zones})
    parts = []
    for (zone,), group in frame.group_by("zone", maintain_order=True):
        naive = group["local"].cast(pl.Datetime("us"))
        aware = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        shifted = (naive + pl.duration(hours=1)).dt.replace_time_zone(
            zone, ambiguous="earliest", non_existent="null"
        )
        utc = aware.fill_null(shifted).dt.convert_time_zone("UTC").dt.epoch("us")
        parts.append(pl.DataFrame({"i": group["i"], "utc": utc}))
    return pl.concat(parts).sort("i")["utc"].to_numpy()


def format_in_zone(utc_us: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """ISO 8601 strings with the UTC offset in force in each zone at that instant."""
    frame = pl.DataFrame({"i": np.arange(len(utc_us)), "utc": utc_us, "zone": zones})
    parts = []
    for (zone,), group in frame.group_by("zone", maintain_order=True):
        text = (
            group["utc"]
            .cast(pl.Datetime("us", "UTC"))
            .dt.convert_time_zone(zone)
            .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        )
        parts.append(pl.DataFrame({"i": group["i"], "ts": text}))
    return pl.concat(parts).sort("i")["ts"].to_numpy()


def month_start_day(days: np.ndarray, epoch_day: int) -> np.ndarray:
    """For day offsets from `epoch_day` (days since 1970), the offset of their month's first day."""
    absolute = (days + epoch_day).astype("datetime64[D]")
    return absolute.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - epoch_day


def weekday(days: np.ndarray, epoch_day: int) -> np.ndarray:
    """Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday)."""
    return (days + epoch_day + 3) % 7
