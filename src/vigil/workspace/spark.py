"""The workspace on Apache Spark (`vigil scan --engine spark`): the same stages, the same Ibis
expressions, executed by a Spark session over a folder of Parquet tables.

A `SparkWorkspace` is a `Workspace` whose Ibis side is Spark: `table(name)` is a PySpark
table and `replace_table(name, expression)` runs the expression on Spark and writes the
result as Parquet (`{workspace}.spark/{name}/v{n}/`). The DuckDB connection beside it stays
the driver's: ingest, entity resolution (one row per party), the graph (edge arrays) and the
explanations' SQL run there, reading the Spark-written tables through views over the same
Parquet files, and what they write is copied to Parquet when a Spark expression next reads
it. At the end of the scan (`finish`) the Parquet folder holds every derived table and the
DuckDB file holds them too, so `vigil serve` and `vigil report` read a Spark scan as any other.

No stage body knows which engine runs it: the runner opens this workspace instead of the
DuckDB one, and each stage reads and writes through `ws.table` and `ws.replace_table`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow.parquet as pq
from ibis.backends.sql.compilers.base import NULL
from ibis.backends.sql.compilers.pyspark import PySparkCompiler

from vigil.errors import InputError, VigilError
from vigil.private_files import private_folder
from vigil.workspace.store import (
    BASE_TABLES,
    Workspace,
    _check_name,
    _to_arrow,
    quote_identifier,
)

DEFAULT_MASTER = "local[2]"
# Table versions, unique in the process: the Spark session (and its temporary views) outlives
# a workspace, and a later scan in the same process must never see an earlier one's view.
_VERSIONS = itertools.count()

# What a scan needs of every session, whatever the cluster: UTC times (the payments' ts_utc),
# timestamps without a zone written and read as such (DuckDB's TIMESTAMP both ways), and no UI.
REQUIRED_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
# Defaults for a small local session (research/stack.md §2); --spark-conf overrides them.
DEFAULT_CONF: dict[str, str] = {
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "true",
}


@dataclass(frozen=True)
class SparkOptions:
    """How to reach Spark: the master URL and configuration passed through to the session."""

    master: str | None = None  # None: spark-submit's master, else DEFAULT_MASTER
    conf: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, master: str | None, pairs: Sequence[str] = ()) -> SparkOptions:
        """From the command line: `--spark-conf KEY=VALUE`, repeated."""
        conf: dict[str, str] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise InputError(f"--spark-conf {pair!r}: expected KEY=VALUE")
            conf[key.strip()] = value.strip()
        return cls(master, conf)


def spark_session(options: SparkOptions) -> Any:
    """The Spark session of this process (made once; later calls get the same one)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise VigilError(
            "--engine spark needs PySpark: install Vigil with its spark extra "
            "(`make install`, or `pip install 'vigil[spark]'`)"
        ) from error
    if not java_available():
        raise VigilError("--engine spark needs Java 17 or newer (JAVA_HOME or java on PATH)")
    builder = SparkSession.builder.appName("vigil scan")
    # Under spark-submit the JVM is up with the cluster's master (and PySpark was handed its
    # port): that master stands unless --spark-master names another.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if options.master or not submitted:
        builder = builder.master(options.master or DEFAULT_MASTER)
    for key, value in {**DEFAULT_CONF, **options.conf, **REQUIRED_CONF}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def java_available() -> bool:
    """True when a `java` runs (JAVA_HOME's, or the one on PATH)."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java:
        return False
    try:
        return subprocess.run([java, "-version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class SparkWorkspace(Workspace):
    """The DuckDB workspace file with Spark executing its Ibis expressions (see the module)."""

    def __init__(self, base: Workspace, session: Any, tables: Path) -> None:
        super().__init__(base.con, base.path)
        self.session = session
        self.tables = tables
        self._views: list[str] = []
        # Tables whose current rows are the Parquet folder named (Spark wrote them, or they
        # were copied there); anything else is DuckDB's and is copied when Spark reads it.
        self._parquet: dict[str, Path] = {}
        # Columns DuckDB types JSON (payments.extra): Parquet and Spark hold them as text.
        self._json: dict[str, list[str]] = {}
        self._backend = ibis.pyspark.connect(session)
        self._backend.compiler = _Compiler()

    @classmethod
    def open_spark(cls, path: Path | str, options: SparkOptions) -> SparkWorkspace:
        """The workspace file at `path` (created as `Workspace.open` does) with a Spark session
        and its Parquet folder `{path}.spark/`."""
        base = Workspace.open(path)
        try:
            session = spark_session(options)
            tables = Path(f"{base.path}.spark")
            shutil.rmtree(tables, ignore_errors=True)  # a scan on Spark recomputes everything
            private_folder(tables)
        except BaseException:
            base.close()
            raise
        return cls(base, session, tables)

    # --- Ibis on Spark --------------------------------------------------------------------
    @property
    def ibis(self) -> Any:  # type: ignore[override]
        """The Ibis PySpark backend on this workspace's session."""
        return self._backend

    def table(self, name: str) -> ir.Table:
        """`name` as a table on Spark: its Parquet rows, copied from DuckDB first when DuckDB
        wrote them last."""
        _check_name(name)
        folder = self._parquet.get(name)
        if folder is None or not self._duckdb_reads(name, folder):
            folder = self._copy_from_duckdb(name)
        table = self._backend.table(self._view(name, folder))
        json = [c for c in self._json.get(name, ()) if c in table.columns]
        return table.mutate(**{c: table[c].cast("json") for c in json}) if json else table

    def replace_table(self, name: str, obj: Any, *, temporary: bool = False) -> None:
        """Create or replace `name` from an Ibis expression (run on Spark), a pyarrow Table or
        a polars / pandas DataFrame, as Parquet with a DuckDB view over it."""
        _check_name(name)
        if name in BASE_TABLES:
            raise ValueError(f"{name!r} belongs to the workspace and cannot be replaced")
        folder = self._new_folder(name)
        if isinstance(obj, ir.Table):
            self._backend._run_pre_execute_hooks(obj)
            frame = _as_typed(self.session.sql(self._backend.compile(obj)), obj.schema())
            frame.write.mode("overwrite").parquet(str(folder))
        else:
            folder.mkdir(parents=True)
            pq.write_table(_to_arrow(obj), folder / "part-0.parquet")
        self._attach(name, folder, temporary=temporary)

    def replace_table_rows(
        self, name: str, columns: dict[str, str], rows: list[tuple], *, temporary: bool = False
    ) -> None:
        super().replace_table_rows(name, columns, rows, temporary=temporary)
        self._parquet.pop(name, None)  # DuckDB's now: copied when Spark reads it

    def stage_done(self, writes: Sequence[str]) -> None:
        """After a stage: what it declares written may have been written by DuckDB, so any
        Parquet copy of it (not Spark's own output) is stale."""
        for name in writes:
            folder = self._parquet.get(name)
            if folder is not None and not self._duckdb_reads(name, folder):
                del self._parquet[name]
        if "payments" in writes:
            self._parquet.pop("payments", None)

    def finish(self) -> None:
        """The end of a scan: every derived table stored in the DuckDB file (the web app and
        reports read it without Spark) and in the Parquet folder (the Spark workspace)."""
        for name, folder in list(self._parquet.items()):
            if self._is_temporary(name) and self._duckdb_reads(name, folder):
                shutil.rmtree(self.tables / name, ignore_errors=True)  # this session's only
                del self._parquet[name]
        for (name,) in self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT temporary UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT temporary"
        ).fetchall():
            folder = self._parquet.get(name)
            if name not in BASE_TABLES and folder is not None and self._duckdb_reads(name, folder):
                # Spark's rows: from a view over the Parquet files to a table of the file
                self.con.execute(f"DROP VIEW {quote_identifier(name)}")
                self.con.execute(
                    f"CREATE TABLE {quote_identifier(name)} AS "
                    f"SELECT * FROM read_parquet({_glob(folder)})"
                )
            elif name != "payments" or folder is None:
                # DuckDB's rows (perhaps rewritten since Spark read a copy): copied now;
                # payments change only in ingest, before Spark first read them
                self._copy_from_duckdb(name)
        for name, folder in self._parquet.items():  # only the current version is kept
            for old in (self.tables / name).iterdir():
                if old != folder:
                    shutil.rmtree(old, ignore_errors=True)

    def close(self) -> None:
        """A scan that stopped before `finish` leaves no DuckDB view over the Parquet folder
        (a DuckDB scan could not replace it by a table; the workspace says it is incomplete
        and the next scan recomputes every table)."""
        with contextlib.suppress(Exception):
            for name, folder in self._parquet.items():
                if name not in BASE_TABLES and self._duckdb_reads(name, folder):
                    self._drop_duckdb(name)
        with contextlib.suppress(Exception):
            for view in self._views:
                self.session.catalog.dropTempView(view)
            self.session.catalog.clearCache()
        super().close()

    # --- between the two engines ----------------------------------------------------------
    def _new_folder(self, name: str) -> Path:
        return self.tables / name / f"v{next(_VERSIONS)}"

    def _view(self, name: str, folder: Path) -> str:
        """A Spark temporary view over `folder`, named after the table and its version."""
        view = f"{name}__{folder.name}"
        if view not in self._views:
            self.session.read.parquet(str(folder)).createOrReplaceTempView(view)
            self._views.append(view)
        return view

    def _attach(self, name: str, folder: Path, *, temporary: bool) -> None:
        """`name` in DuckDB as a view over the Parquet rows in `folder`."""
        target = quote_identifier(name)
        self._drop_duckdb(name)
        self.con.execute(
            f"CREATE OR REPLACE {_temp(temporary)}VIEW {target} AS "
            f"SELECT * FROM read_parquet({_glob(folder)})"
        )
        self._parquet[name] = folder

    def _copy_from_duckdb(self, name: str) -> Path:
        """DuckDB's table (or temporary table) `name` copied to a new Parquet folder."""
        if not self._duckdb_has(name):
            raise VigilError(f"workspace {self.path} has no table {name!r}")
        folder = self._new_folder(name)
        folder.mkdir(parents=True)
        file = str(folder / "part-0.parquet").replace("'", "''")
        self.con.execute(f"COPY (SELECT * FROM {quote_identifier(name)}) TO '{file}'")
        self._json[name] = [
            c
            for c, t, *_ in self.con.execute(
                f"SELECT * FROM {quote_identifier(name)} LIMIT 0"
            ).description
            if str(t) == "JSON"
        ]
        self._parquet[name] = folder
        return folder

    def _duckdb_reads(self, name: str, folder: Path) -> bool:
        """True when DuckDB's `name` is still the view over `folder` (not replaced by SQL),
        or DuckDB's own table that `folder` copies (payments)."""
        if name in BASE_TABLES:
            return True
        rows = self.con.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = $name AND schema_name = 'main'",
            {"name": name},
        ).fetchall()
        return bool(rows) and str(folder) in rows[0][0]

    def _duckdb_has(self, name: str) -> bool:
        rows = self.con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = $name AND schema_name = 'main' "
            "UNION ALL SELECT 1 FROM duckdb_views() WHERE view_name = $name "
            "AND schema_name = 'main'",
            {"name": name},
        ).fetchall()
        return bool(rows)

    def _is_temporary(self, name: str) -> bool:
        rows = self.con.execute(
            "SELECT temporary FROM duckdb_views() WHERE view_name = $name AND schema_name = 'main'",
            {"name": name},
        ).fetchall()
        return bool(rows and rows[0][0])

    def _drop_duckdb(self, name: str) -> None:
        target = quote_identifier(name)
        for kind in ("VIEW", "TABLE"):
            for prefix in ("temp.main.", ""):
                with contextlib.suppress(Exception):
                    self.con.execute(f"DROP {kind} IF EXISTS {prefix}{target}")


