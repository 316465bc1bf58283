"""Users: argon2-hashed passwords, one role each, disabled rather than deleted.

`actor` is who makes a change: "cli" for the operator at the command line (who already
holds the database), otherwise the username of an active admin.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.cases import audit
from vigil.cases.errors import PermissionDenied, UserAdminError
from vigil.cases.models import User
from vigil.cases.roles import ROLES, can
from vigil.cases.store import CaseStore

CLI_ACTOR = "cli"
MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,63}")

# argon2id with argon2-cffi's recommended parameters (RFC 9106's low-memory choice).
PASSWORD_HASHER = PasswordHasher()
_unknown_user_hashes: dict[tuple[int, int, int], str] = {}


def add_user(
    store: CaseStore, username: str, password: str, role: str, *, actor: str = CLI_ACTOR
) -> User:
    if not USERNAME.fullmatch(username or ""):
        raise UserAdminError(
            f"invalid username {username!r}: 2-64 letters, digits, '.', '_', '@' or '-'"
        )
    if role not in ROLES:
        raise UserAdminError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserAdminError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    password_hash = PASSWORD_HASHER.hash(password)
    with store.session() as session:
        _require_admin(session, actor)
        if _find(session, username) is not None:
            raise UserAdminError(f"user {username!r} already exists")
        user = User(username=username, password_hash=password_hash, role=role, active=True)
        session.add(user)
        session.flush()
        audit.record(session, actor, "user.add", f"user:{username}", {"role": role})
        return user


def authenticate(store: CaseStore, username: str, password: str) -> User | None:
    """The user when the password is right and the account active, else None. Upgrades
    the stored hash when argon2's parameters have changed since it was made."""
    hasher = PASSWORD_HASHER
    with store.session() as session:
        user = _find(session, username)
        try:
            hasher.verify(user.password_hash if user else _unknown_user_hash(hasher), password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        return user


def list_users(store: CaseStore) -> list[User]:
    with store.read_session() as session:
        return list(session.execute(select(User).order_by(User.username)).scalars())


def get_user(store: CaseStore, username: str) -> User | None:
    with store.read_session() as session:
        return _find(session, username)


def disable_user(store: CaseStore, username: str, *, actor: str) -> User:
    with store.session() as session:
        _require_admin(session, actor)
        user = _find(session, username)
        if user is None:
            raise UserAdminError(f"no user {username!r}")
        if username == actor:
            raise UserAdminError("an admin cannot disable their own account")
        if user.active:
            user.active = False
            audit.record(session, actor, "user.disable", f"user:{username}")
        return user


def _unknown_user_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against when the username is unknown, so that a wrong name takes
    as long as a wrong password: the answer time does not tell which usernames exist."""
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _unknown_user_hashes:
        _unknown_user_hashes[key] = hasher.hash("vigil: no such user")
    return _unknown_user_hashes[key]


def _find(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def _require_admin(session: Session, actor: str) -> None:
    if actor == CLI_ACTOR:
        return
    user = _find(session, actor)
    if user is None or not user.active or not can(user.role, "manage_users"):
        raise PermissionDenied(f"{actor} may not manage users (admin role required)")
