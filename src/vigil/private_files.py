"""Files with payment data, cases or exports are for their owner alone: 0600, folders 0700.

The command line sets the process's umask to PRIVATE_UMASK at start, so everything Vigil
writes (workspace, WAL, alerts, quarantine, reports, the SQLite case store) is private
whatever writes it. For the library used from Python, the places that create the
sensitive files also set the modes themselves.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def use_private_umask() -> None:
    os.umask(PRIVATE_UMASK)


def private_folder(path: Path) -> Path:
    """Make `path` (and missing parents) as folders only the owner can enter; a folder
    that existed keeps its mode (it may be shared on purpose)."""
    path = Path(path)
    missing = [p for p in [path, *path.parents] if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        with contextlib.suppress(OSError):
            created.chmod(FOLDER_MODE)
    return path


def make_private(path: Path) -> None:
    """Owner read and write only (no error when the file is not there)."""
    with contextlib.suppress(FileNotFoundError):
        Path(path).chmod(FILE_MODE)
