"""Readers: CSV, gzip CSV and Parquet in the canonical format, as SQL over DuckDB's readers.

Nothing here loads the rows into Python. Every column is read as text (VARCHAR), so the
reader's type inference rejects nothing: validation decides. Malformed CSV records (wrong
number of fields, bad quoting, invalid UTF-8) are not dropped: DuckDB stores them in a
rejects table, and ingest quarantines them with the line DuckDB reports.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from vigil.errors import InputError
from vigil.ingest.layout import Layout, amount_sql, ts_sql
from vigil.schema import CANONICAL_ORDER, REQUIRED_COLUMNS

MAX_HEADER_BYTES = 1 << 20

SUFFIXES: dict[str, Literal["csv", "csv.gz", "parquet"]] = {
    ".csv": "csv",
    ".csv.gz": "csv.gz",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def sql_string(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class InputFile:
    """One input, inspected: its format and where each canonical column is."""

    path: Path
    kind: Literal["csv", "csv.gz", "parquet"]
    header: tuple[str, ...]  # column names as the file has them, in file order
    canonical: dict[str, int]  # canonical column -> position in `header`
    extra: tuple[tuple[str, int], ...]  # (JSON key, position) of every other column
    layout: Layout | None = None  # the export's own layout (--layout), applied in SQL
    read_path: Path | None = None  # what DuckDB reads when it is not `path` (a conversion)
    row_column: str | None = None  # a converted file's own row numbers
    rejects: Path | None = None  # Parquet of rows a converter rejected (row, column, reason)
    reporter: str | None = None  # --reporter: the institution that reported every row

    @property
    def reads(self) -> Path:
        return self.read_path or self.path

    @property
    def label(self) -> str:
        """How reports and quarantine name the file: as the user gave it."""
        return str(self.path)


def kind_of(path: Path) -> Literal["csv", "csv.gz", "parquet"]:
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIXES[suffix]
    known = ", ".join([*sorted(SUFFIXES), ".xlsx", ".xml", ".xml.gz"])
    raise InputError(f"{path}: unsupported file type (Vigil reads {known})")


def inspect_input(con: duckdb.DuckDBPyConnection, path: Path) -> InputFile:
    """Check that `path` is readable and has every required column; InputError if not."""
    kind = kind_of(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    if kind == "parquet":
        return _map_columns(path, kind, _parquet_header(con, path))
    from vigil.ingest.sniff import check_plain_csv

    check_plain_csv(path)
    return _map_columns(path, kind, _csv_header(path, kind))


def inspect_with_layout(path: Path, kind: str, layout: Layout, read_path: Path | None) -> InputFile:
    """`path` read through `layout`: canonical columns by the export's names, constants."""
    header = _csv_header(read_path or path, kind, layout=layout)
    layout.check_against(path, header)
    canonical: dict[str, int] = {}
    for column in CANONICAL_ORDER:
        name = layout.columns.get(column)
        if name is None and column not in layout.constants and column in header:
            name = column
        if name is not None:
            canonical[column] = header.index(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in canonical and c not in layout.constants]
    if missing:
        listed = ", ".join(repr(column) for column in missing)
        raise InputError(
            f"{path}: the layout maps no column to {listed} (add it under columns: or constants:)"
        )
    used = set(canonical.values())
    extra = tuple(
        (name.strip() or f"column{position + 1}", position)
        for position, name in enumerate(header)
        if position not in used
    )
    csv_kind = "csv.gz" if kind == "csv.gz" and read_path is None else "csv"
    return InputFile(path, csv_kind, header, canonical, extra, layout, read_path)  # type: ignore[arg-type]


def _csv_header(path: Path, kind: str, layout: Layout | None = None) -> tuple[str, ...]:
    """The header record, read line by line (a quoted name may span lines)."""
    opener = gzip.open if kind == "csv.gz" and path.name.lower().endswith(".gz") else open
    data = b""
    try:
        with opener(path, "rb") as raw:
            while len(data) < MAX_HEADER_BYTES:
                line = raw.readline()
                data += line
                if not line or data.count(b'"') % 2 == 0:
                    break
    except (OSError, EOFError) as error:
        raise InputError(f"{path}: cannot read the file: {_reason(error)}") from error
    encoding = "utf-8-sig" if layout is None else layout.python_encoding
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise InputError(f"{path}: the header row is not {encoding} text") from None
    delimiter = "," if layout is None else layout.delimiter
    header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
    if not header or not any(name.strip() for name in header):
        raise InputError(f"{path}: empty file (no header row)")
    return tuple(header)


