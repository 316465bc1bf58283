"""Opening the case store: engine, sessions, and the schema brought to head by Alembic."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vigil.cases.errors import CaseStoreError
from vigil.private_files import make_private

CASE_STORE_FILE = "cases.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"
# SQLite waits this long for another process's write to finish before giving up.
SQLITE_BUSY_SECONDS = 30
READ_ONLY = "vigil_read_only"


def default_database_url(workspace: Path) -> str:
    """The SQLite case store beside a DuckDB workspace: `<workspace dir>/cases.sqlite`."""
    return f"sqlite:///{(Path(workspace).resolve().parent / CASE_STORE_FILE).as_posix()}"


def normalise_url(database_url: str) -> URL:
    """A SQLAlchemy URL; a bare `postgresql://` gets the installed driver (psycopg 3)."""
    try:
        url = make_url(database_url)
    except ArgumentError as error:
        raise CaseStoreError(f"not a database URL: {database_url!r}") from error
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise CaseStoreError(
            f"unsupported case store database {url.get_backend_name()!r}: "
            "use a SQLite file or PostgreSQL (postgresql+psycopg://...)"
        )
    return url


class CaseStore:
    """The case store of one database. Open with `CaseStore.open(url)`; use `session()`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        sqlite = engine.url.get_backend_name() == "sqlite"
        self._writer: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if sqlite else contextlib.nullcontext()
        )
        # Reads take no write lock (see _serialise_sqlite_writes): a page view's lookups
        # do not queue behind every other request's audit append.
        self._read_sessions = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        from vigil.cases.row_audit import install  # it needs the store's module: import late

        install(self._sessions)

    @classmethod
    def open(cls, database_url: str) -> CaseStore:
        """Connect and bring the schema to the latest migration (a no-op when it is)."""
        url = normalise_url(database_url)
        store = cls(_create_engine(url))
        try:
            store.upgrade()
        except OperationalError as error:
            store.close()
            reason = str(error.orig or error).strip().splitlines()[0]
            raise CaseStoreError(f"cannot open the case store {store.url}: {reason}") from error
        return store

    @property
    def url(self) -> str:
        """The database URL with any password hidden (safe to print)."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> None:
        from alembic import command

        with self.engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back when
        it raises. Objects stay readable after the block (no expiry on commit)."""
        # SQLite has one writer at a time; threads of this process wait for it on a lock
        # (woken at once) rather than in SQLite's busy handler, which polls with sleeps of
        # up to 100 ms and gave the web app seconds-long tails under load.
        with self._writer, self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reading only: on SQLite it takes no write lock, so reads run side
        by side (WAL) instead of one after another. Writing in it is a programming error."""
        with self._read_sessions() as session, session.begin():
            yield session
            if session.new or session.dirty or session.deleted:
                raise RuntimeError("a read session holds changes")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).parent
        if not folder.is_dir():
            raise CaseStoreError(f"{folder}: no such folder for the case store")
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
    _serialise_sqlite_writes(engine)
    if database and database != ":memory:" and not database.startswith("file:"):
        _private_sqlite_files(engine, Path(database))
    return engine


def _private_sqlite_files(engine: Engine, database: Path) -> None:
    """Cases and users are for the owner alone: the file and its journals 0600."""

    @event.listens_for(engine, "connect")
    def _private(_dbapi_connection: Any, _record: object) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            make_private(database.with_name(database.name + suffix))


def _serialise_sqlite_writes(engine: Engine) -> None:
    """Every transaction starts with BEGIN IMMEDIATE: it takes SQLite's write lock at
    once (waiting for other processes' writers), so an audit append reads the chain's
    last entry and writes the next one with no other writer in between. WAL keeps
    readers of other processes unblocked."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_SECONDS * 1000}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        reading = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config
