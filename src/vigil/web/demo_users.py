"""Demo logins: one user of each role, with generated passwords written to a file only its
owner can read (never printed into logs). Running the demo again reuses them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from vigil.cases.store import CaseStore
from vigil.cases.users import add_user, authenticate, get_user
from vigil.errors import VigilError

LOGINS_FILE = "demo-logins.txt"
# two supervisors: approval needs one who did not open or draft the case (four eyes)
DEMO_USERS = (
    ("analyst", "analyst"),
    ("supervisor", "supervisor"),
    ("supervisor2", "supervisor"),
    ("auditor", "auditor"),
    ("admin", "admin"),
)


def _read_logins(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    known = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            known[parts[0]] = parts[1]
    return known


def ensure_demo_users(store: CaseStore, logins_file: Path) -> list[tuple[str, str, str]]:
    """(username, password, role) of the demo users, made when missing. Passwords are kept
    in `logins_file` (mode 0600) so a later run can say them again."""
    logins_file = Path(logins_file)
    known = _read_logins(logins_file)
    users = []
    for username, role in DEMO_USERS:
        password = known.get(username)
        if get_user(store, username) is None:
            password = secrets.token_urlsafe(12)
            add_user(store, username, password, role)
        elif password is None or authenticate(store, username, password) is None:
            raise VigilError(
                f"demo user {username!r} exists in {store.url} but {logins_file} does not hold "
                "its password: delete the case store to start the demo afresh"
            )
        users.append((username, password, role))
    _write_logins(logins_file, users)
    return users


def _write_logins(path: Path, users: list[tuple[str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("# Vigil demo logins: username password role (synthetic data only)\n")
        for username, password, role in users:
            handle.write(f"{username} {password} {role}\n")
    os.chmod(partial, 0o600)
    os.replace(partial, path)
