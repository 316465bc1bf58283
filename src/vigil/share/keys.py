"""The institutions' shared secret: made once per exercise, never given to the linkage unit.

Two keys are derived from it (HMAC-SHA256 with a label each), one for the tokens of exact
identifiers and one for the Bloom-filter encodings of names, so that neither use can be
turned into the other.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import InputError
from vigil.private_files import FILE_MODE

KEY_BYTES = 32
_HEADER = "vigil-share-key v1"


@dataclass(frozen=True)
class ShareKey:
    secret: bytes

    def derive(self, purpose: str) -> bytes:
        return hmac.new(self.secret, f"vigil-share/{purpose}/v1".encode(), hashlib.sha256).digest()

    @property
    def token_key(self) -> bytes:
        return self.derive("token")

    @property
    def name_key(self) -> bytes:
        return self.derive("name-clk")


def keygen(out: Path | str) -> Path:
    """A new random secret in `out`, readable by its owner only; an existing file is kept."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError as error:
        raise InputError(f"{out}: exists; a key is never overwritten (remove it first)") from error
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(f"{_HEADER}\n{secrets.token_hex(KEY_BYTES)}\n")
    os.chmod(out, FILE_MODE)  # whatever the umask
    return out


def load_key(path: Path | str) -> ShareKey:
    path = Path(path)
    try:
        lines = path.read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the share key: {error}") from error
    if len(lines) != 3 or " ".join(lines[:2]) != _HEADER:
        raise InputError(f"{path}: not a key written by `vigil share keygen`")
    try:
        secret = bytes.fromhex(lines[2])
    except ValueError as error:
        raise InputError(f"{path}: the key is not hexadecimal") from error
    if len(secret) != KEY_BYTES:
        raise InputError(f"{path}: the key has {len(secret)} bytes, not {KEY_BYTES}")
    return ShareKey(secret)
