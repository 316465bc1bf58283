"""The record every exchange parser produces: one message or one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from vigil.errors import InputError

KINDS: tuple[str, ...] = ("message", "call")

# Where a message's time zone came from (research/exchanges.md §1, "Rule").
TZ_EPOCH = "epoch"  # a UTC epoch in the file (Telegram date_unixtime, Meta timestamp_ms)
TZ_OFFSET = "offset"  # the time text carries its UTC offset (UFDR, ISO 8601 with offset)
TZ_HEADER = "header"  # the column header names the zone, e.g. "Sent (UTC)"
TZ_OPTION = "option"  # local time without offset, placed in the zone given by --timezone
TZ_ASSUMED = "assumed"  # local time without offset and no zone given: read as UTC, flagged
TZ_SOURCES: tuple[str, ...] = (TZ_EPOCH, TZ_OFFSET, TZ_HEADER, TZ_OPTION, TZ_ASSUMED)


class ExchangeError(InputError):
    """An exchange export is unreadable or not in the format it claims."""


@dataclass(frozen=True)
class Participant:
    """Someone in a chat or call, as the export names them."""

    name: str | None = None
    identifier: str | None = None  # phone, e-mail, handle or platform id as written


@dataclass
class Exchange:
    """One message or call, its time with provenance, and who took part."""

    kind: str  # "message" or "call"
    thread: str  # chat name or id within the source file
    local_id: str  # the message's id within its file (or its line / position)
    ts_utc: datetime  # naive, UTC
    ts_raw: str  # the time exactly as written in the file
    tz_source: str  # one of TZ_SOURCES
    utc_offset_minutes: int  # the clock of whoever wrote the time (0 when it was UTC)
    sender: Participant
    recipients: list[Participant] = field(default_factory=list)
    body: str = ""
    duration_seconds: int | None = None
    media: bool = False
    position: str = ""  # where in the file: "line 12", "byte 3456", "messages[4]"
    warnings: list[str] = field(default_factory=list)

    @property
    def tz_assumed(self) -> bool:
        return self.tz_source == TZ_ASSUMED
