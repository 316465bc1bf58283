"""Every change to a case, a note or a user is itself an audit entry holding the row's hash.

The hash chain shows whether an entry was edited; it could not show that the `cases`,
`case_notes` or `users` tables were (a status set to filed, a note rewritten, an analyst
made a supervisor, a password hash swapped) by someone who writes the database directly.
So whenever a transaction changes such a row, an entry `row.<table>` with target
`<table>:<id>` and detail `{"hash": sha256 of the row}` joins the same transaction (or
`{"deleted": true}`), and `verify_tables` checks each row against its latest entry.

Done with SQLAlchemy session events, so no code path that changes these rows can forget.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from vigil.cases import audit
from vigil.cases.models import AuditEntry, Case, CaseNote, User

AUDITED: tuple[type, ...] = (Case, CaseNote, User)
ROW_ACTION_PREFIX = "row."
_PENDING = "vigil_changed_rows"
ACTOR_KEY = "vigil_actor"  # set by audit.record: who the transaction's changes are by
SYSTEM_ACTOR = "system"


def row_hash(row: Any) -> str:
    """SHA-256 of the row's columns as canonical JSON (times in ISO 8601)."""
    values = {column.key: _plain(getattr(row, column.key)) for column in row.__table__.columns}
    return hashlib.sha256(audit.canonical_json(values).encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _key(row: Any) -> tuple[str, str]:
    identity = inspect(row).mapper.primary_key_from_instance(row)
    return row.__table__.name, ",".join(str(part) for part in identity)


def install(sessions: sessionmaker[Session]) -> None:
    """Record row changes for every session `sessions` makes."""
    event.listen(sessions, "after_flush", _collect)
    event.listen(sessions, "before_commit", _record)
    event.listen(sessions, "after_rollback", _forget)


def _collect(session: Session, _context: object) -> None:
    pending: dict[tuple[str, str], Any] = session.info.setdefault(_PENDING, {})
    for row in (*session.new, *session.dirty):
        if isinstance(row, AUDITED) and (
            row in session.new or session.is_modified(row, include_collections=False)
        ):
            pending[_key(row)] = row
    for row in session.deleted:
        if isinstance(row, AUDITED):
            pending[_key(row)] = None


def _record(session: Session) -> None:
    session.flush()  # what is still pending gets collected too
    pending: dict[tuple[str, str], Any] = session.info.pop(_PENDING, {})
    actor = session.info.get(ACTOR_KEY, SYSTEM_ACTOR)
    for (table, identity), row in sorted(pending.items()):
        detail = {"deleted": True} if row is None else {"hash": row_hash(row)}
        audit.record(session, actor, ROW_ACTION_PREFIX + table, f"{table}:{identity}", detail)
    session.info.pop(_PENDING, None)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def verify_tables(session: Session) -> str | None:
    """The first row of `cases`, `case_notes` or `users` that differs from its latest
    audit entry (edited, inserted or deleted outside Vigil); None when all agree."""
    latest: dict[str, dict[str, Any]] = {}
    for target, detail in _row_entries(session):
        latest[target] = detail
    for model in AUDITED:
        table = model.__table__.name
        for row in session.execute(select(model).execution_options(yield_per=1000)).scalars():
            target = ":".join(_key(row))
            recorded = latest.pop(target, None)
            if recorded is None or recorded.get("deleted"):
                return f"{table} row {_key(row)[1]} has no audit entry (written outside Vigil)"
            if recorded.get("hash") != row_hash(row):
                return f"{table} row {_key(row)[1]} differs from its audit entry (edited)"
    for target, detail in sorted(latest.items()):
        if not detail.get("deleted"):
            table, _, identity = target.partition(":")
            return f"{table} row {identity} is gone but no audit entry says so (deleted)"
    return None


def _row_entries(session: Session) -> Iterator[tuple[str, dict[str, Any]]]:
    query = (
        select(AuditEntry.target, AuditEntry.detail)
        .where(AuditEntry.action.startswith(ROW_ACTION_PREFIX))
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=5000)
    )
    for target, detail in session.execute(query):
        yield target, json.loads(detail)
