"""The key that signs session cookies: given, from the environment, or made once and kept in
a file only its owner can read, beside the case store (so sessions survive a restart)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from vigil.errors import VigilError

SECRET_KEY_ENV = "VIGIL_SECRET_KEY"
SECRET_KEY_FILE = "vigil-web.key"
MIN_KEY_LENGTH = 32


def secret_key_path(workspace: Path, database_url: str) -> Path:
    """Beside a SQLite case store; beside the workspace when the store is a server."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).resolve().parent / SECRET_KEY_FILE
    return Path(workspace).resolve().parent / SECRET_KEY_FILE


def resolve_secret_key(given: str | None, key_file: Path) -> str:
    """The key given, else $VIGIL_SECRET_KEY, else the one kept in `key_file` (created with
    0600 permissions on first use)."""
    key = given or os.environ.get(SECRET_KEY_ENV)
    if key:
        if len(key) < MIN_KEY_LENGTH:
            raise VigilError(f"the secret key must be at least {MIN_KEY_LENGTH} characters long")
        return key
    if key_file.is_file():
        if key_file.stat().st_mode & 0o077:
            raise VigilError(
                f"{key_file}: readable by other users; run `chmod 600 {key_file}` "
                "or delete it to make a new key"
            )
        key = key_file.read_text(encoding="ascii").strip()
        if len(key) < MIN_KEY_LENGTH:
            raise VigilError(f"{key_file}: too short to be a secret key; delete it")
        return key
    key = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return resolve_secret_key(None, key_file)
    except OSError as error:
        raise VigilError(f"{key_file}: cannot write the secret key: {error.strerror}") from error
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
