"""`vigil generate --exchanges`: synthetic chat and call exports beside the payments.

Written from the generated files (transactions.csv, labels.csv), so the generator's engine
needs to know nothing of them. For some offenders, their device or account export of the
chat with their main facilitator: a price stated before each payment, "sent" with the
reference, a call soon after it. As look-alikes, the same for some overseas workers and
partners abroad with the people they support: "sent" hours later, amounts days ahead, calls
at no fixed time after payments. One export per party, the formats taken in turn (Telegram
result.json, WhatsApp _chat.txt, UFDR report.xml, Meta message_1.json, a CSV of calls with
its layout). Neutral words only: "ok", "sent", amounts and references.

`exchanges/manifest.csv` says, for each file, its format, whose export it is
(`--owner`), the zone of its local times (`--timezone`), and the layout for a CSV.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import numpy as np
import phonenumbers
import polars as pl

from vigil.geo import main_time_zone
from vigil.synth.collection import mobile_number

FORMATS = ("telegram", "whatsapp", "ufdr", "meta", "csv")
OFFENDERS = 10
LOOKALIKES = 5
LOOKALIKE_ROLES = ("overseas_worker", "partner_abroad")
PAYMENTS_PER_EXPORT = 12
MANIFEST = "manifest.csv"
LAYOUT_FILE = "calls_layout.yaml"
LAYOUT = """kind: call
columns:
  time: Call Date/Time - (UTC)
  sender: CALLING_NO
  recipient: CALLED_NO
  duration: DURATION
