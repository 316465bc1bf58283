"""One party's messages, calls and payments on one UTC axis, each also in its local clocks.

Messages and calls come from the threads the identifier bridge ties to the party; each shows
the writer's clock (the UTC offset its export gave or was assumed). Payments show the
sender's clock (from the input's offset) and the beneficiary's (the main zone of the
beneficiary's country). Rows behind a payment-message link are marked `linked`, with the
kinds of link. A long history is cut to the linked rows and what lies within a day of one.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from vigil.exchanges.bridge import LINKS as PARTY_LINKS
from vigil.exchanges.correlate import EXCHANGE_LINKS
from vigil.exchanges.store import MESSAGES
from vigil.geo import main_time_zone
from vigil.workspace import Workspace

MAX_ROWS = 400
NEAR = timedelta(days=1)


@dataclass(frozen=True)
class TimelineRow:
    ts_utc: datetime
    kind: str  # payment, message or call
    what: str
    local_times: list[str]  # "sender 2023-03-04 08:15 (UTC-05:00)", ...
    source: str  # txn id, or file and position
    ref: str  # txn_id or message_id
    linked: bool
    link_kinds: list[str]
    tz_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts_utc": self.ts_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kind": self.kind,
            "what": self.what,
            "local_times": self.local_times,
            "source": self.source,
            "ref": self.ref,
            "linked": self.linked,
            "link_kinds": self.link_kinds,
            "tz_note": self.tz_note,
        }


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _clock(ts_utc: datetime, minutes: int) -> str:
    local = ts_utc + timedelta(minutes=minutes)
    return f"{local:%Y-%m-%d %H:%M} ({_offset_text(minutes)})"


def _zone_clock(ts_utc: datetime, country: str) -> str | None:
    zone = main_time_zone().get(country)
    if zone is None:
        return None
    local = ts_utc.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return f"{local:%Y-%m-%d %H:%M} ({_offset_text(minutes)}, {zone})"


def has_timeline(ws: Workspace) -> bool:
    return ws.has_table(MESSAGES) and ws.has_table(PARTY_LINKS) and ws.has_table(EXCHANGE_LINKS)


def party_timeline(
    ws: Workspace, kind: str, party_id: str, max_rows: int = MAX_ROWS
) -> list[TimelineRow]:
    """The party's timeline, oldest first; empty when no exchange concerns the party."""
    if not has_timeline(ws):
        return []
    messages = ws.con.execute(
        f"""SELECT m.message_id, m.ts_utc, m.kind, m.sender_name, m.sender_identifier, m.body,
                   m.duration_seconds, m.utc_offset_minutes, m.tz_source, m.tz_assumed,
                   m.source_file, m.position, m.media,
                   list(DISTINCT l.kind) FILTER (l.kind IS NOT NULL) AS link_kinds
            FROM {MESSAGES} m
            LEFT JOIN {EXCHANGE_LINKS} l ON l.message_id = m.message_id AND l.{kind}_id = $id
            WHERE m.thread_key IN (SELECT thread_key FROM {PARTY_LINKS}
                                   WHERE party_kind = $kind AND party_id = $id)
            GROUP BY ALL ORDER BY m.ts_utc, m.message_id""",
        {"kind": kind, "id": party_id},
    ).fetchall()
    if not messages:
        return []
    payments = ws.con.execute(
        f"""SELECT p.txn_id, p.ts_utc, p.ts_local, p.sender_utc_offset_minutes, p.amount,
                   p.currency, p.sender_id, p.beneficiary_id, p.beneficiary_country,
                   list(DISTINCT l.kind) FILTER (l.kind IS NOT NULL) AS link_kinds
            FROM payments p LEFT JOIN {EXCHANGE_LINKS} l ON l.txn_id = p.txn_id
            WHERE p.{kind}_id = $id GROUP BY ALL ORDER BY p.ts_utc, p.txn_id""",
        {"id": party_id},
    ).fetchall()
    rows = [_message_row(m) for m in messages] + [_payment_row(p) for p in payments]
    rows.sort(key=lambda r: (r.ts_utc, r.kind != "payment", r.ref))
    return _cut(rows, max_rows)


def _message_row(m: tuple) -> TimelineRow:
    (
        message_id,
        ts,
        kind,
        name,
        identifier,
        body,
        duration,
        offset,
        source,
        assumed,
        file,
        position,
        media,
        link_kinds,
    ) = m
    who = name or identifier or "system"
    if kind == "call":
        what = f"call with {who}" + (
            f", {duration // 60} min {duration % 60} s" if duration else ""
        )
    else:
        text = body if len(body) <= 120 else body[:117] + "..."
        what = f"{who}: {text}" + (" [media]" if media else "")
    note = "time zone assumed (UTC): the export gave none" if assumed else f"zone from {source}"
    return TimelineRow(
        ts_utc=ts,
        kind=kind,
        what=what,
        local_times=[f"writer {_clock(ts, offset)}"],
        source=f"{file}, {position}",
        ref=message_id,
        linked=bool(link_kinds),
        link_kinds=sorted(link_kinds or []),
        tz_note=note,
    )


def _payment_row(p: tuple) -> TimelineRow:
    (txn_id, ts, _ts_local, offset, amount, currency, sender, beneficiary, country, link_kinds) = p
    clocks = [f"sender {_clock(ts, int(offset))}"]
    beneficiary_clock = _zone_clock(ts, country)
    if beneficiary_clock:
        clocks.append(f"beneficiary {beneficiary_clock}")
    return TimelineRow(
        ts_utc=ts,
        kind="payment",
        what=f"payment {amount:.2f} {currency} from {sender} to {beneficiary}",
        local_times=clocks,
        source=f"payment {txn_id}",
        ref=txn_id,
        linked=bool(link_kinds),
        link_kinds=sorted(link_kinds or []),
    )


def _cut(rows: list[TimelineRow], max_rows: int) -> list[TimelineRow]:
    if len(rows) <= max_rows:
        return rows
    anchors = sorted(r.ts_utc for r in rows if r.linked)
    if anchors:
        rows = [r for r in rows if r.linked or _near(anchors, r.ts_utc)]
    return rows[:max_rows]


def _near(anchors: list[datetime], moment: datetime) -> bool:
    i = bisect.bisect_left(anchors, moment)
    return any(abs(anchors[j] - moment) <= NEAR for j in (i - 1, i) if 0 <= j < len(anchors))


def timeline_frame(rows: list[TimelineRow]) -> pl.DataFrame:
    """The timeline as a table for CSV: one clock per column, link kinds joined."""
    return pl.DataFrame(
        {
            "ts_utc": [r.ts_utc.strftime("%Y-%m-%dT%H:%M:%SZ") for r in rows],
            "kind": [r.kind for r in rows],
            "what": [r.what for r in rows],
            "local_times": ["; ".join(r.local_times) for r in rows],
            "source": [r.source for r in rows],
            "ref": [r.ref for r in rows],
            "linked": [r.linked for r in rows],
            "link_kinds": [";".join(r.link_kinds) for r in rows],
            "tz_note": [r.tz_note for r in rows],
        }
    )
