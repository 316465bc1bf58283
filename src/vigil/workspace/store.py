"""The workspace: one DuckDB file with the payments and every table derived from them.

The connection is made here and nowhere else. Stages read and write through a `Workspace`:
`ws.con` for SQL, `ws.ibis` for Ibis expressions on the same connection.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from vigil.errors import ConfigError, InputError, VigilError
from vigil.private_files import make_private, private_folder

SCHEMA_VERSION = 3
MEMORY_SHARE = 0.6  # of the machine's (or the container's) memory
IN_MEMORY = ":memory:"

# Tables the workspace itself owns: derived-table writers may not replace them.
BASE_TABLES: frozenset[str] = frozenset({"meta", "payments"})

# A scan marks the workspace in progress before it changes anything and complete after its
# last stage: a scan killed half way leaves new payments beside old scores, and whoever
# reads the workspace (web app, reports) must know. The next scan finishes the job.
META_SCAN_STATE = "scan_state"
META_SCAN_STARTED = "scan_started_at"
META_SCAN_COMPLETED = "scan_completed_at"
SCAN_IN_PROGRESS, SCAN_COMPLETE = "in_progress", "complete"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# txn_id is unique, but not by a PRIMARY KEY: DuckDB's ART index behind one must fit in
# memory and nearly doubles the insert time, while payments must scale past RAM. Ingest
# keeps txn_id unique itself (duplicates are quarantined, known ids compared, never
# re-inserted), and the ingest tests check it.
PAYMENTS_DDL = """
CREATE TABLE IF NOT EXISTS payments (
    txn_id VARCHAR NOT NULL,
    ts_utc TIMESTAMP NOT NULL,
    ts_local VARCHAR NOT NULL,
    sender_utc_offset_minutes SMALLINT NOT NULL,
    sender_id VARCHAR NOT NULL,
    sender_name VARCHAR NOT NULL,
    sender_country VARCHAR NOT NULL,
    beneficiary_id VARCHAR NOT NULL,
    beneficiary_name VARCHAR NOT NULL,
    beneficiary_country VARCHAR NOT NULL,
    beneficiary_city VARCHAR,
    amount DECIMAL(20, 4) NOT NULL,
    currency VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    narrative VARCHAR,
    amount_reporting DOUBLE NOT NULL,
    extra JSON,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    payout_location VARCHAR,
    beneficiary_phone VARCHAR,
    reporter VARCHAR,
    reporter_sender_id VARCHAR
)
"""

# Column order of the payments table (what `INSERT INTO payments` fills).
PAYMENTS_COLUMNS: tuple[str, ...] = (
    "txn_id",
    "ts_utc",
    "ts_local",
    "sender_utc_offset_minutes",
    "sender_id",
    "sender_name",
    "sender_country",
    "beneficiary_id",
    "beneficiary_name",
    "beneficiary_country",
    "beneficiary_city",
    "amount",
    "currency",
    "channel",
    "narrative",
    "amount_reporting",
    "extra",
    "source_file",
    "source_row",
    "payout_location",
    "beneficiary_phone",
    # FIU mode: the reporting institution, and the sender's id as that reporter gave it
    # (sender_id is then "reporter:id", see vigil.schema.SENDER_KEY_SEPARATOR); both NULL
    # for a payment without a reporter.
    "reporter",
    "reporter_sender_id",
)


def quote_identifier(name: str) -> str:
    """`name` as a DuckDB identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _memory_bytes() -> int | None:
    """Physical memory, or the container's limit when that is lower (cgroup v2 / v1)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    for limit_file in (
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ):
        with contextlib.suppress(OSError, ValueError):
            text = Path(limit_file).read_text().strip()
            if text != "max":
                total = min(total, int(text))
    return total


# DuckDB holds at most this much memory and spills the rest of a large scan to the temp
# directory (beside the workspace file by default) instead of failing: set them per run.
MEMORY_LIMIT_ENV = "VIGIL_MEMORY_LIMIT"  # "12GiB", "800MB", or a share of memory: "40%"
TEMP_DIRECTORY_ENV = "VIGIL_TEMP_DIRECTORY"
_SIZE = re.compile(r"^\s*[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|B)\s*$", re.IGNORECASE)
_SHARE = re.compile(r"^\s*([0-9]+(\.[0-9]+)?)\s*%\s*$")


def memory_limit(value: str | None = None) -> str | None:
    """DuckDB's memory_limit: `value` (or $VIGIL_MEMORY_LIMIT) as a size or a share of the
    machine's memory; by default MEMORY_SHARE of it. None when memory cannot be read."""
    value = os.environ.get(MEMORY_LIMIT_ENV, "") if value is None else value
    memory = _memory_bytes()
    if value.strip():
        if _SIZE.match(value):
            return value.strip().replace(" ", "")
        share = _SHARE.match(value)
        if not share or not 0 < float(share.group(1)) <= 100:
            raise ConfigError(
                f"{MEMORY_LIMIT_ENV}={value!r}: give a size (e.g. 12GiB, 800MB) or a share "
                "of the machine's memory (e.g. 40%)"
            )
        if not memory:
            raise ConfigError(f"{MEMORY_LIMIT_ENV}={value!r}: this machine's memory is unknown")
        return f"{max(256, int(memory * float(share.group(1)) / 100) // 2**20)}MiB"
    return f"{max(256, int(memory * MEMORY_SHARE) // 2**20)}MiB" if memory else None