time_format: "%d/%m/%Y %H:%M:%S"
"""


@dataclass
class Event:
    ts: datetime  # UTC, naive
    kind: str  # message or call
    from_owner: bool
    text: str = ""
    duration: int = 0


@dataclass
class Export:
    owner_id: str
    owner_name: str
    owner_country: str
    owner_phone: str
    other_id: str
    other_name: str
    other_phone: str
    role: str
    events: list[Event]


@dataclass(frozen=True)
class ExchangesResult:
    folder: Path
    files: list[Path]
    manifest: Path


def _international(phone: str, country: str) -> str:
    """A phone recorded as dialled at home (0917...) as a phone shows it (+63917...)."""
    try:
        number = phonenumbers.parse(phone, country)
    except phonenumbers.NumberParseException:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _amount_text(amount: str, currency: str, rng: np.random.Generator) -> str:
    value = amount[:-3] if amount.endswith(".00") else amount
    return f"{value} {currency}" if rng.random() < 0.5 else f"{currency} {value}"


def _offender_events(pays: pl.DataFrame, rng: np.random.Generator) -> list[Event]:
    events = []
    for row in pays.iter_rows(named=True):
        t = row["utc"]
        price = _amount_text(row["amount"], row["currency"], rng)
        events.append(
            Event(
                t - timedelta(minutes=float(rng.uniform(10, 90))), "message", False, f"ok {price}"
            )
        )
        events.append(
            Event(t - timedelta(minutes=float(rng.uniform(2, 15))), "message", True, "ok")
        )
        sent = f"sent, ref {row['txn_id']}" if rng.random() < 0.6 else "sent"
        events.append(Event(t + timedelta(minutes=float(rng.uniform(0, 4))), "message", True, sent))
        events.append(
            Event(
                t + timedelta(minutes=float(rng.uniform(5, 25))),
                "call",
                True,
                duration=int(rng.uniform(40, 60) * 60),
            )
        )
    return events


def _lookalike_events(pays: pl.DataFrame, rng: np.random.Generator) -> list[Event]:
    events = []
    for row in pays.iter_rows(named=True):
        t = row["utc"]
        if rng.random() < 0.5:
            ahead = _amount_text(row["amount"], row["currency"], rng)
            events.append(
                Event(t - timedelta(days=float(rng.uniform(2, 6))), "message", False, f"ok {ahead}")
            )
        events.append(Event(t + timedelta(hours=float(rng.uniform(1, 8))), "message", True, "sent"))
        events.append(Event(t + timedelta(hours=float(rng.uniform(9, 30))), "message", False, "ok"))
        if rng.random() < 0.4:
            events.append(
                Event(
                    t + timedelta(days=float(rng.uniform(1, 4))),
                    "call",
                    bool(rng.random() < 0.5),
                    duration=int(rng.uniform(3, 25) * 60),
                )
            )
    return events


def _exports(transactions: pl.DataFrame, labels: pl.DataFrame, seed: int) -> list[Export]:
    rng = np.random.default_rng([seed, 0xE8C])
    senders = labels.filter(pl.col("party_kind") == "sender").select(
        sender_id="party_id", role="role"
    )
    beneficiary_roles = labels.filter(pl.col("party_kind") == "beneficiary").select(
        beneficiary_id="party_id", beneficiary_role="role"
    )
    # A person's phone is recorded on their wallet and remittance payments only: the one a
    # bank transfer leaves out is still the one their payers call.
    recorded = (
        transactions.filter(pl.col("beneficiary_phone").is_not_null())
        .group_by("beneficiary_id")
        .agg(pl.col("beneficiary_phone").min(), pl.col("beneficiary_country").first())
    )

    def recorded_phone(beneficiary_id: str) -> str | None:
        found = recorded.filter(pl.col("beneficiary_id") == beneficiary_id)
        return _international(*found.row(0)[1:]) if found.height else None

    pays = (
        transactions.join(senders, on="sender_id")
        .join(beneficiary_roles, on="beneficiary_id")
        .with_columns(utc=pl.col("ts").str.to_datetime(time_zone="UTC").dt.replace_time_zone(None))
    )
    wanted = [("offender", "facilitator", OFFENDERS)] + [
        (role, None, LOOKALIKES // len(LOOKALIKE_ROLES) + 1) for role in LOOKALIKE_ROLES
    ]
    out = []
    for role, counterpart_role, count in wanted:
        mine = pays.filter(pl.col("role") == role)
        if counterpart_role:
            mine = mine.filter(pl.col("beneficiary_role") == counterpart_role)
        pairs = (
            mine.group_by("sender_id", "beneficiary_id")
            .agg(n=pl.len())
            .sort(["n", "sender_id", "beneficiary_id"], descending=[True, False, False])
            .unique("sender_id", keep="first", maintain_order=True)
            .head(count)
        )
        for sender_id, beneficiary_id, _n in pairs.iter_rows():
            pair = (
                mine.filter(
                    (pl.col("sender_id") == sender_id)
                    & (pl.col("beneficiary_id") == beneficiary_id)
                )
                .sort("utc")
                .head(PAYMENTS_PER_EXPORT)
            )
            first = pair.row(0, named=True)
            events = (_offender_events if role == "offender" else _lookalike_events)(pair, rng)
            out.append(
                Export(
                    owner_id=sender_id,
                    owner_name=first["sender_name"],
                    owner_country=first["sender_country"],
                    owner_phone=mobile_number(first["sender_country"], rng),
                    other_id=beneficiary_id,
                    other_name=first["beneficiary_name"],
                    other_phone=recorded_phone(beneficiary_id)
                    or mobile_number(first["beneficiary_country"], rng),
                    role=role,
                    events=sorted(events, key=lambda e: e.ts),
                )
            )
    return out


def write_exchanges(out: Path, *, seed: int = 0) -> ExchangesResult:
    """Write the exports for the population generated in `out` into `out/exchanges/`."""
    out = Path(out)
    transactions = pl.read_csv(out / "transactions.csv", infer_schema=False)
    labels = pl.read_csv(out / "labels.csv", infer_schema=False)
    folder = out / "exchanges"
    folder.mkdir(parents=True, exist_ok=True)
    files, manifest_rows = [], []
    for index, export in enumerate(_exports(transactions, labels, seed)):
        fmt = FORMATS[index % len(FORMATS)]
        zone = main_time_zone().get(export.owner_country, "UTC")
        path = WRITERS[fmt](folder, export, ZoneInfo(zone))
        files.append(path)
        manifest_rows.append(
            {
                "file": path.name,
                "format": fmt,
                "owner": f"sender:{export.owner_id}",
                "timezone": zone if fmt in {"whatsapp", "telegram"} else "",
                "layout": LAYOUT_FILE if fmt == "csv" else "",
                "role": export.role,
                "counterpart": f"beneficiary:{export.other_id}",
            }
        )
    if any(r["format"] == "csv" for r in manifest_rows):
        (folder / LAYOUT_FILE).write_text(LAYOUT)
    manifest = folder / MANIFEST
    with manifest.open("w", newline="") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=list(manifest_rows[0]) if manifest_rows else ["file"]
        )
        writer.writeheader()
        writer.writerows(manifest_rows)
    return ExchangesResult(folder, files, manifest)


# --- writers, one per format ----------------------------------------------------------------


def _local(ts: datetime, zone: ZoneInfo) -> datetime:
    return ts.replace(tzinfo=UTC).astimezone(zone)


def _telegram(folder: Path, e: Export, zone: ZoneInfo) -> Path:
    owner_uid, other_uid = 700_000 + hash_id(e.owner_id), 800_000 + hash_id(e.other_id)
    messages = []
    for n, ev in enumerate(e.events, start=1):
        local = _local(ev.ts, zone).replace(tzinfo=None).isoformat(timespec="seconds")
        epoch = str(int(ev.ts.replace(tzinfo=UTC).timestamp()))
        who, uid = (e.owner_name, owner_uid) if ev.from_owner else (e.other_name, other_uid)
        if ev.kind == "call":
            messages.append(
                {
                    "id": n,
                    "type": "service",
                    "date": local,
                    "date_unixtime": epoch,
                    "actor": who,
                    "actor_id": f"user{uid}",
                    "action": "phone_call",
                    "duration_seconds": ev.duration,
                }
            )
        else:
            messages.append(
                {
                    "id": n,
                    "type": "message",
                    "date": local,
                    "date_unixtime": epoch,
                    "from": who,
                    "from_id": f"user{uid}",
                    "text": ev.text,
                    "text_entities": [{"type": "plain", "text": ev.text}],
                }
            )
    first, _, last = e.owner_name.partition(" ")
    data = {
        "about": "Here is the data you requested.",
        "personal_information": {
            "user_id": owner_uid,
            "first_name": first,
            "last_name": last,
            "phone_number": e.owner_phone,
            "username": "",
        },
        "contacts": {
            "about": "",
            "list": [
                {
                    "user_id": other_uid,
                    "first_name": e.other_name,
                    "last_name": "",
                    "phone_number": e.other_phone,
                }
            ],
        },
        "chats": {
            "about": "",
            "list": [
                {
                    "name": e.other_name,
                    "type": "personal_chat",
                    "id": other_uid,
                    "messages": messages,
                }
            ],
        },
    }
    path = folder / f"{e.owner_id}_telegram_result.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _whatsapp(folder: Path, e: Export, zone: ZoneInfo) -> Path:
    lines = []
    us = e.owner_country == "US"
    # the facilitator is an unsaved contact on half of the phones: the raw number shows
    other = e.other_phone if hash_id(e.owner_id) % 2 else e.other_name
    for ev in e.events:
        if ev.kind == "call":
            continue  # WhatsApp text exports do not list calls reliably
        local = _local(ev.ts, zone)
        who = e.owner_name if ev.from_owner else other
        if us:  # Android, month first, 12-hour clock with U+202F
            clock = f"{local.hour % 12 or 12}:{local:%M}\u202f{local:%p}"
            stamp = f"{local.month}/{local.day}/{local:%y}, {clock}"
            lines.append(f"{stamp} - {who}: {ev.text}")
        else:  # iOS, day first, U+200E
            lines.append(f"\u200e[{local:%d/%m/%Y, %H:%M:%S}] {who}: {ev.text}")
    path = folder / f"{e.owner_id}_whatsapp_chat.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ufdr(folder: Path, e: Export, zone: ZoneInfo) -> Path:
    def party(name: str, phone: str) -> str:
        return (
            f'<model type="Party"><field name="Identifier"><value>{escape(phone)}</value>'
            f'</field><field name="Name"><value>{escape(name)}</value></field></model>'
        )

    def stamp(ts: datetime) -> str:
        return _local(ts, zone).isoformat(timespec="milliseconds")

    me, them = party(e.owner_name, e.owner_phone), party(e.other_name, e.other_phone)
    messages, calls = [], []
    for n, ev in enumerate(e.events):
        if ev.kind == "call":
            h, rest = divmod(ev.duration, 3600)
            direction = "Outgoing" if ev.from_owner else "Incoming"
            length = f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}"
            calls.append(
                f'<model type="Call" id="k{n}"><field name="TimeStamp"><value>{stamp(ev.ts)}'
                f'</value></field><field name="Type"><value>{direction}'
                f'</value></field><field name="Duration"><value>{length}'
                f'</value></field><multiModelField name="Parties">{them}</multiModelField></model>'
            )
        else:
            sender = me if ev.from_owner else them
            messages.append(
                f'<model type="InstantMessage" id="m{n}"><field name="TimeStamp"><value>'
                f'{stamp(ev.ts)}</value></field><field name="Body"><value>{escape(ev.text)}'
                f'</value></field><modelField name="From">{sender}</modelField></model>'
            )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<project id="synthetic" xmlns="http://pa.cellebrite.com/report/2.0">'
        f'<metadata section="Additional Fields"><item name="DeviceInfoOwnerName">'
        f'{escape(e.owner_name)}</item><item name="MSISDN">{e.owner_phone}</item></metadata>'
        '<decodedData><modelType type="Chat"><model type="Chat" id="c1"><field name="Name">'
        f'<value>{escape(e.other_name)}</value></field><multiModelField name="Participants">'
        f'{me}{them}</multiModelField><multiModelField name="Messages">{"".join(messages)}'
        f'</multiModelField></model></modelType><modelType type="Call">{"".join(calls)}'
        "</modelType></decodedData></project>\n"
    )
    path = folder / f"{e.owner_id}_ufdr_report.xml"
    path.write_text(xml, encoding="utf-8")
    return path


def _meta(folder: Path, e: Export, zone: ZoneInfo) -> Path:
    def mangle(text: str) -> str:  # Meta's export writes UTF-8 bytes as \u00XX escapes
        return text.encode("utf-8").decode("latin-1")

    messages = []
    for ev in reversed(e.events):  # newest first, as Meta writes them
        who = mangle(e.owner_name if ev.from_owner else e.other_name)
        entry = {
            "sender_name": who,
            "timestamp_ms": int(ev.ts.replace(tzinfo=UTC).timestamp() * 1000),
        }
        if ev.kind == "call":
            entry.update(content=f"{who} started a call.", type="Call", call_duration=ev.duration)
        else:
            entry.update(content=mangle(ev.text), type="Generic")
        messages.append(entry)
    data = {
        "participants": [{"name": mangle(e.other_name)}, {"name": mangle(e.owner_name)}],
        "messages": messages,
        "title": mangle(e.other_name),
        "thread_path": f"inbox/{e.other_id.lower()}",
    }
    path = folder / f"{e.owner_id}_meta_message_1.json"
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="ascii")
    return path


def _calls_csv(folder: Path, e: Export, zone: ZoneInfo) -> Path:
    path = folder / f"{e.owner_id}_calls.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["CALLING_NO", "CALLED_NO", "Call Date/Time - (UTC)", "DURATION", "CALL_TYPE"]
        )
        for ev in e.events:
            if ev.kind != "call":
                continue
            calling, called = (
                (e.owner_phone, e.other_phone) if ev.from_owner else (e.other_phone, e.owner_phone)
            )
            writer.writerow(
                [
                    calling,
                    called,
                    f"{ev.ts:%d/%m/%Y %H:%M:%S}",
                    ev.duration,
                    "MO" if ev.from_owner else "MT",
                ]
            )
    return path


def hash_id(text: str) -> int:
    """A small stable number from an id (Python's hash() changes between runs)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(text)) % 100_000


WRITERS = {
    "telegram": _telegram,
    "whatsapp": _whatsapp,
    "ufdr": _ufdr,
    "meta": _meta,
    "csv": _calls_csv,
}
