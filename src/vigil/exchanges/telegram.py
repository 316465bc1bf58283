"""Telegram Desktop `result.json`: a full export (`chats.list`) or one chat (`messages`).

`date_unixtime` (since tdesktop 3.7.6, June 2022) is UTC epoch seconds and is used whenever
present; `date` is the exporting computer's local time without an offset, used only for
older exports and placed in `--timezone` (research/exchanges.md §1, [X1][X2]). Service
messages with the `phone_call` action are calls; other service messages are kept as
messages with their action as the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from vigil.exchanges.clock import LocalClock, epoch_utc, offset_at
from vigil.exchanges.records import TZ_EPOCH, Exchange, ExchangeError, Participant

WARN_NO_UNIXTIME = "telegram export without date_unixtime (before tdesktop 3.7.6): local time"


def looks_like(head: str) -> bool:
    return head.lstrip().startswith("{") and (
        '"messages"' in head or '"chats"' in head or '"personal_information"' in head
    )


def parse(path: Path, tz: ZoneInfo | None) -> Iterator[Exchange]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExchangeError(f"{path}: not a readable Telegram result.json: {error}") from error
    if not isinstance(data, dict):
        raise ExchangeError(f"{path}: not a Telegram export (the root is not an object)")
    owner = _owner(data)
    phones = _contact_phones(data)
    info = data.get("personal_information")
    if isinstance(info, dict) and info.get("user_id") and info.get("phone_number"):
        phones.setdefault(f"user{info['user_id']}", str(info["phone_number"]))
    if "messages" in data:
        chats = [data]
    elif isinstance(data.get("chats"), dict) and isinstance(data["chats"].get("list"), list):
        chats = data["chats"]["list"]
    else:
        raise ExchangeError(f"{path}: neither a single-chat nor a full Telegram export")
    for c, chat in enumerate(chats):
        if not isinstance(chat, dict) or not isinstance(chat.get("messages"), list):
            raise ExchangeError(f"{path}: chats.list[{c}] has no messages list")
        yield from _chat(chat, c, owner, phones, tz)


def _owner(data: dict[str, Any]) -> Participant | None:
    info = data.get("personal_information")
    if not isinstance(info, dict):
        return None
    name = " ".join(str(info.get(k) or "") for k in ("first_name", "last_name")).strip()
    return Participant(
        name or None, info.get("phone_number") or (info.get("username") and "@" + info["username"])
    )


def _contact_phones(data: dict[str, Any]) -> dict[str, str]:
    """Telegram user id -> the phone number of the export's address book."""
    contacts = data.get("contacts")
    rows = contacts.get("list", []) if isinstance(contacts, dict) else []
    return {
        f"user{row['user_id']}": row["phone_number"]
        for row in rows
        if isinstance(row, dict) and row.get("user_id") and row.get("phone_number")
    }


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v if isinstance(v, str) else str(v.get("text", "")) for v in value)
    return ""


def _chat(
    chat: dict[str, Any],
    index: int,
    owner: Participant | None,
    phones: dict[str, str],
    tz: ZoneInfo | None,
) -> Iterator[Exchange]:
    thread = str(chat.get("name") or chat.get("id") or f"chat {index}")
    clock = LocalClock(tz)
    members: dict[str, Participant] = {}
    messages = chat["messages"]
    for m in messages:
        if isinstance(m, dict) and m.get("from_id"):
            from_id = str(m["from_id"])
            members.setdefault(
                from_id, Participant(m.get("from") or None, phones.get(from_id, from_id))
            )
    for position, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        exchange = _message(m, thread, index, position, clock, members, phones, owner)
        if exchange is not None:
            yield exchange


def _message(
    m: dict[str, Any],
    thread: str,
    chat_index: int,
    position: int,
    clock: LocalClock,
    members: dict[str, Participant],
    phones: dict[str, str],
    owner: Participant | None,
) -> Exchange | None:
    where = f"chats[{chat_index}].messages[{position}]"
    warnings: list[str] = []
    if m.get("date_unixtime") not in (None, ""):
        try:
            ts_utc = epoch_utc(int(m["date_unixtime"]))
        except (TypeError, ValueError) as error:
            raise ExchangeError(
                f"{where}: date_unixtime {m['date_unixtime']!r} is not a number"
            ) from error
        ts_raw, source, offset = str(m["date_unixtime"]), TZ_EPOCH, 0
        if clock.tz is not None:  # the exporting computer's clock, for display
            offset = offset_at(clock.tz, ts_utc)
    else:
        raw = str(m.get("date") or "")
        try:
            wall = datetime.fromisoformat(raw)
        except ValueError as error:
            raise ExchangeError(f"{where}: date {raw!r} is not an ISO date-time") from error
        ts_utc, offset, warnings = clock.to_utc(wall.replace(tzinfo=None))
        ts_raw, source = raw, clock.source
        warnings = [WARN_NO_UNIXTIME, *warnings]
    from_id = str(m.get("from_id") or m.get("actor_id") or "")
    sender = members.get(from_id) or Participant(
        m.get("from") or m.get("actor") or None, phones.get(from_id, from_id or None)
    )
    recipients = [p for key, p in members.items() if key != from_id]
    named = {p.name for p in [sender, *recipients]}
    if owner is not None and owner.name not in named:
        recipients.append(owner)
    body = _text(m.get("text"))
    for entity in m.get("text_entities") or []:
        if isinstance(entity, dict) and entity.get("type") == "text_link" and entity.get("href"):
            body += f" {entity['href']}"
    contact = m.get("contact_information")
    if isinstance(contact, dict) and contact.get("phone_number"):
        body = f"{body} {contact['phone_number']}".strip()
    kind, duration = "message", None
    if m.get("type") == "service":
        action = str(m.get("action") or "")
        if action in {"phone_call", "group_call"}:
            kind = "call"
            duration = int(m.get("duration_seconds") or 0)
            body = body or str(m.get("discard_reason") or action)
        elif action == "send_payment" and m.get("amount") is not None:
            body = f"{body} payment {m['amount']} {m.get('currency', '')}".strip()
        else:
            body = body or action
    media = bool(m.get("photo") or m.get("file") or m.get("media_type"))
    return Exchange(
        kind=kind,
        thread=thread,
        local_id=str(m.get("id", position)),
        ts_utc=ts_utc,
        ts_raw=ts_raw,
        tz_source=source,
        utc_offset_minutes=offset,
        sender=sender,
        recipients=recipients,
        body=body,
        duration_seconds=duration,
        media=media,
        position=where,
        warnings=warnings,
    )
