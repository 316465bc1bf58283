"""The audit trail: an append-only list of who did what, each entry hash-chained to the last.

`hash = sha256(prev_hash + canonical JSON of [seq, at, actor, action, target, detail])`,
with `prev_hash` of the first entry 64 zeros. Editing, deleting, reordering or inserting an
entry breaks the chain at that point and `verify` names it. A chain can be recomputed by
whoever can write the database, so keep the last entry's hash (`verify` reports it) outside
the database to anchor it. Details carry ids and codes, never payment data or free text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from vigil.cases.models import AuditEntry, utcnow
from vigil.cases.store import CaseStore

GENESIS_HASH = "0" * 64
# Serialises appends in PostgreSQL (SQLite's BEGIN IMMEDIATE does the same there).
_PG_APPEND_LOCK = "SELECT pg_advisory_xact_lock(hashtext('vigil.cases.audit'))"
_VERIFY_BATCH = 5000


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    entries: int
    first_bad_seq: int | None
    problem: str | None
    last_hash: str | None = None

    def render(self) -> str:
        if self.ok:
            head = f"; last hash {self.last_hash}" if self.last_hash else ""
            return f"audit trail intact: {self.entries} entries{head}"
        if self.first_bad_seq is None:  # the chain holds, a table does not match it
            return f"audit trail broken: {self.problem} (chain of {self.entries} entries intact)"
        return f"audit trail broken at entry {self.first_bad_seq}: {self.problem}"


def record(
    store_or_session: CaseStore | Session,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Given a Session, the entry joins that transaction (committed with
    the change it records); given a CaseStore, it is committed on its own."""
    if isinstance(store_or_session, CaseStore):
        with store_or_session.session() as session:
            return record(session, actor, action, target, detail)
    session = store_or_session
    if not action.startswith("row."):  # the rows this transaction changes are by `actor`
        session.info["vigil_actor"] = actor
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(_PG_APPEND_LOCK))
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    detail_text = canonical_json(detail or {})
    entry = AuditEntry(
        seq=seq,
        at=utcnow(),
        actor=actor,
        action=action,
        target=target,
        detail=detail_text,
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(prev_hash, seq, entry.at, actor, action, target, detail or {})
    session.add(entry)
    session.flush()
    return entry


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any],
) -> str:
    content = canonical_json([seq, at.isoformat(), actor, action, target, detail])
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def verify(store: CaseStore) -> AuditVerification:
    """Walk the chain in seq order; the first entry whose seq, link or hash is wrong is
    named. Streams the entries: a long trail is never held in memory."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    with store.read_session() as session:
        rows = session.execute(
            select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=_VERIFY_BATCH)
        ).scalars()
        for entry in rows:
            problem = _problem(entry, expected_seq, prev_hash)
            if problem is not None:
                bad = expected_seq if entry.seq > expected_seq else entry.seq
                return AuditVerification(False, count, bad, problem)
            count += 1
            expected_seq, prev_hash = entry.seq + 1, entry.hash
            session.expunge(entry)
        from vigil.cases.row_audit import verify_tables

        problem = verify_tables(session)
    head = None if count == 0 else prev_hash
    if problem is not None:
        return AuditVerification(False, count, None, problem, head)
    return AuditVerification(True, count, None, None, head)


def _problem(entry: AuditEntry, expected_seq: int, prev_hash: str) -> str | None:
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing (next entry found is {entry.seq})"
    if entry.prev_hash != prev_hash:
        return f"entry {entry.seq} does not link to entry {entry.seq - 1} (inserted or reordered)"
    try:
        detail = json.loads(entry.detail)
    except ValueError:
        return f"entry {entry.seq} has an unreadable detail (edited)"
    actual = entry_hash(
        entry.prev_hash, entry.seq, entry.at, entry.actor, entry.action, entry.target, detail
    )
    if actual != entry.hash:
        return f"entry {entry.seq} does not match its hash (edited)"
    return None


def entries(
    store: CaseStore,
    *,
    limit: int = 100,
    offset: int = 0,
    actor: str | None = None,
    target: str | None = None,
) -> list[AuditEntry]:
    """Entries newest first, optionally of one actor and/or one target."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit).offset(offset)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    with store.read_session() as session:
        return list(session.execute(query).scalars())


def count_entries(store: CaseStore, *, actor: str | None = None, target: str | None = None) -> int:
    """How many entries `entries` could page through with the same filters."""
    query = select(func.count()).select_from(AuditEntry)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    with store.read_session() as session:
        return int(session.execute(query).scalar_one())


def latest_seq(store: CaseStore, *, action: str, target: str) -> int | None:
    """The seq of the newest entry of `action` on `target` (None: there is none)."""
    query = select(func.max(AuditEntry.seq)).where(
        AuditEntry.target == target, AuditEntry.action == action
    )
    with store.read_session() as session:
        return session.execute(query).scalar_one()


def detail_of(entry: AuditEntry) -> dict[str, Any]:
    """An entry's detail as a dict."""
    return json.loads(entry.detail)
