"""Exchanges in the workspace: the files imported, their messages and calls, the identifiers
written in them, and who takes part in each thread.

Tables (created on first import, replaced per file on re-import: the file's SHA-256 is its
key, so importing the same export twice changes nothing):
- `exchange_files`: one row per imported file (name, SHA-256, format, owner, zone given).
- `exchange_messages`: one row per message or call, with `ts_utc`, `ts_raw`, `tz_source`,
  `tz_assumed`, the writer's UTC offset, sender, recipients, body and the place in the file.
- `exchange_identifiers`: phones (E.164), e-mails, handles, accounts, references and amounts
  written in a message (`role` body) or naming its sender / recipients (`role` party).
- `exchange_thread_members`: every participant of every thread, once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
import pyarrow as pa

from vigil.exchanges import identifiers as ids
from vigil.exchanges.records import Exchange, Participant
from vigil.geo import country_of_zone
from vigil.ingest.fx import load_fx_rates
from vigil.workspace import Workspace

FILES = "exchange_files"
MESSAGES = "exchange_messages"
IDENTIFIERS = "exchange_identifiers"
MEMBERS = "exchange_thread_members"
FLUSH_ROWS = 20_000

DDL = {
    FILES: """CREATE TABLE IF NOT EXISTS exchange_files (
        file_sha256 VARCHAR PRIMARY KEY, source_file VARCHAR NOT NULL, path VARCHAR,
        format VARCHAR NOT NULL, owner_kind VARCHAR, owner_id VARCHAR, timezone VARCHAR,
        region VARCHAR, messages BIGINT NOT NULL, calls BIGINT NOT NULL,
        imported_at TIMESTAMP NOT NULL)""",
    MESSAGES: """CREATE TABLE IF NOT EXISTS exchange_messages (
        message_id VARCHAR NOT NULL, file_sha256 VARCHAR NOT NULL, source_file VARCHAR NOT NULL,
        format VARCHAR NOT NULL, kind VARCHAR NOT NULL, thread_key VARCHAR NOT NULL,
        thread VARCHAR NOT NULL, local_id VARCHAR NOT NULL, position VARCHAR NOT NULL,
        ts_utc TIMESTAMP NOT NULL, ts_raw VARCHAR NOT NULL, tz_source VARCHAR NOT NULL,
        tz_assumed BOOLEAN NOT NULL, utc_offset_minutes INTEGER NOT NULL,
        sender_name VARCHAR, sender_identifier VARCHAR, recipients VARCHAR NOT NULL,
        body VARCHAR NOT NULL, duration_seconds INTEGER, media BOOLEAN NOT NULL,
        warnings VARCHAR[] NOT NULL, owner_kind VARCHAR, owner_id VARCHAR)""",
    IDENTIFIERS: """CREATE TABLE IF NOT EXISTS exchange_identifiers (
        message_id VARCHAR NOT NULL, file_sha256 VARCHAR NOT NULL, thread_key VARCHAR NOT NULL,
        role VARCHAR NOT NULL, kind VARCHAR NOT NULL, value VARCHAR NOT NULL,
        national VARCHAR, raw VARCHAR NOT NULL, amount DECIMAL(20, 4), currency VARCHAR,
        amount_reporting DOUBLE)""",
    MEMBERS: """CREATE TABLE IF NOT EXISTS exchange_thread_members (
        thread_key VARCHAR NOT NULL, file_sha256 VARCHAR NOT NULL, name VARCHAR,
        identifier VARCHAR, id_kind VARCHAR, id_value VARCHAR, national VARCHAR,
        is_owner BOOLEAN NOT NULL)""",
}


@dataclass(frozen=True)
class FileImport:
    path: Path
    format: str
    sha256: str
    messages: int
    calls: int
    assumed: int  # messages whose zone was assumed
    warnings: int  # messages with a warning (d/m ambiguity, DST fold or gap, old export)


def ensure_tables(ws: Workspace) -> None:
    for ddl in DDL.values():
        ws.con.execute(ddl)


def has_exchanges(ws: Workspace) -> bool:
    return ws.has_table(MESSAGES) and ws.count(MESSAGES) > 0


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _national(e164: str) -> str | None:
    try:
        return str(phonenumbers.parse(e164).national_number)
    except phonenumbers.NumberParseException:
        return None


class _Rows:
    """Column lists for the four tables of one file, filled exchange by exchange."""

    def __init__(
        self,
        sha: str,
        name: str,
        fmt: str,
        owner: tuple[str, str] | None,
        region: str | None,
        reporting: str,
    ) -> None:
        self.sha, self.name, self.fmt, self.owner, self.region = sha, name, fmt, owner, region
        self.rates = load_fx_rates(None)
        self.reporting = reporting
        self.messages: list[dict] = []
        self.identifiers: list[dict] = []
        self.members: dict[tuple[str, str | None, str | None], dict] = {}

    def thread_key(self, thread: str) -> str:
        return f"{self.sha[:12]}:{thread}"

    def add(self, seq: int, e: Exchange, owner_participant: Participant | None) -> None:
        message_id = f"{self.sha[:12]}-{seq:06d}"
        key = self.thread_key(e.thread)
        owner_kind, owner_id = self.owner or (None, None)
        self.messages.append(
            {
                "message_id": message_id,
                "file_sha256": self.sha,
                "source_file": self.name,
                "format": self.fmt,
                "kind": e.kind,
                "thread_key": key,
                "thread": e.thread,
                "local_id": e.local_id,
                "position": e.position,
                "ts_utc": e.ts_utc,
                "ts_raw": e.ts_raw,
                "tz_source": e.tz_source,
                "tz_assumed": e.tz_assumed,
                "utc_offset_minutes": e.utc_offset_minutes,
                "sender_name": e.sender.name,
                "sender_identifier": e.sender.identifier,
                "recipients": json.dumps(
                    [[r.name, r.identifier] for r in e.recipients], ensure_ascii=False
                ),
                "body": e.body,
                "duration_seconds": e.duration_seconds,
                "media": e.media,
                "warnings": list(e.warnings),
                "owner_kind": owner_kind,
                "owner_id": owner_id,
            }
        )
        for ident in ids.identifiers_in(e.body, self.region):
            self._identifier(message_id, key, "body", ident, e.ts_utc.year)
        for p in [e.sender, *e.recipients]:
            self._member(key, p, is_owner=False)
            found = ids.participant_identifier(p.identifier, self.region)
            if found is not None:
                self._identifier(message_id, key, "party", found, e.ts_utc.year)
        if owner_participant is not None:
            self._member(key, owner_participant, is_owner=True)

    def _identifier(
        self, message_id: str, key: str, role: str, ident: ids.Identifier, year: int
    ) -> None:
        reporting = None
        if ident.amount is not None and ident.currency in self.rates.currencies:
            reporting = float(ident.amount) * self.rates.rate(ident.currency, year, self.reporting)
        self.identifiers.append(
            {
                "message_id": message_id,
                "file_sha256": self.sha,
                "thread_key": key,
                "role": role,
                "kind": ident.kind,
                "value": ident.value,
                "national": _national(ident.value) if ident.kind == ids.PHONE else None,
                "raw": ident.raw,
                "amount": ident.amount,
                "currency": ident.currency,
                "amount_reporting": reporting,
            }
        )

    def _member(self, key: str, p: Participant, *, is_owner: bool) -> None:
        if not (p.name or p.identifier):
            return
        slot = (key, p.name, p.identifier)
        found = ids.participant_identifier(p.identifier, self.region)
        row = self.members.get(slot)
        if row is None:
            self.members[slot] = {
                "thread_key": key,
                "file_sha256": self.sha,
                "name": p.name,
                "identifier": p.identifier,
                "id_kind": found.kind if found else None,
                "id_value": found.value if found else None,
                "national": _national(found.value) if found and found.kind == ids.PHONE else None,
                "is_owner": is_owner,
            }
        elif is_owner:
            row["is_owner"] = True


_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "BOOLEAN": pa.bool_(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "DECIMAL(20,4)": pa.decimal128(20, 4),
    "VARCHAR[]": pa.list_(pa.string()),
}


def _append(ws: Workspace, table: str, rows: Iterable[dict]) -> None:
    rows = list(rows)
    if not rows:
        return
    columns = ws.con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
        "AND schema_name = 'main' ORDER BY column_index",
        [table],
    ).fetchall()
    schema = pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in columns])
    arrow = pa.Table.from_pylist(rows, schema=schema)
    view = f"__vigil_append_{table}"
    ws.con.register(view, arrow)
    try:
        ws.con.execute(f"INSERT INTO {table} SELECT * FROM {view}")
    finally:
        ws.con.unregister(view)


def store_file(
    ws: Workspace,
    path: Path,
    fmt: str,
    exchanges: Iterable[Exchange],
    *,
    owner: tuple[str, str] | None,
    timezone: ZoneInfo | None,
    owner_participant: Participant | None = None,
) -> FileImport:
    """Replace the rows of `path` (by its SHA-256) with `exchanges`, in one transaction."""
    ensure_tables(ws)
    sha = file_sha256(path)
    region = None
    if owner is not None:
        region = _party_country(ws, *owner)
    if region is None and timezone is not None:
        region = country_of_zone(timezone.key)
    reporting = ws.meta_get("reporting_currency") or "USD"
    rows = _Rows(sha, path.name, fmt, owner, region, reporting)
    counts = {"messages": 0, "calls": 0, "assumed": 0, "warnings": 0}

    def flush() -> None:
        for m in rows.messages:
            counts["calls" if m["kind"] == "call" else "messages"] += 1
            counts["assumed"] += bool(m["tz_assumed"])
            counts["warnings"] += bool(m["warnings"])
        _append(ws, MESSAGES, rows.messages)
        _append(ws, IDENTIFIERS, rows.identifiers)
        rows.messages, rows.identifiers = [], []

    # One transaction: a file that fails to parse half-way leaves nothing behind. Rows go to
    # DuckDB every FLUSH_ROWS messages, so a report of gigabytes is never held in memory.
    with ws.transaction() as con:
        for table in (MESSAGES, IDENTIFIERS, MEMBERS, FILES):
            con.execute(f"DELETE FROM {table} WHERE file_sha256 = ?", [sha])
        for seq, exchange in enumerate(exchanges):
            rows.add(seq, exchange, owner_participant)
            if len(rows.messages) >= FLUSH_ROWS:
                flush()
        flush()
        _append(ws, MEMBERS, rows.members.values())
        _append(
            ws,
            FILES,
            [
                {
                    "file_sha256": sha,
                    "source_file": path.name,
                    "path": str(path.resolve()),
                    "format": fmt,
                    "owner_kind": owner[0] if owner else None,
                    "owner_id": owner[1] if owner else None,
                    "timezone": timezone.key if timezone else None,
                    "region": region,
                    "messages": counts["messages"],
                    "calls": counts["calls"],
                    "imported_at": datetime.now(UTC).replace(tzinfo=None),
                }
            ],
        )
    return FileImport(path=path, format=fmt, sha256=sha, **counts)


def _party_country(ws: Workspace, kind: str, party_id: str) -> str | None:
    found = ws.con.execute(
        f"SELECT any_value({kind}_country) FROM payments WHERE {kind}_id = ?", [party_id]
    ).fetchall()
    return found[0][0] if found else None
