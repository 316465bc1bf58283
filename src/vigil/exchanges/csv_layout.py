"""A generic CSV of messages or call records (a telco CDR, an AXIOM sheet) read through a
layout file that names its columns:

```yaml
kind: call                       # message or call
columns:                         # canonical field: the file's header
  time: Call Date/Time - (UTC)   # or `date` and `clock` as two columns
  sender: CALLING_NO
  recipient: CALLED_NO
  duration: DURATION             # seconds, or hh:mm:ss
  body: Message                  # optional
  thread: Conversation           # optional
time_format: "%d/%m/%Y %H:%M:%S" # strptime; with %z the offset is in the text;
                                 # "iso" (default), "epoch" or "epoch_ms"
region: PH                       # default region for phone numbers (optional)
```

A time column whose header names the zone ("- (UTC)", "(UTC+08:00)") is read in that zone
(tz_source "header"); a time text with an offset keeps it; otherwise `--timezone`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from vigil.config import read_yaml_mapping
from vigil.errors import ConfigError
from vigil.exchanges.clock import LocalClock, aware_to_utc, epoch_utc
from vigil.exchanges.records import (
    TZ_EPOCH,
    TZ_HEADER,
    TZ_OFFSET,
    Exchange,
    ExchangeError,
    Participant,
)
from vigil.exchanges.ufdr import _seconds

_HEADER_ZONE = re.compile(r"\(UTC(?:\s*([+-])(\d{1,2})(?::?(\d{2}))?)?\)", re.I)


class Columns(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time: str | None = None
    date: str | None = None
    clock: str | None = None
    sender: str
    recipient: str | None = None
    body: str | None = None
    duration: str | None = None
    thread: str | None = None
    id: str | None = None


class ExchangeLayout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["message", "call"] = "message"
    columns: Columns
    time_format: str = "iso"
    delimiter: str = ","
    region: str | None = None


def load_layout(path: Path) -> ExchangeLayout:
    data = read_yaml_mapping(path, "exchange layout")
    try:
        layout = ExchangeLayout.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from error
    if not layout.columns.time and not layout.columns.date:
        raise ConfigError(f"{path}: columns: name a `time` column, or `date` and `clock`")
    return layout


def _header_zone(header: str) -> timezone | None:
    match = _HEADER_ZONE.search(header)
    if not match:
        return None
    if not match.group(1):
        return UTC
    minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
    return timezone(timedelta(minutes=minutes if match.group(1) == "+" else -minutes))


def parse(path: Path, tz: ZoneInfo | None, layout: ExchangeLayout) -> Iterator[Exchange]:
    cols = layout.columns
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise ExchangeError(f"{path}: cannot read: {error.strerror}") from error
    with handle:
        reader = csv.DictReader(handle, delimiter=layout.delimiter)
        header = reader.fieldnames or []
        wanted = [c for c in cols.model_dump().values() if c]
        missing = [c for c in wanted if c not in header]
        if missing:
            raise ExchangeError(f"{path}: row 1: no column {missing[0]!r} (the layout names it)")
        time_column = cols.time or cols.date or ""
        header_tz = _header_zone(time_column)
        clock = LocalClock(tz)
        for row_no, row in enumerate(reader, start=2):
            yield _row(path, row_no, row, layout, header_tz, clock)


def _row(
    path: Path,
    row_no: int,
    row: dict[str, str],
    layout: ExchangeLayout,
    header_tz: timezone | None,
    clock: LocalClock,
) -> Exchange:
    cols = layout.columns
    if cols.time:
        raw, column = (row.get(cols.time) or "").strip(), cols.time
    else:
        day = (row.get(cols.date or "") or "").strip()
        raw = f"{day} {(row.get(cols.clock or '') or '').strip()}"
        column = cols.date or ""
    raw = raw.strip()
    where = f"{path}: row {row_no}, column {column!r}"
    warnings: list[str] = []
    try:
        if layout.time_format in {"epoch", "epoch_ms"}:
            seconds = float(raw) / (1000 if layout.time_format == "epoch_ms" else 1)
            utc, offset, source = epoch_utc(seconds), 0, TZ_EPOCH
        else:
            moment = (
                datetime.fromisoformat(raw.replace("Z", "+00:00"))
                if layout.time_format == "iso"
                else datetime.strptime(raw, layout.time_format)
            )
            if moment.tzinfo is not None:
                (utc, offset), source = aware_to_utc(moment), TZ_OFFSET
            elif header_tz is not None:
                (utc, offset), source = aware_to_utc(moment.replace(tzinfo=header_tz)), TZ_HEADER
            else:
                utc, offset, warnings = clock.to_utc(moment)
                source = clock.source
    except ValueError as error:
        raise ExchangeError(
            f"{where}: time {raw!r} does not read as {layout.time_format}"
        ) from error
    recipient = (row.get(cols.recipient) or "").strip() if cols.recipient else ""
    sender = (row.get(cols.sender) or "").strip()
    duration = None
    if cols.duration:
        text = (row.get(cols.duration) or "").strip()
        duration = _seconds(text)
        if text and duration is None:
            raise ExchangeError(
                f"{path}: row {row_no}, column {cols.duration!r}: duration {text!r}"
            )
    thread = (row.get(cols.thread) or "").strip() if cols.thread else ""
    return Exchange(
        kind=layout.kind,
        thread=thread or " / ".join(sorted(filter(None, [sender, recipient]))) or path.stem,
        local_id=(row.get(cols.id) or "").strip() if cols.id else f"row {row_no}",
        ts_utc=utc,
        ts_raw=raw,
        tz_source=source,
        utc_offset_minutes=offset,
        sender=_party(sender),
        recipients=[_party(recipient)] if recipient else [],
        body=(row.get(cols.body) or "") if cols.body else "",
        duration_seconds=duration,
        position=f"row {row_no}",
        warnings=warnings,
    )


def _party(text: str) -> Participant:
    if re.fullmatch(r"\+?[\d\s().-]{6,}", text) or text.startswith("@") or "@" in text:
        return Participant(None, text)
    return Participant(text or None, None)
