"""Ingest: payment files in, validated and converted payments into the workspace.

Several inputs in one run are one dataset. Every row read ends up in exactly one place:
the workspace's `payments` table (new, or already there with the same content) or
quarantine.csv (with file, row, column and reason). All SQL, no loop over rows: DuckDB
reads the files (out of core), checks the rows, and inserts them in one transaction.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from vigil.errors import ConfigError, InputError, QuarantineError
from vigil.geo import currency_codes
from vigil.ingest.fx import FxRates, load_fx_rates
from vigil.ingest.layout import Layout, load_layout
from vigil.ingest.read import (
    InputFile,
    reader_error,
    rejects_tables,
    source_sql,
    sql_string,
)
from vigil.ingest.records import check_every_record_read, count_records, restore_raw_records
from vigil.ingest.validate import CHANGED_REASON, Check, TimeRange, checked_sql, row_checks
from vigil.schema import CANONICAL_ORDER, OPTIONAL_COLUMNS, sender_key_sql
from vigil.workspace.store import PAYMENTS_COLUMNS, Workspace

# Quarantine columns: where and why, then every canonical column as read, then what else
# the row had (`extra`, JSON) and, for a record the CSV reader could not split, its text.
QUARANTINE_COLUMNS: tuple[str, ...] = (
    "file",
    "row",
    "column",
    "reason",
    *CANONICAL_ORDER,
    "extra",
    "raw_line",
)
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
ROW_BITS = 40  # a row's (file, row) packed in one BIGINT: file << 40 | row

META_REPORTING = "reporting_currency"
META_FX = "fx_rates"


@dataclass(frozen=True)
class FileIngest:
    """What happened to the rows of one input file."""

    path: Path
    rows_read: int
    rows_ingested: int
    rows_new: int
    rows_already_present: int
    rows_quarantined: int


@dataclass(frozen=True)
class IngestResult:
    """Counts of one ingest run: rows_read == rows_ingested + rows_quarantined."""

    rows_read: int
    rows_ingested: int
    rows_new: int
    rows_already_present: int
    rows_quarantined: int
    files: list[FileIngest] = field(default_factory=list)
    reporting_currency: str = "USD"
    quarantine_path: Path | None = None
    fx_rates: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = [{**asdict(f), "path": str(f.path)} for f in self.files]
        data["quarantine_path"] = (
            None if self.quarantine_path is None else str(self.quarantine_path)
        )
        return data


def ingest(
    workspace: Workspace,
    inputs: Sequence[Path],
    *,
    quarantine_path: Path,
    fx_rates: Path | None = None,
    reporting_currency: str = "USD",
    time_range: TimeRange | None = None,
    layout: Layout | Path | None = None,
    account_holder: str = "auto",
    max_quarantine_share: float | None = None,
    max_name_length: int | None = 200,
    reporters: Sequence[str | None] | None = None,
) -> IngestResult:
    """Read, check and convert `inputs` into `workspace.payments`; rejected rows go to
    `quarantine_path`. Raises InputError (unreadable file, missing required column) or
    ConfigError (bad rate file, reporting currency, layout) before anything is written.

    `layout` maps an institution's own CSV / Excel layout; ISO 20022 XML is recognised by
    its content (`account_holder` says which side a camt statement's owner is). When more
    than `max_quarantine_share` of the rows read would be quarantined, nothing is ingested:
    QuarantineError with the main reasons (quarantine.csv is still written). Names longer
    than `max_name_length` characters are ingested with a warning. `reporters` (FIU mode):
    the reporting institution of each input, in order (None: the file's own column)."""
    if not inputs:
        raise InputError("no input files given")
    if account_holder not in {"sender", "beneficiary", "auto"}:
        raise ConfigError(f"account holder {account_holder!r}: use sender, beneficiary or auto")
    if layout is not None and not isinstance(layout, Layout):
        layout = load_layout(Path(layout))
    reporting = reporting_currency.strip().upper()
    rates = load_fx_rates(fx_rates)
    _check_reporting_currency(workspace, rates, reporting)
    with tempfile.TemporaryDirectory(prefix="vigil-ingest-") as scratch:
        from vigil.ingest.sources import prepare

        prepared = prepare(
            workspace.con,
            list(inputs),
            Path(scratch),
            layout=layout,
            account_holder=account_holder,  # type: ignore[arg-type]
            reporters=reporters,
        )
        result = _ingest_sources(
            workspace,
            prepared.sources,
            quarantine_path,
            rates,
            reporting,
            max_quarantine_share,
            max_name_length,
            time_range or TimeRange.default(),
        )
    result.warnings.extend(prepared.warnings)
    return result


def _ingest_sources(
    workspace: Workspace,
    sources: list[InputFile],
    quarantine_path: Path,
    rates: FxRates,
    reporting: str,
    max_quarantine_share: float | None,
    max_name_length: int | None,
    time_range: TimeRange,
) -> IngestResult:
    con = workspace.con
    quarantine_path = Path(quarantine_path)
    try:
        quarantine_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{quarantine_path}: cannot create its folder: {error}") from error
    partial = quarantine_path.with_name(quarantine_path.name + ".part")

    run = _Run(con, sources, rates, reporting, time_range)
    refused: str | None = None
    try:
        # Staging only fills this connection's temporary tables (outside the transaction:
        # row numbers come from their committed row ids); the workspace changes below, in
        # one transaction.
        run.stage()
        with workspace.transaction():
            counts = run.classify()
            run.write_quarantine(partial)
            refused = run.too_much_quarantine(counts, max_quarantine_share)
            if refused is not None:
                raise _Refused
            long_names = run.long_names(max_name_length)
            inserted = run.insert()
            expected = sum(c["new"] for c in counts)
            if inserted != expected:  # a broken join would lose rows: never commit that
                raise RuntimeError(f"inserted {inserted} payments, expected {expected}")
            workspace.meta_set(META_REPORTING, reporting)
            workspace.meta_set(META_FX, rates.source)
    except _Refused:
        pass  # rolled back; quarantine.csv below says which rows and why
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    finally:
        run.drop()
    os.replace(partial, quarantine_path)
    if refused is not None:
        raise QuarantineError(refused)

    files = [
        FileIngest(
            path=source.path,
            rows_read=c["read"],
            rows_ingested=c["new"] + c["present"],
            rows_new=c["new"],
            rows_already_present=c["present"],
            rows_quarantined=c["quarantined"],
        )
        for source, c in zip(sources, counts, strict=True)
    ]
    result = IngestResult(
        rows_read=sum(f.rows_read for f in files),
        rows_ingested=sum(f.rows_ingested for f in files),
        rows_new=sum(f.rows_new for f in files),
        rows_already_present=sum(f.rows_already_present for f in files),
        rows_quarantined=sum(f.rows_quarantined for f in files),
        files=files,
        reporting_currency=reporting,
        quarantine_path=quarantine_path,
        fx_rates=rates.source,
        warnings=[long_names] if long_names else [],
    )
    for f in [*files, result]:
        assert f.rows_read == f.rows_ingested + f.rows_quarantined, f"rows lost: {f}"
    return result


def _check_reporting_currency(workspace: Workspace, rates: FxRates, reporting: str) -> None:
    if reporting not in currency_codes():
        raise ConfigError(f"reporting currency {reporting!r} is not an ISO 4217 currency code")
    if reporting not in rates.currencies:
        raise ConfigError(f"{rates.source}: no exchange rate for reporting currency {reporting}")
    before = workspace.meta_get(META_REPORTING)
    if before and before != reporting and workspace.count("payments"):
        raise ConfigError(
            f"workspace {workspace.path} holds amounts in {before}, not {reporting}: "
            f"use reporting currency {before} or another workspace"
        )


def _formula_safe(expression: str) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ (or tab / CR) gets a quote."""
    leads = ", ".join(sql_string(lead) for lead in FORMULA_LEADS)
    return (
        f"CASE WHEN left({expression}, 1) IN ({leads}) "
        f"THEN '''' || {expression} ELSE {expression} END"
    )


class _Refused(Exception):
    """Too many rows quarantined: roll the ingest back."""


class _Run:
    """The temporary tables and SQL of one ingest run."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        sources: list[InputFile],
        rates: FxRates,
        reporting: str,
        time_range: TimeRange,
    ) -> None:
        self.con = con
        self.sources = sources
        self.rates = rates
        self.reporting = reporting
        self.checks: tuple[Check, ...] = row_checks(rates.currencies, time_range)
        self.temp: list[str] = []

    # --- staging --------------------------------------------------------------------------
    def stage(self) -> None:
        """Read and check every file into temporary tables."""
        # A few hundred rates: a VALUES list (registering Arrow data costs seconds the
        # first time in a process).
        values = ", ".join(
            f"({sql_string(currency)}, {year}, {factor!r})"
            for currency, year, factor in self.rates.factors(self.reporting)
        )
        self._create(
            "vigil_fx",
            f"SELECT currency, CAST(year AS INTEGER) AS year, CAST(factor AS DOUBLE) AS factor "
            f"FROM (VALUES {values}) AS t(currency, year, factor)",
        )
        files = ", ".join(
            f"({i}, {sql_string(source.label)})" for i, source in enumerate(self.sources)
        )
        self._create("vigil_files", f"SELECT * FROM (VALUES {files}) AS t(file_idx, file)")

        row_views, reject_views = [], []
        for index, source in enumerate(self.sources):
            rows, rejects = self._stage_file(index, source)
            row_views.append(rows)
            reject_views.extend(rejects)
        self._create("vigil_rows", " UNION ALL ".join(row_views), view=True)
        self._check_reporters()
        if reject_views:
            self._create("vigil_rejected", " UNION ALL ".join(reject_views))
        else:
            self._create(
                "vigil_rejected",
                "SELECT 0 AS file_idx, CAST(0 AS BIGINT) AS row, '' AS bad_column, '' AS reason, "
                "'' AS raw_line WHERE false",
            )

    def _check_reporters(self) -> None:
        """InputError when a file's own `reporter` column names another reporter than the
        --reporter given for it: one of the two is wrong, and guessing which would put a
        customer under another institution's ids."""
        for index, source in enumerate(self.sources):
            if source.reporter is None:
                continue
            found = self.con.execute(
                "SELECT row, reporter FROM vigil_rows WHERE file_idx = ? AND reporter <> ? "
                "ORDER BY row LIMIT 1",
                [index, source.reporter],
            ).fetchall()
            if found:
                row, named = found[0]
                raise InputError(
                    f"{source.label}: row {row}, column 'reporter': {named!r} differs from "
                    f"--reporter {source.reporter!r} given for this file (drop the flag or "
                    "fix the column)"
                )

    def _stage_file(self, index: int, source: InputFile) -> tuple[str, list[str]]:
        """Stage one file's rows (checked) in a temp table; SQL of its rows and rejects."""
        table = f"vigil_in_{index}"
        parquet = source.kind == "parquet"
        sql = checked_sql(source_sql(source, index), self.checks, keep=["row"] if parquet else ())
        try:
            self._create(table, sql)
        except duckdb.Error as error:
            raise reader_error(source, error) from error
        if parquet:
            rejects = []
            if source.rejects is not None:
                rejects.append(
                    f"SELECT {index} AS file_idx, row, bad_column, reason, raw_line "
                    f"FROM read_parquet({sql_string(str(source.rejects))})"
                )
            return f"SELECT {index} AS file_idx, * FROM {table}", rejects

        # CSV rows are numbered by their row id in the staged table: 0 … n-1 in file order
        # (DuckDB keeps insertion order). Make sure, rather than number rows wrongly.
        n, last = self.con.execute(f"SELECT count(*), max(rowid) FROM {table}").fetchall()[0]
        if n and last != n - 1:
            raise RuntimeError(f"{table}: row ids are not 0..{n - 1} (last is {last})")
        errors, scans = rejects_tables(index)
        self.temp += [errors, scans]
        rejected = self._first_reject_per_line(index, source, errors)
        n_rejected = self.con.execute(f"SELECT count(*) FROM {rejected}").fetchall()[0][0]
        # Records are counted in what DuckDB read: a converted file (another encoding, an
        # Excel sheet) is counted in its UTF-8 CSV, not in the bytes of the original.
        gzipped = source.kind == "csv.gz" and source.read_path is None
        counted = count_records(source.reads, gzipped=gzipped)
        check_every_record_read(source.label, counted, n + n_rejected)
        restore_raw_records(self.con, rejected, source.reads, gzipped=gzipped)
        self.con.execute(f"ALTER TABLE {rejected} DROP COLUMN raw_offset")
        if not n_rejected:
            return f"SELECT {index} AS file_idx, rowid + 1 AS row, * FROM {table}", [
                f"SELECT * FROM {rejected}"
            ]
        # DuckDB numbers records (header = line 1; a quoted field over several lines is one
        # record): a rejected record's data row is its line - 1. The k-th accepted row is
        # the k-th number the rejected ones leave free: k plus the rejects before it. (Its
        # line count also counts blank lines, which are not rows: after one, a rejected
        # record's row is one too high; its reason quotes DuckDB's line either way.)
        gaps = f"vigil_gaps_{index}"
        self._create(
            gaps,
            f"""SELECT row - j AS accepted_before, max(j) AS rejected_so_far
                FROM (SELECT row, row_number() OVER (ORDER BY row) AS j FROM {rejected})
                GROUP BY ALL""",
        )
        rows = f"""SELECT {index} AS file_idx,
                t.rowid + 1 + coalesce(g.rejected_so_far, 0) AS row, t.*
            FROM {table} t ASOF LEFT JOIN {gaps} g ON t.rowid + 1 > g.accepted_before"""
        return rows, [f"SELECT * FROM {rejected}"]

    def _first_reject_per_line(self, index: int, source: InputFile, errors: str) -> str:
        """One quarantine entry per record DuckDB's CSV reader rejected."""
        names = ", ".join(
            f"({position}, {sql_string(name)})" for position, name in enumerate(source.header)
        )
        table = f"vigil_rejected_{index}"
        self._create(
            table,
            f"""SELECT {index} AS file_idx, CAST(line - 1 AS BIGINT) AS row,
                    coalesce(h.name, '') AS bad_column,
                    'malformed CSV record (DuckDB: line ' || line || ', header = line 1): '
                        || coalesce(error_message, CAST(error_type AS VARCHAR)) AS reason,
                    csv_line AS raw_line,
                    -- DuckDB counts the record's first byte from 1
                    CAST(line_byte_position - 1 AS BIGINT) AS raw_offset
                FROM (SELECT * FROM {errors}
                      QUALIFY row_number() OVER (PARTITION BY line ORDER BY byte_position) = 1)
                LEFT JOIN (VALUES {names}) AS h(position, name)
                    ON h.position + 1 = column_idx AND column_name IS NOT NULL""",
        )
        return table

    def classify(self) -> list[dict[str, int]]:
        """vigil_outcome: every row that is not a new payment, with what it is and why.

        Rows failing a row check are quarantined. Of the rows passing them, the first of
        each txn_id (file order, then row) is kept and the later ones are quarantined as
        duplicates; a kept txn_id already in the workspace is 'present' when its content is
        the same, quarantined when it differs. Returns the counts per file.
        """
        reasons = ", ".join(sql_string(c.reason) for c in self.checks)
        columns = ", ".join(sql_string(c.column) for c in self.checks)
        mask = (1 << ROW_BITS) - 1
        same = " AND ".join(
            [
                "p.ts_local = v.ts",
                "p.amount = v.amount_value",
                *(
                    f"p.{c} = v.{c}"
                    for c in CANONICAL_ORDER
                    if c not in {"txn_id", "ts", "amount", "sender_id", *OPTIONAL_COLUMNS}
                ),
                # the workspace keys a reported sender by reporter and id
                "coalesce(p.reporter_sender_id, p.sender_id) = v.sender_id",
                *(f"p.{c} IS NOT DISTINCT FROM NULLIF(v.{c}, '')" for c in OPTIONAL_COLUMNS),
            ]
        )
        self._create(
            "vigil_outcome",
            f"""
WITH valid AS (
    SELECT file_idx, row, txn_id, (CAST(file_idx AS BIGINT) << {ROW_BITS}) | row AS seq
    FROM vigil_rows WHERE check_id = 0
),
repeated AS (
    SELECT txn_id, min(seq) AS first_seq FROM valid GROUP BY txn_id HAVING count(*) > 1
),
kept AS (
    SELECT v.* FROM valid v LEFT JOIN repeated r USING (txn_id)
    WHERE r.first_seq IS NULL OR v.seq = r.first_seq
)
SELECT file_idx, row, 'quarantined' AS status,
    [{columns}][check_id] AS bad_column, [{reasons}][check_id] AS reason
FROM vigil_rows WHERE check_id <> 0
UNION ALL
SELECT v.file_idx, v.row, 'quarantined', 'txn_id',
    'duplicate txn_id, first seen in ' || f.file || ' row ' || (r.first_seq & {mask})
FROM valid v JOIN repeated r USING (txn_id)
    JOIN vigil_files f ON f.file_idx = r.first_seq >> {ROW_BITS}
WHERE v.seq <> r.first_seq
UNION ALL
SELECT k.file_idx, k.row,
    CASE WHEN {same} THEN 'present' ELSE 'quarantined' END,
    CASE WHEN {same} THEN NULL ELSE 'txn_id' END,
    CASE WHEN {same} THEN NULL ELSE {sql_string(CHANGED_REASON)} END
FROM kept k JOIN payments p ON p.txn_id = k.txn_id
    JOIN vigil_rows v ON v.file_idx = k.file_idx AND v.row = k.row
""",
        )
        return self._counts()

    def too_much_quarantine(
        self, counts: list[dict[str, int]], max_share: float | None
    ) -> str | None:
        """The refusal message when more than `max_share` of the rows are quarantined."""
        read = sum(c["read"] for c in counts)
        quarantined = sum(c["quarantined"] for c in counts)
        if max_share is None or not read or quarantined <= max_share * read:
            return None
        reasons = self.con.execute(
            """SELECT bad_column, reason, count(*) AS n FROM (
                   SELECT bad_column, regexp_replace(reason, ', first seen in .*', '') AS reason
                   FROM vigil_outcome WHERE status = 'quarantined'
                   UNION ALL SELECT bad_column, regexp_replace(reason, '[(].*', '')
                   FROM vigil_rejected)
               GROUP BY ALL ORDER BY n DESC, bad_column LIMIT 3"""
        ).fetchall()
        main = "; ".join(
            f"{n:,} × {column + ': ' if column else ''}{reason.strip()}"
            for column, reason, n in reasons
        )
        return (
            f"{quarantined:,} of {read:,} rows ({quarantined / read:.0%}) would be quarantined, "
            f"more than {max_share:.0%}: {main}. Nothing was ingested; see quarantine.csv, fix "
            "the input or its layout (--layout), or pass --accept-quarantine"
        )

    def long_names(self, limit: int | None) -> str | None:
        """A warning when ingested names are longer than `limit` characters (they are kept
        whole; tables show them cut, reports wrap them)."""
        if limit is None:
            return None
        longest_name = "greatest(length(sender_name), length(beneficiary_name))"
        rows, longest = self.con.execute(
            f"""SELECT count(*), max({longest_name})
                FROM vigil_rows r ANTI JOIN vigil_outcome o USING (file_idx, row)
                WHERE r.check_id = 0 AND {longest_name} > {int(limit)}"""
        ).fetchall()[0]
        if not rows:
            return None
        return (
            f"{rows:,} payments have a name longer than {limit} characters (the longest "
            f"{longest:,}): kept whole, shown cut in tables (--max-name-length sets the limit)"
        )

    def _counts(self) -> list[dict[str, int]]:
        rows = self.con.execute(
            """
SELECT f.file_idx,
    coalesce(a.n, 0) + coalesce(j.n, 0) AS read,
    coalesce(o.present, 0) AS present,
    coalesce(o.quarantined, 0) + coalesce(j.n, 0) AS quarantined
FROM vigil_files f
LEFT JOIN (SELECT file_idx, count(*) AS n FROM vigil_rows GROUP BY ALL) a USING (file_idx)
LEFT JOIN (SELECT file_idx, count(*) AS n FROM vigil_rejected GROUP BY ALL) j USING (file_idx)
LEFT JOIN (SELECT file_idx, count(*) FILTER (status = 'present') AS present,
                  count(*) FILTER (status = 'quarantined') AS quarantined
           FROM vigil_outcome GROUP BY ALL) o USING (file_idx)
ORDER BY f.file_idx"""
        ).fetchall()
        return [
            {
                "read": read,
                "present": present,
                "quarantined": quarantined,
                "new": read - present - quarantined,
            }
            for _, read, present, quarantined in rows
        ]

    # --- output ---------------------------------------------------------------------------
    def write_quarantine(self, path: Path) -> None:
        raw = ", ".join(_formula_safe(f"q.{c}") + f" AS {c}" for c in CANONICAL_ORDER)
        nulls = ", ".join(f"NULL AS {c}" for c in CANONICAL_ORDER)
        query = f"""
SELECT {_formula_safe("f.file")} AS file, q.row, {_formula_safe("q.bad_column")} AS "column",
    {_formula_safe("q.reason")} AS reason, {raw},
    {_formula_safe("CAST(q.extra AS VARCHAR)")} AS extra, {_formula_safe("q.raw_line")} AS raw_line
FROM (
    SELECT o.file_idx, o.row, o.bad_column, o.reason,
        {", ".join(f"r.{c}" for c in CANONICAL_ORDER)}, r.extra, NULL AS raw_line
    FROM vigil_outcome o JOIN vigil_rows r USING (file_idx, row)
    WHERE o.status = 'quarantined'
    UNION ALL
    SELECT file_idx, row, bad_column, reason, {nulls}, NULL, raw_line FROM vigil_rejected
) q JOIN vigil_files f USING (file_idx)
ORDER BY q.file_idx, q.row"""
        self.con.execute(
            f"COPY ({query}) TO {sql_string(str(path))} (FORMAT csv, HEADER, DELIMITER ',')"
        )

    def insert(self) -> int:
        first, last = self.rates.years
        # Sender ids are keyed by reporter only when some row names one: a plain copy of
        # the column otherwise, so a scan without reporters stores (and scores) exactly
        # what it always did (with the CASE on every scan, one float in alerts.json of a
        # generated population differed in its last digit).
        reported = self.con.execute(
            "SELECT EXISTS (SELECT 1 FROM vigil_rows WHERE NULLIF(reporter, '') IS NOT NULL)"
        ).fetchall()[0][0]
        sender_id = (
            sender_key_sql("NULLIF(r.reporter, '')", "r.sender_id") if reported else "r.sender_id"
        )
        values = {
            "txn_id": "r.txn_id",
            "ts_utc": "r.ts_utc",
            "ts_local": "r.ts",
            "sender_utc_offset_minutes": "r.utc_offset_minutes",
            "beneficiary_city": "NULLIF(r.beneficiary_city, '')",
            "amount": "r.amount_value",
            "narrative": "NULLIF(r.narrative, '')",
            "payout_location": "NULLIF(r.payout_location, '')",
            "beneficiary_phone": "NULLIF(r.beneficiary_phone, '')",
            "sender_id": sender_id,
            "reporter": "NULLIF(r.reporter, '')",
            "reporter_sender_id": (
                "CASE WHEN NULLIF(r.reporter, '') IS NOT NULL THEN r.sender_id END"
            ),
            "amount_reporting": "CAST(r.amount_value AS DOUBLE) * x.factor",
            "extra": "r.extra",
            "source_file": "f.file",
            "source_row": "r.row",
        }
        select = ", ".join(values.get(c, f"r.{c}") for c in PAYMENTS_COLUMNS)
        rows = self.con.execute(
            f"""
INSERT INTO payments ({", ".join(PAYMENTS_COLUMNS)})
SELECT {select}
FROM vigil_rows r
    ANTI JOIN vigil_outcome o ON o.file_idx = r.file_idx AND o.row = r.row
    JOIN vigil_files f ON f.file_idx = r.file_idx
    JOIN vigil_fx x ON x.currency = r.currency
        AND x.year = least(greatest(year(r.ts_utc), {first}), {last})
WHERE r.check_id = 0"""
        ).fetchall()
        return int(rows[0][0])

    # --- temporary tables -----------------------------------------------------------------
    def _create(self, name: str, sql: str, *, view: bool = False) -> None:
        kind = "VIEW" if view else "TABLE"
        self.con.execute(f"CREATE OR REPLACE TEMP {kind} {name} AS {sql}")
        self.temp.append(name)

    def drop(self) -> None:
        for name in reversed(self.temp):
            with contextlib.suppress(duckdb.Error):
                kind = "VIEW" if name == "vigil_rows" else "TABLE"
                self.con.execute(f"DROP {kind} IF EXISTS temp.{name}")
        self.temp.clear()