def _settings(path: str) -> dict[str, str]:
    settings = {"threads": str(max(1, os.cpu_count() or 1))}
    limit = memory_limit()
    if limit:
        settings["memory_limit"] = limit
    temp = os.environ.get(TEMP_DIRECTORY_ENV, "").strip()
    if temp:
        settings["temp_directory"] = temp
    elif path != IN_MEMORY:
        settings["temp_directory"] = str(Path(path).with_name(Path(path).name + ".tmp"))
    return settings


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the workspace's tables up to SCHEMA_VERSION; returns the version found before."""
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    found = int(rows[0][0]) if rows else 0
    if found > SCHEMA_VERSION:
        raise VigilError(
            f"workspace schema version {found} is newer than this Vigil understands "
            f"({SCHEMA_VERSION}): upgrade Vigil or use another workspace file"
        )
    if found < 1:
        con.execute(PAYMENTS_DDL)
    elif found < 2:  # version 2: the optional payout_location and beneficiary_phone columns
        con.execute("ALTER TABLE payments ADD COLUMN IF NOT EXISTS payout_location VARCHAR")
        con.execute("ALTER TABLE payments ADD COLUMN IF NOT EXISTS beneficiary_phone VARCHAR")
    if 1 <= found < 3:  # version 3: the reporter (FIU mode) and its own sender id
        con.execute("ALTER TABLE payments ADD COLUMN IF NOT EXISTS reporter VARCHAR")
        con.execute("ALTER TABLE payments ADD COLUMN IF NOT EXISTS reporter_sender_id VARCHAR")
    if found < SCHEMA_VERSION:
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        )
    return found


class _IbisResult:
    """A DuckDB 2 relation with the Arrow fetcher name Ibis 12 calls."""

    def __init__(self, relation: Any) -> None:
        self._relation = relation

    def fetch_arrow_table(self, *args: Any, **kwargs: Any) -> pa.Table:
        return self._relation.to_arrow_table(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._relation, name)


