"""Case-store fixtures: every store test runs on SQLite and on a real PostgreSQL server.

The PostgreSQL server is Debian's (`make test` installs the `postgresql` package). It is
started once per test session in a temporary folder on a free loopback port, as the
`postgres` user when the tests run as root (PostgreSQL refuses to run as root), and every
test gets a fresh schema in its database.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher

from vigil.cases import users
from vigil.cases.store import CaseStore

PASSWORD = "correct horse battery"
TEAM = {
    "ana": "analyst",
    "ben": "analyst",
    "sam": "supervisor",
    "sue": "supervisor",
    "aud": "auditor",
    "adm": "admin",
}


@dataclass(frozen=True)
class PostgresServer:
    port: int
    database: str

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def url(self, schema: str) -> str:
        """A case-store URL whose tables live in `schema` (first on the search path)."""
        return (
            f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"
            f"?options=-csearch_path%3D{schema}"
        )


def _postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: the "
            "case-store tests need them (`make test` installs Debian's postgresql package; "
            "or run `apt-get install -y postgresql`)",
            pytrace=False,
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _postgres_bindir()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    root = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
    if as_root:
        shutil.chown(root, "postgres", "postgres")

    def run(*args: str | Path) -> None:
        done = subprocess.run(
            [*prefix, *map(str, args)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            log = root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(
                f"PostgreSQL test server: {' '.join(map(str, args[:2]))} failed:\n"
                f"{done.stdout}{done.stderr}{tail}",
                pytrace=False,
            )

    data = root / "data"
    run(bindir / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8")
    port = _free_port()
    options = f"-F -p {port} -k {root} -c listen_addresses=127.0.0.1"
    run(bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-o", options, "start")
    try:
        run(bindir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "vigil")
        yield PostgresServer(port, "vigil")
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


_schema_numbers = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty case store of each backend (on PostgreSQL: a schema of its own,
    much quicker to make than a database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.sqlite'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    schema = f"test_{next(_schema_numbers)}"
    with psycopg.connect(server.admin_url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    yield server.url(schema)
    with psycopg.connect(server.admin_url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with the cheapest parameters: tests add many users."""
    monkeypatch.setattr(
        users, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def store(database_url: str) -> Iterator[CaseStore]:
    with CaseStore.open(database_url) as opened:
        yield opened


@pytest.fixture
def team(store: CaseStore) -> CaseStore:
    """The store with two analysts, two supervisors, an auditor and an admin."""
    for username, role in TEAM.items():
        users.add_user(store, username, PASSWORD, role)
    return store
