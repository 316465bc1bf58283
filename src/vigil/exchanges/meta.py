"""Meta "Download your information" JSON (Facebook, Messenger, Instagram):
`messages/inbox/<thread>/message_N.json` with `participants`, `title` and `messages`
(`sender_name`, `timestamp_ms` in UTC, `content`, `call_duration`, media lists).

Meta writes UTF-8 bytes as `\\u00XX` escapes, so "é" arrives as "Ã©": each string is
re-encoded as Latin-1 and decoded as UTF-8, where that round trip works (research §1 [X6]).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from vigil.exchanges.clock import epoch_utc, offset_at
from vigil.exchanges.records import TZ_EPOCH, Exchange, ExchangeError, Participant

MEDIA_KEYS = ("photos", "videos", "audio_files", "files", "gifs", "sticker")


def looks_like(head: str) -> bool:
    return '"timestamp_ms"' in head or ('"participants"' in head and '"sender_name"' in head)


def repair(text: str) -> str:
    """Undo Meta's mojibake: "CafÃ©" -> "Café"; text that was never mangled is kept."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def parse(path: Path, tz: ZoneInfo | None) -> Iterator[Exchange]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExchangeError(f"{path}: not a readable Meta message JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ExchangeError(f"{path}: no messages list (expected a Meta message_N.json)")
    people = [
        repair(str(p.get("name")))
        for p in data.get("participants") or []
        if isinstance(p, dict) and p.get("name")
    ]
    thread = repair(str(data.get("title") or data.get("thread_path") or path.parent.name))
    for position, m in enumerate(data["messages"]):
        if not isinstance(m, dict):
            continue
        yield _message(m, position, people, thread, tz)


def _message(
    m: dict[str, Any], position: int, people: list[str], thread: str, tz: ZoneInfo | None
) -> Exchange:
    where = f"messages[{position}]"
    try:
        ms = int(m["timestamp_ms"])
    except (KeyError, TypeError, ValueError) as error:
        raise ExchangeError(f"{where}: timestamp_ms missing or not a number") from error
    utc = epoch_utc(ms / 1000)
    sender = repair(str(m.get("sender_name") or ""))
    is_call = m.get("type") == "Call" or "call_duration" in m
    body = repair(str(m.get("content") or ""))
    return Exchange(
        kind="call" if is_call else "message",
        thread=thread,
        local_id=str(ms) + f"-{position}",
        ts_utc=utc,
        ts_raw=str(ms),
        tz_source=TZ_EPOCH,
        utc_offset_minutes=offset_at(tz, utc) if tz is not None else 0,
        sender=Participant(sender or None),
        recipients=[Participant(p) for p in people if p != sender],
        body=body,
        duration_seconds=int(m["call_duration"])
        if is_call and m.get("call_duration") is not None
        else None,
        media=any(m.get(k) for k in MEDIA_KEYS),
        position=where,
    )
