"""Turning the time text of an export into UTC, and saying how sure we are.

Local times without an offset (WhatsApp, Telegram's `date`, many CSVs) are placed in the zone
the investigator names (`--timezone`); with none, they are read as UTC and flagged assumed.
A wall time in a DST fall-back hour exists twice: the earlier reading is taken unless the
messages before it are already later (exports are in order), and the message is flagged. A
wall time in a spring-forward gap never existed: it is read with the offset before the gap
and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vigil.errors import InputError
from vigil.exchanges.records import TZ_ASSUMED, TZ_OPTION

WARN_FOLD = "dst_fold: the local hour occurs twice"
WARN_GAP = "dst_gap: the local time does not exist (clocks went forward)"


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone `name` (e.g. Asia/Manila); a clear error when it is unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InputError(
            f"unknown time zone {name!r} (give an IANA name such as Asia/Manila)"
        ) from error


def epoch_utc(seconds: float) -> datetime:
    """A naive UTC datetime from epoch seconds."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def aware_to_utc(moment: datetime) -> tuple[datetime, int]:
    """An offset-aware datetime as naive UTC and its offset in minutes."""
    offset = moment.utcoffset() or timedelta(0)
    utc = (moment - offset).replace(tzinfo=None)
    return utc, int(offset.total_seconds() // 60)


def offset_at(tz: ZoneInfo, ts_utc: datetime) -> int:
    """The UTC offset (minutes) of zone `tz` at the UTC instant `ts_utc`."""
    delta = ts_utc.replace(tzinfo=UTC).astimezone(tz).utcoffset()
    return int(delta.total_seconds() // 60) if delta else 0


@dataclass
class LocalClock:
    """Converts wall times of one file to UTC in one zone, in file order."""

    tz: ZoneInfo | None
    _last_utc: datetime | None = field(default=None, repr=False)

    @property
    def source(self) -> str:
        return TZ_OPTION if self.tz is not None else TZ_ASSUMED

    def to_utc(self, wall: datetime) -> tuple[datetime, int, list[str]]:
        """(UTC, offset minutes, warnings) for the naive wall time `wall`."""
        if self.tz is None:
            return wall, 0, []
        warnings: list[str] = []
        early = wall.replace(tzinfo=self.tz, fold=0)
        late = wall.replace(tzinfo=self.tz, fold=1)
        chosen = early
        if early.utcoffset() != late.utcoffset():
            round_trip = early.astimezone(UTC).astimezone(self.tz).replace(tzinfo=None)
            if round_trip != wall:
                warnings.append(WARN_GAP)
            else:
                warnings.append(WARN_FOLD)
                early_utc = aware_to_utc(early)[0]
                if self._last_utc is not None and early_utc < self._last_utc:
                    chosen = late  # the second pass through the repeated hour
        utc, offset = aware_to_utc(chosen)
        if WARN_GAP in warnings:
            # fold=0 in a gap uses the offset before it: keep that reading
            utc, offset = aware_to_utc(early)
        self._last_utc = utc if self._last_utc is None else max(self._last_utc, utc)
        return utc, offset, warnings
