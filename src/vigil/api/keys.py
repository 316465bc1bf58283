"""API keys for machines calling the scoring API: created once, stored as a hash, revoked.

A key is `vgk_` + 43 URL-safe characters (256 random bits). It is shown once, when created;
the case store keeps its SHA-256 and its first characters (to tell keys apart in a list).
Creating and revoking a key are written to the audit trail.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigil.cases import audit
from vigil.cases.models import ApiKey, utcnow
from vigil.cases.store import CaseStore
from vigil.errors import VigilError

KEY_PREFIX = "vgk_"
SHOWN_CHARACTERS = 8
CLI_ACTOR = "cli"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ApiKeyError(VigilError):
    """A key that cannot be created or revoked as asked."""


@dataclass(frozen=True)
class KeyInfo:
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(store: CaseStore, name: str, *, actor: str = CLI_ACTOR) -> tuple[KeyInfo, str]:
    """A new key named `name`; returns its record and the key itself (shown once)."""
    if not _NAME.match(name):
        raise ApiKeyError(
            f"key name {name!r}: use up to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(name=name, key_hash=key_hash(key), prefix=key[: len(KEY_PREFIX) + 4])
    try:
        with store.session() as session:
            session.add(record)
            session.flush()
            audit.record(session, actor, "api_key_created", f"api_key:{name}")
    except IntegrityError as error:
        raise ApiKeyError(f"an API key named {name!r} exists already") from error
    return _info(record), key


def list_keys(store: CaseStore) -> list[KeyInfo]:
    with store.session() as session:
        rows = session.execute(select(ApiKey).order_by(ApiKey.name)).scalars().all()
        return [_info(r) for r in rows]


def revoke_key(store: CaseStore, name: str, *, actor: str = CLI_ACTOR) -> KeyInfo:
    """Revokes the key `name`: from now on it is refused (401)."""
    with store.session() as session:
        record = session.execute(select(ApiKey).where(ApiKey.name == name)).scalar_one_or_none()
        if record is None:
            raise ApiKeyError(f"no API key named {name!r}")
        if record.revoked_at is None:
            record.revoked_at = utcnow()
            audit.record(session, actor, "api_key_revoked", f"api_key:{name}")
        return _info(record)


def active_key_name(session: Session, key: str) -> str | None:
    """The name of the active key `key`, or None (unknown or revoked)."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = session.execute(
        select(ApiKey.name).where(ApiKey.key_hash == key_hash(key), ApiKey.revoked_at.is_(None))
    ).first()
    return None if row is None else row[0]


def _info(record: ApiKey) -> KeyInfo:
    return KeyInfo(record.name, record.prefix, record.created_at, record.revoked_at)
