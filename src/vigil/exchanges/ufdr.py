"""Cellebrite UFDR `report.xml` (or a .ufdr zip holding it): chats, instant messages, SMS and
calls, streamed with lxml `iterparse` so that a report of gigabytes parses in bounded memory.

Layout (namespace http://pa.cellebrite.com/report/2.0, research §1 [X11]):
`decodedData/modelType[@type]/model[@type]` with `field[@name]/value` children, the parties
under `modelField` (From, To) or `multiModelField` (Participants, To), a chat's messages
under `multiModelField[@name="Messages"]`. Times are ISO 8601 with their offset. External
entities and network access are off: a report is evidence, not a trusted document.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from lxml import etree

from vigil.exchanges.clock import LocalClock, aware_to_utc
from vigil.exchanges.records import TZ_OFFSET, Exchange, ExchangeError, Participant

NS = "http://pa.cellebrite.com/report/2.0"
_MODEL = f"{{{NS}}}model"
_FIELD = f"{{{NS}}}field"
_VALUE = f"{{{NS}}}value"
_MODEL_FIELD = f"{{{NS}}}modelField"
_MULTI = f"{{{NS}}}multiModelField"
MESSAGE_TYPES = {"InstantMessage", "SMS", "Email"}


def looks_like(head: str) -> bool:
    return "pa.cellebrite.com/report" in head


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "report.xml"]
            if not names:
                raise ExchangeError(f"{path}: a zip without report.xml is not a UFDR")
            with archive.open(names[0]) as handle:
                yield handle
    else:
        with path.open("rb") as handle:
            yield handle


def _fields(model: etree._Element) -> dict[str, str]:
    out = {}
    for field in model.iterchildren(_FIELD):
        value = field.find(_VALUE)
        if value is not None and value.text is not None:
            out[field.get("name", "")] = value.text.strip()
    return out


def _parties(model: etree._Element, name: str) -> list[Participant]:
    found = []
    for holder in model.iterchildren(_MODEL_FIELD, _MULTI):
        if holder.get("name") != name:
            continue
        for party in holder.iterchildren(_MODEL):
            f = _fields(party)
            found.append(Participant(f.get("Name") or None, f.get("Identifier") or None))
    return found


def _time(raw: str, clock: LocalClock, where: str) -> tuple[datetime, int, str, list[str]]:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise ExchangeError(f"{where}: TimeStamp {raw!r} is not an ISO 8601 time") from error
    if moment.tzinfo is not None:
        utc, offset = aware_to_utc(moment)
        return utc, offset, TZ_OFFSET, []
    utc, offset, warnings = clock.to_utc(moment)  # an examiner's lossy conversion
    return utc, offset, clock.source, warnings


def parse(path: Path, tz: ZoneInfo | None) -> Iterator[Exchange]:
    clock = LocalClock(tz)
    owner: Participant | None = None
    try:
        with _open(path) as handle:
            events = etree.iterparse(
                handle,
                events=("end",),
                tag=(_MODEL, f"{{{NS}}}metadata"),
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=True,
            )
            for _event, element in events:
                if element.tag == f"{{{NS}}}metadata":
                    owner = _owner(element) or owner
                    continue
                kind = element.get("type")
                parent = element.getparent()
                top_level = parent is not None and parent.tag == f"{{{NS}}}modelType"
                if not top_level:
                    continue  # nested models are read with their chat or call
                if kind == "Chat":
                    yield from _chat(element, path, clock, owner)
                elif kind == "Call":
                    yield _call(element, path, clock, owner)
                elif kind in MESSAGE_TYPES:
                    yield _message(element, kind, path, clock, owner, [], kind)
                element.clear(keep_tail=True)
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except etree.XMLSyntaxError as error:
        raise ExchangeError(f"{path}: not well-formed XML: {error}") from error


def _owner(metadata: etree._Element) -> Participant | None:
    items = {item.get("name"): (item.text or "").strip() for item in metadata.iter(f"{{{NS}}}item")}
    name = items.get("DeviceInfoOwnerName")
    number = items.get("MSISDN") or items.get("DeviceInfoAppleID")
    return Participant(name or None, number or None) if name or number else None


def _chat(
    chat: etree._Element, path: Path, clock: LocalClock, owner: Participant | None
) -> Iterator[Exchange]:
    f = _fields(chat)
    thread = f.get("Name") or f.get("Id") or chat.get("id") or "chat"
    members = _parties(chat, "Participants")
    for holder in chat.iterchildren(_MULTI):
        if holder.get("name") != "Messages":
            continue
        for message in holder.iterchildren(_MODEL):
            yield _message(message, "InstantMessage", path, clock, owner, members, thread)


def _message(
    element: etree._Element,
    kind: str,
    path: Path,
    clock: LocalClock,
    owner: Participant | None,
    members: list[Participant],
    thread: str,
) -> Exchange:
    f = _fields(element)
    where = f"{path.name}: model {element.get('id') or ''} (line {element.sourceline})"
    raw = f.get("TimeStamp") or f.get("DateSent") or ""
    if not raw:
        raise ExchangeError(f"{where}: {kind} without TimeStamp")
    utc, offset, source, warnings = _time(raw, clock, where)
    senders = _parties(element, "From")
    recipients = _parties(element, "To") or [m for m in members if m not in senders]
    sender = senders[0] if senders else (owner or Participant())
    if not recipients and owner is not None and owner != sender:
        recipients = [owner]
    body = f.get("Body") or f.get("Subject") or ""
    attachments = any(
        h.get("name") == "Attachments" and len(h) for h in element.iterchildren(_MULTI)
    )
    return Exchange(
        kind="message",
        thread=thread,
        local_id=element.get("id") or f"line {element.sourceline}",
        ts_utc=utc,
        ts_raw=raw,
        tz_source=source,
        utc_offset_minutes=offset,
        sender=sender,
        recipients=recipients,
        body=body,
        media=attachments,
        position=f"line {element.sourceline}",
        warnings=warnings,
    )


def _seconds(text: str | None) -> int | None:
    if not text:
        return None
    parts = text.split(":")
    try:
        if len(parts) == 3:
            return int(float(parts[0]) * 3600 + float(parts[1]) * 60 + float(parts[2]))
        return int(float(text))
    except ValueError:
        return None


def _call(
    element: etree._Element, path: Path, clock: LocalClock, owner: Participant | None
) -> Exchange:
    f = _fields(element)
    where = f"{path.name}: call {element.get('id') or ''} (line {element.sourceline})"
    raw = f.get("TimeStamp") or ""
    if not raw:
        raise ExchangeError(f"{where}: Call without TimeStamp")
    utc, offset, source, warnings = _time(raw, clock, where)
    parties = _parties(element, "Parties") or _parties(element, "Party")
    others = [p for p in parties if p != owner]
    me = owner or Participant()
    outgoing = (f.get("Type") or "").lower() == "outgoing"
    sender, recipients = (
        (me, others) if outgoing else (others[0] if others else Participant(), [me])
    )
    return Exchange(
        kind="call",
        thread=(others[0].identifier or others[0].name or "calls") if others else "calls",
        local_id=element.get("id") or f"line {element.sourceline}",
        ts_utc=utc,
        ts_raw=raw,
        tz_source=source,
        utc_offset_minutes=offset,
        sender=sender,
        recipients=recipients,
        body=f"{f.get('Type') or 'call'} {f.get('Status') or ''}".strip(),
        duration_seconds=_seconds(f.get("Duration")),
        position=f"line {element.sourceline}",
        warnings=warnings,
    )
