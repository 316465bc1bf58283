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

    @property
    def label(self) -> str:
        """How reports and quarantine name the file: as the user gave it."""
        return str(self.path)


def kind_of(path: Path) -> Literal["csv", "csv.gz", "parquet"]:
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIXES[suffix]
    raise InputError(f"{path}: unsupported file type (Vigil reads {', '.join(sorted(SUFFIXES))})")


def inspect_input(con: duckdb.DuckDBPyConnection, path: Path) -> InputFile:
    """Check that `path` is readable and has every required column; InputError if not."""
    kind = kind_of(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    header = _csv_header(path, kind) if kind != "parquet" else _parquet_header(con, path)
    return _map_columns(path, kind, header)


def _csv_header(path: Path, kind: str) -> tuple[str, ...]:
    """The header record, read line by line (a quoted name may span lines)."""
    opener = gzip.open if kind == "csv.gz" else open
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
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: the header row is not UTF-8 text") from None
    header = next(csv.reader(io.StringIO(text, newline="")), None)
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
    path = sql_string(str(source.path))
    if source.kind == "parquet":
        names = [sql_identifier(name) for name in source.header]
        relation = f"read_parquet({path}, file_row_number = true)"
        row = "file_row_number + 1 AS row, "
    else:
        names = [f"c{position}" for position in range(len(source.header))]
        errors, scans = rejects_tables(index)
        columns = ", ".join(f"'{name}': 'VARCHAR'" for name in names)
        relation = (
            f"read_csv({path}, columns = {{{columns}}}, auto_detect = false, header = true, "
            "delim = ',', quote = '\"', escape = '\"', encoding = 'utf-8', "
            "strict_mode = true, null_padding = false, "
            f"store_rejects = true, rejects_table = '{errors}', rejects_scan = '{scans}')"
        )
        row = ""
    selected = []
    for column in CANONICAL_ORDER:
        position = source.canonical.get(column)
        value = "NULL" if position is None else f"CAST({names[position]} AS VARCHAR)"
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