def _parquet_header(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, ...]:
    try:
        rows = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({sql_string(str(path))})"
        ).fetchall()
    except duckdb.Error as error:
        raise InputError(f"{path}: cannot read the Parquet file: {_reason(error)}") from error
    return tuple(str(row[0]) for row in rows)


def _map_columns(path: Path, kind: str, header: tuple[str, ...]) -> InputFile:
    canonical: dict[str, int] = {}
    extra: list[tuple[str, int]] = []
    keys: set[str] = set()
    for position, name in enumerate(header):
        key = name.strip().lower()
        if key in CANONICAL_ORDER:
            if key in canonical:
                raise InputError(f"{path}: column {key!r} appears twice in the header")
            canonical[key] = position
            continue
        json_key = name.strip() or f"column{position + 1}"
        while json_key in keys:
            json_key += "_"
        keys.add(json_key)
        extra.append((json_key, position))
    missing = [column for column in REQUIRED_COLUMNS if column not in canonical]
    if missing and kind != "parquet":
        from vigil.ingest.sniff import delimiter_problem

        problem = delimiter_problem(path, ",".join(header), missing)
        if problem is not None and len(missing) > 1:
            raise problem
    if len(missing) == 1:
        raise InputError(f"{path}: missing required column {missing[0]!r}")
    if missing:
        listed = ", ".join(repr(column) for column in missing)
        raise InputError(f"{path}: missing required columns {listed}")
    return InputFile(path, kind, header, canonical, tuple(extra))  # type: ignore[arg-type]


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def rejects_tables(index: int) -> tuple[str, str]:
    """Names of the (errors, scans) tables DuckDB fills with file `index`'s bad CSV records."""
    return f"vigil_rejects_{index}", f"vigil_reject_scans_{index}"


def source_sql(source: InputFile, index: int) -> str:
    """A SELECT yielding every canonical column as text (NULL where the file lacks an
    optional one), `extra` (the other columns as a JSON object, NULL when there are none)
    and, for Parquet, `row` (1-based). CSV rows are numbered by staging order instead."""
    path = sql_string(str(source.reads))
    layout = source.layout
    if source.kind == "parquet":
        names = [sql_identifier(name) for name in source.header]
        relation = f"read_parquet({path}, file_row_number = true)"
        row = (
            f"CAST({sql_identifier(source.row_column)} AS BIGINT) AS row, "
            if source.row_column
            else "file_row_number + 1 AS row, "
        )
    else:
        names = [f"c{position}" for position in range(len(source.header))]
        errors, scans = rejects_tables(index)
        columns = ", ".join(f"'{name}': 'VARCHAR'" for name in names)
        delimiter = sql_string(layout.delimiter if layout else ",")
        encoding = sql_string((layout.duckdb_encoding or "utf-8") if layout else "utf-8")
        relation = (
            f"read_csv({path}, columns = {{{columns}}}, auto_detect = false, header = true, "
            f"delim = {delimiter}, quote = '\"', escape = '\"', encoding = {encoding}, "
            "strict_mode = true, null_padding = false, "
            f"store_rejects = true, rejects_table = '{errors}', rejects_scan = '{scans}')"
        )
        row = ""
    selected = []
    for column in CANONICAL_ORDER:
        position = source.canonical.get(column)
        if position is not None:
            value = f"CAST({names[position]} AS VARCHAR)"
        elif layout is not None and column in layout.constants:
            value = sql_string(layout.constants[column])
        else:
            value = "NULL"
        if layout is not None and position is not None:
            if column == "amount":
                value = amount_sql(value, layout)
            elif column == "ts":
                value = ts_sql(value, layout)
        if column == "reporter" and source.reporter is not None:
            # --reporter fills the rows that name none; a row naming another reporter keeps
            # its own, and ingest stops on it (check_reporters)
            flag = sql_string(source.reporter)
            value = flag if value == "NULL" else f"coalesce(NULLIF(trim({value}), ''), {flag})"
        selected.append(f"{value} AS {column}")
    if source.extra:
        pairs = ", ".join(f"{sql_string(key)}, {names[pos]}" for key, pos in source.extra)
        selected.append(f"json_object({pairs}) AS extra")
    else:
        selected.append("CAST(NULL AS JSON) AS extra")
    return f"SELECT {row}{', '.join(selected)} FROM {relation}"


def reader_error(source: InputFile, error: duckdb.Error) -> InputError:
    """An error DuckDB raised while reading `source`, as one line for the user."""
    return InputError(f"{source.path}: cannot read the file: {_reason(error)}")
