"""Writing each decision to the audit trail at the API's rate.

The entry is the same as `vigil.cases.audit.record` writes (same table, same hash chain,
checked by `vigil audit verify`), but through SQLAlchemy Core on one transaction that also
checks the key is still active: the ORM's unit of work costs milliseconds per entry, more
than the whole answer may take.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, text

from vigil.api.keys import key_hash
from vigil.cases.audit import _PG_APPEND_LOCK, GENESIS_HASH, canonical_json, entry_hash
from vigil.cases.models import ApiKey, AuditEntry, utcnow
from vigil.cases.store import CaseStore

_ENTRIES = AuditEntry.__table__
_LAST = select(_ENTRIES.c.seq, _ENTRIES.c.hash).order_by(_ENTRIES.c.seq.desc()).limit(1)
_INSERT = insert(_ENTRIES)  # built once: building a statement per entry costs more than running it
_KEY = select(ApiKey.__table__.c.name).where(
    ApiKey.__table__.c.key_hash == bindparam("hash"), ApiKey.__table__.c.revoked_at.is_(None)
)


def audit_decision(
    store: CaseStore, key: str, actor_prefix: str, action: str, target: str, detail: dict[str, Any]
) -> str | None:
    """Appends the entry as the key's actor, in one transaction with the check that the key
    is active; returns the actor, or None (revoked or unknown: nothing written)."""
    with store.engine.begin() as connection:  # SQLite: BEGIN IMMEDIATE (one writer)
        name = connection.execute(_KEY, {"hash": key_hash(key)}).scalar()
        if name is None:
            return None
        actor = actor_prefix + name
        if connection.dialect.name == "postgresql":
            connection.execute(text(_PG_APPEND_LOCK))
        last = connection.execute(_LAST).first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        at = utcnow()
        connection.execute(
            _INSERT,
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "target": target,
                "detail": canonical_json(detail),
                "prev_hash": prev_hash,
                "hash": entry_hash(prev_hash, seq, at, actor, action, target, detail),
            },
        )
    return actor
