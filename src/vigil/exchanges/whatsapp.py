"""WhatsApp `_chat.txt` exports, Android and iOS.

Android: `31/12/2023, 21:15 - Sender: text`; iOS: `[31/12/2023, 21:15:07] Sender: text`.
Lines without a header continue the message above; header lines without `Sender:` are
system lines (kept, sender empty). iOS puts U+200E before lines and placeholders, newer
Android 12-hour exports put U+202F before AM/PM: both are removed before parsing. Day/month
order is inferred over the whole file: a first field above 12 means day first, a second
field above 12 means month first; when no date settles it, the order under which the file's
times run forward is taken, and if both do, the one under which they move less (a chat goes
day by day; read the wrong way round, each new day becomes a new month); every message is
then flagged ambiguous. Times are the phone's wall clock without an offset: `--timezone`
says where the phone was (research §1 [X3][X4]).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from vigil.exchanges.clock import LocalClock
from vigil.exchanges.records import Exchange, ExchangeError, Participant

_INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\ufeff"), None)
_SPACES = dict.fromkeys(map(ord, "\u202f\u00a0\u2009"), " ")
_DATE = r"(\d{1,4})[./-](\d{1,2})[./-](\d{2,4})"
_TIME = r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?:\s?([AaPp])\.?\s?[Mm]\.?)?"
_ANDROID = re.compile(rf"^{_DATE},?\s{_TIME}\s[-–]\s(.*)$")
_IOS = re.compile(rf"^\[{_DATE},?\s{_TIME}\]\s(.*)$")
_SENDER = re.compile(r"^([^:]{1,80}?):\s(.*)$", re.S)

MEDIA_PLACEHOLDERS = re.compile(
    r"^(<Media omitted>|<Medien ausgeschlossen>|<Médias omis>|<Multimedia omitido>|"
    r"<Mídia oculta>|(image|audio|video|sticker|GIF|document) omitted|Contact card omitted|"
    r"(Bild|Audio|Video|Sticker) weggelassen|<attached: .*>|.* \(file attached\)|"
    r"This message was deleted\.?|You deleted this message\.?)$",
    re.I,
)
WARN_AMBIGUOUS = "whatsapp: day/month order not settled by any date in the file"


def looks_like(head: str) -> bool:
    for line in head.translate(_INVISIBLE).translate(_SPACES).splitlines()[:20]:
        if _ANDROID.match(line) or _IOS.match(line):
            return True
    return False


@dataclass
class _Header:
    line_no: int
    first: int
    second: int
    year: int
    hour: int
    minute: int
    second_of_minute: int
    meridiem: str | None
    rest: str
    raw_time: str


def _headers(lines: list[str]) -> list[tuple[_Header | None, str]]:
    out: list[tuple[_Header | None, str]] = []
    for number, line in enumerate(lines, start=1):
        match = _IOS.match(line) or _ANDROID.match(line)
        if not match:
            out.append((None, line))
            continue
        g = match.groups()
        if len(g[0]) == 4:  # year first: 2023-12-31
            year, first, second = int(g[0]), int(g[2]), int(g[1])
            year_first = True
        else:
            first, second, year = int(g[0]), int(g[1]), int(g[2])
            year_first = False
        if year < 100:
            year += 2000
        raw_time = line[: match.start(8)].rstrip(" -–]").lstrip("[")
        header = _Header(
            number,
            first,
            second,
            year,
            int(g[3]),
            int(g[4]),
            int(g[5] or 0),
            g[6].upper() if g[6] else None,
            g[7],
            raw_time,
        )
        if year_first:
            header.first, header.second = int(g[2]), int(g[1])  # day, month
        out.append((header, line))
    return out


def _wall(h: _Header, day_first: bool) -> datetime:
    day, month = (h.first, h.second) if day_first else (h.second, h.first)
    hour = h.hour
    if h.meridiem == "P" and hour < 12:
        hour += 12
    elif h.meridiem == "A" and hour == 12:
        hour = 0
    return datetime(h.year, month, day, hour, h.minute, h.second_of_minute)


def _day_first(path: Path, headers: list[_Header]) -> tuple[bool, bool]:
    """(day first?, ambiguous?) over the whole file."""
    day_first_seen = any(h.first > 12 for h in headers)
    month_first_seen = any(h.second > 12 for h in headers)
    if day_first_seen and month_first_seen:
        raise ExchangeError(
            f"{path}: dates mix day/month and month/day orders (e.g. line "
            f"{next(h.line_no for h in headers if h.second > 12)}): not one WhatsApp export"
        )
    if day_first_seen or month_first_seen:
        return day_first_seen, False

    def disorder(day_first: bool) -> tuple[int, float]:
        """(steps back in time, total time moved): smaller is the likelier reading."""
        walls = [_wall(h, day_first) for h in headers]  # both fields <= 12: always a date
        steps = list(itertools.pairwise(walls))
        back = sum(1 for a, b in steps if b < a)
        moved = sum(abs((b - a).total_seconds()) for a, b in steps)
        return back, moved

    # A chat moves day by day: read the wrong way round, every change of day becomes a
    # change of month, so when both orders run forward the one that moves less is taken.
    return disorder(True) <= disorder(False), True


def parse(path: Path, tz: ZoneInfo | None) -> Iterator[Exchange]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ExchangeError(f"{path}: not a readable WhatsApp chat text: {error}") from error
    lines = text.translate(_INVISIBLE).translate(_SPACES).splitlines()
    rows = _headers(lines)
    headers = [h for h, _ in rows if h is not None]
    if not headers:
        raise ExchangeError(f"{path}: no WhatsApp message header found (Android or iOS)")
    if rows[0][0] is None and rows[0][1].strip():
        raise ExchangeError(f"{path}: line 1 is not a WhatsApp message header")
    day_first, ambiguous = _day_first(path, headers)
    clock = LocalClock(tz)
    thread = path.stem
    senders = {m.group(1).strip() for h in headers if (m := _SENDER.match(h.rest)) is not None}
    current: Exchange | None = None
    for header, line in rows:
        if header is None:
            if current is not None:
                current.body = f"{current.body}\n{line}"
            continue
        if current is not None:
            yield _finish(current)
        try:
            wall = _wall(header, day_first)
        except ValueError as error:
            raise ExchangeError(f"{path}: line {header.line_no}: {error}") from error
        ts_utc, offset, warnings = clock.to_utc(wall)
        if ambiguous:
            warnings = [WARN_AMBIGUOUS, *warnings]
        match = _SENDER.match(header.rest)
        sender_name, body = (match.group(1).strip(), match.group(2)) if match else ("", header.rest)
        current = Exchange(
            kind="message",
            thread=thread,
            local_id=f"line {header.line_no}",
            ts_utc=ts_utc,
            ts_raw=header.raw_time,
            tz_source=clock.source,
            utc_offset_minutes=offset,
            sender=_participant(sender_name),
            recipients=[_participant(s) for s in sorted(senders) if s != sender_name],
            body=body,
            position=f"line {header.line_no}",
            warnings=warnings,
        )
    if current is not None:
        yield _finish(current)


def _participant(name: str) -> Participant:
    """A saved contact's name, or the raw number of an unsaved contact."""
    if not name:
        return Participant()
    if re.fullmatch(r"\+?[\d\s().-]{7,}", name):
        return Participant(None, name)
    return Participant(name, None)


def _finish(exchange: Exchange) -> Exchange:
    exchange.body = exchange.body.strip()
    exchange.media = bool(MEDIA_PLACEHOLDERS.match(exchange.body))
    return exchange