class _Compiler(PySparkCompiler):
    """Ibis 12's PySpark SQL with two mends. A JSON field read as text is Spark's own
    `get_json_object`, which already gives a string field's text: Ibis wraps it in a pandas
    UDF that parses that text as JSON again, failing on every plain string (and a UDF is
    Python on every executor besides). A filtered median filters only its values."""

    SIMPLE_OPS: ClassVar[dict] = {
        op: name
        for op, name in PySparkCompiler.SIMPLE_OPS.items()
        if op is not ops.UnwrapJSONString
    }

    def visit_UnwrapJSONString(self, op: Any, *, arg: Any) -> Any:
        return arg

    def visit_ArrayCollect(
        self, op: Any, *, arg: Any, where: Any, order_by: Any, include_null: Any, distinct: Any
    ) -> Any:
        """A list ordered by its own values (`collect(distinct=True, order_by=x)`): Spark's
        `collect_list` / `collect_set` (no nulls) sorted by `array_sort`."""
        own_order = (
            len(order_by) == 1
            and order_by[0].this == arg
            and not order_by[0].args.get("desc")
            and not include_null
        )
        if not own_order:
            return super().visit_ArrayCollect(
                op,
                arg=arg,
                where=where,
                order_by=order_by,
                include_null=include_null,
                distinct=distinct,
            )
        if where is not None:
            arg = self.if_(where, arg, NULL)
        collected = self.f.collect_set(arg) if distinct else self.f.collect_list(arg)
        return self.f.array_sort(collected)

    def visit_Median(self, op: Any, *, arg: Any, where: Any) -> Any:
        """A filtered median: Ibis 12 filters the percentage too, which Spark refuses (it
        must be a constant); the values alone are filtered, as in `visit_Quantile`."""
        if where is not None:
            arg = self.if_(where, arg, NULL)
        return self.f.percentile(arg, 0.5)


def _as_typed(frame: Any, schema: Any) -> Any:
    """`frame` with the integer widths Ibis declares (Spark's row_number is a 32-bit INT
    where Ibis, and DuckDB, give BIGINT), so both engines store the same column types."""
    from ibis.backends.pyspark.datatypes import PySparkType
    from pyspark.sql import functions as F

    columns, changed = [], False
    for spark_field in frame.schema.fields:
        wanted = schema[spark_field.name]
        column = F.col(f"`{spark_field.name}`")
        if wanted.is_integer() and PySparkType.from_ibis(wanted) != spark_field.dataType:
            column, changed = column.cast(PySparkType.from_ibis(wanted)), True
        columns.append(column.alias(spark_field.name))
    return frame.select(*columns) if changed else frame


def _temp(temporary: bool) -> str:
    return "TEMPORARY " if temporary else ""


def _glob(folder: Path) -> str:
    return "'" + str(folder / "*.parquet").replace("'", "''") + "'"


__all__ = ["DEFAULT_MASTER", "SparkOptions", "SparkWorkspace", "java_available"]