class _IbisConnection:
    """The DuckDB connection as Ibis 12 expects it (DuckDB 2 renamed the Arrow fetchers).

    Ibis calls `con.execute(sql).fetch_arrow_table()` and `con.sql(q).fetch_arrow_table()`;
    DuckDB 2 has `to_arrow_table()` instead. Everything else passes straight through.
    (A Workspace's own queries use `.fetchall()`: in DuckDB 2 a result read with `.fetchone()`
    stays open and blocks `con.sql(...)` until completed.)
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, *args: Any, **kwargs: Any) -> _IbisConnection:
        self._con.execute(*args, **kwargs)
        return self

    def sql(self, *args: Any, **kwargs: Any) -> Any:
        # DuckDB 2 refuses a relation while an execute() result is only partly fetched
        # (e.g. after `.fetchone()`): run that result to its end first.
        self._con.complete()
        relation = self._con.sql(*args, **kwargs)
        return None if relation is None else _IbisResult(relation)

    def fetch_arrow_table(self, *args: Any, **kwargs: Any) -> pa.Table:
        with warnings.catch_warnings():
            # Ibis only fetches small catalogue answers this way.
            warnings.simplefilter("ignore", UserWarning)
            return self._con.to_arrow_table(*args, **kwargs)

    def fetch_record_batch(self, rows_per_batch: int = 1_000_000) -> pa.RecordBatchReader:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self._con.to_arrow_reader(rows_per_batch)

    def cursor(self) -> _IbisConnection:
        return _IbisConnection(self._con.cursor())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class Workspace:
    """A DuckDB workspace file: payments, derived tables, and a small key/value `meta`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str) -> None:
        self.con = con
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False) -> Workspace:
        """Open (or create, with its folder) the workspace at `path`; ':memory:' for tests.
        Read-only opens an existing, scanned file (the web app): many readers, no writer."""
        where = str(path)
        if read_only:
            if not Path(where).is_file():
                raise InputError(f"{where}: no such workspace (run `vigil scan` first)")
            try:
                con = duckdb.connect(where, read_only=True, config=_settings(where))
            except duckdb.Error as error:
                message = str(error).splitlines()[0]
                raise InputError(f"{where}: cannot open workspace: {message}") from error
            con.execute("SET TimeZone = 'UTC'")
            return cls(con, where)
        if where != IN_MEMORY:
            file = Path(where)
            if file.is_dir():
                raise InputError(f"{file}: is a folder, not a workspace file")
            try:
                private_folder(file.parent)
            except OSError as error:
                raise InputError(f"{file}: cannot create its folder: {error}") from error
        try:
            con = duckdb.connect(where, config=_settings(where))
        except duckdb.Error as error:
            message = str(error).splitlines()[0]
            raise InputError(f"{where}: cannot open workspace: {message}") from error
        if where != IN_MEMORY:  # payments are personal data: the owner's alone
            make_private(Path(where))
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.begin()
            migrate(con)
            con.commit()
        except BaseException:
            con.close()
            raise
        return cls(con, where)

    # --- lifetime -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All statements inside commit together, or none does."""
        self.con.begin()
        try:
            yield self.con
        except BaseException:
            self.con.rollback()
            raise
        self.con.commit()

    # --- tables ---------------------------------------------------------------------------
    @cached_property
    def ibis(self) -> Any:
        """An Ibis DuckDB backend on this workspace's connection."""
        return ibis.duckdb.from_connection(_IbisConnection(self.con))  # type: ignore[arg-type]

    def table(self, name: str) -> ir.Table:
        """The table (or view) `name` as an Ibis table expression; temporary ones too."""
        if self.has_table(name):
            return self.ibis.table(name)
        temporary = self.con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE temporary AND table_name = $name", {"name": name}
        ).fetchall()
        if temporary:
            return self.ibis.table(name, database=("temp", "main"))
        raise VigilError(f"workspace {self.path} has no table {name!r}")

    def has_table(self, name: str) -> bool:
        rows = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT temporary AND table_name = $name "
            "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = "
            "current_database() AND schema_name = 'main' AND NOT temporary AND view_name = $name",
            {"name": name},
        ).fetchall()
        return bool(rows)

    def count(self, name: str) -> int:
        """Number of rows of table `name`."""
        _check_name(name)
        rows = self.con.execute(f"SELECT count(*) FROM {quote_identifier(name)}").fetchall()
        return int(rows[0][0])

    def replace_table(self, name: str, obj: Any, *, temporary: bool = False) -> None:
        """Create or replace the derived table `name` from an Ibis expression, a pyarrow
        Table, or a polars / pandas DataFrame. A temporary table lives for this session only
        (intermediate facts: it spills to disk when large, but is not written to the file)."""
        _check_name(name)
        if name in BASE_TABLES:
            raise ValueError(f"{name!r} belongs to the workspace and cannot be replaced")
        target = quote_identifier(name)
        kind = "TEMPORARY TABLE" if temporary else "TABLE"
        if isinstance(obj, ir.Table):
            # Ibis 12's own create_table(overwrite=True) emits a nameless DROP with this
            # sqlglot; compile the expression and let DuckDB replace the table instead.
            backend = self.ibis
            backend._run_pre_execute_hooks(obj)  # registers in-memory tables it uses
            sql = backend.compile(obj)
            self.con.execute(f"CREATE OR REPLACE {kind} {target} AS {sql}")
            return
        arrow = _to_arrow(obj)
        view = f"__vigil_replace_{name}"
        self.con.register(view, arrow)
        try:
            self.con.execute(
                f"CREATE OR REPLACE {kind} {target} AS SELECT * FROM {quote_identifier(view)}"
            )
        finally:
            self.con.unregister(view)

    def drop_temporary(self, name: str) -> None:
        """Frees this session's temporary table `name` once no later step reads it (a no-op
        when there is none: another engine keeps its intermediates its own way)."""
        _check_name(name)
        found = self.con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE temporary AND table_name = $name", {"name": name}
        ).fetchall()
        if found:
            self.con.execute(f"DROP TABLE temp.{quote_identifier(name)}")

    def replace_table_rows(
        self, name: str, columns: dict[str, str], rows: list[tuple], *, temporary: bool = False
    ) -> None:
        """A small derived table from Python rows (column name -> DuckDB type), without the
        Arrow round trip that costs seconds on first use."""
        _check_name(name)
        if name in BASE_TABLES:
            raise ValueError(f"{name!r} belongs to the workspace and cannot be replaced")
        kind = "TEMPORARY TABLE" if temporary else "TABLE"
        spec = ", ".join(f"{quote_identifier(c)} {t}" for c, t in columns.items())
        self.con.execute(f"CREATE OR REPLACE {kind} {quote_identifier(name)} ({spec})")
        if rows:
            marks = ", ".join("?" for _ in columns)
            self.con.executemany(f"INSERT INTO {quote_identifier(name)} VALUES ({marks})", rows)

    # --- the runner's hooks (the Spark workspace keeps its Parquet copies current) -------
    def stage_done(self, writes: Sequence[str]) -> None:
        """Called by the runner after a stage that wrote `writes`; nothing to do on DuckDB."""

    def finish(self) -> None:
        """Called by the runner after the last stage; nothing to do on DuckDB."""

    # --- meta -----------------------------------------------------------------------------
    def meta_get(self, key: str, default: str | None = None) -> str | None:
        rows = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else default

    def meta_set(self, key: str, value: object) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, str(value)])

    def mark_scan_started(self) -> None:
        self.meta_set(META_SCAN_STATE, SCAN_IN_PROGRESS)
        self.meta_set(META_SCAN_STARTED, _now())

    def mark_scan_complete(self) -> None:
        self.meta_set(META_SCAN_STATE, SCAN_COMPLETE)
        self.meta_set(META_SCAN_COMPLETED, _now())

    @property
    def scan_incomplete(self) -> bool:
        """True when the last scan started and did not finish (killed, crashed)."""
        return self.meta_get(META_SCAN_STATE) == SCAN_IN_PROGRESS

    def incomplete_message(self) -> str:
        started = self.meta_get(META_SCAN_STARTED) or "an unknown time"
        return (
            f"{self.path}: the scan started at {started} did not finish, so scores and alerts "
            "may not match the payments: run `vigil scan` into this workspace again"
        )

    def require_scan_complete(self) -> None:
        """IncompleteWorkspaceError when the last scan did not finish."""
        if self.scan_incomplete:
            raise IncompleteWorkspaceError(self.incomplete_message())

    @property
    def schema_version(self) -> int:
        return int(self.meta_get("schema_version") or 0)


class IncompleteWorkspaceError(VigilError):
    """The workspace's last scan did not finish."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_name(name: str) -> None:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain table name: {name!r}")


def _to_arrow(obj: Any) -> pa.Table:
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    to_arrow = getattr(obj, "to_arrow", None)  # polars
    if callable(to_arrow):
        return to_arrow()
    if type(obj).__module__.startswith("pandas"):
        return pa.Table.from_pandas(obj, preserve_index=False)
    raise TypeError(f"cannot store a {type(obj).__name__} as a workspace table")
