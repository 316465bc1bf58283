"""From what the user named to what DuckDB reads: folders expanded, ISO 20022 XML and Excel
converted, exports in other encodings transcoded, each through its layout when one is given.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from vigil.errors import InputError
from vigil.ingest import goaml, iso20022
from vigil.ingest.layout import Layout
from vigil.ingest.read import (
    SUFFIXES,
    InputFile,
    inspect_input,
    inspect_with_layout,
    kind_of,
)
from vigil.schema import CANONICAL_ORDER, SENDER_KEY_SEPARATOR

EXCEL_SUFFIX = ".xlsx"
XML_SUFFIXES = (".xml", ".xml.gz")
CHUNK = 1 << 20


@dataclass
class Prepared:
    sources: list[InputFile]
    warnings: list[str] = field(default_factory=list)


def readable(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((*SUFFIXES, EXCEL_SUFFIX, *XML_SUFFIXES))


def expand(paths: Sequence[Path]) -> list[Path]:
    """Every input file: a folder stands for the readable files in it (sorted, not hidden)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and readable(p) and not p.name.startswith(".")
            )
            if not found:
                raise InputError(f"{path}: folder holds no CSV, Parquet, Excel or XML files")
            files.extend(found)
        else:
            files.append(path)
    return files


def prepare(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    scratch: Path,
    *,
    layout: Layout | None = None,
    account_holder: iso20022.AccountHolder = "auto",
    reporters: Sequence[str | None] | None = None,
) -> Prepared:
    """Every input as DuckDB reads it. `reporters[i]` (FIU mode) is the reporting
    institution of `paths[i]`, of every file in it when it is a folder; None: the file's
    own `reporter` column, if any."""
    if reporters is not None and len(reporters) != len(paths):
        raise InputError(
            f"{len(paths)} inputs and {len(reporters)} --reporter: give one --reporter per "
            "input, in the order of the inputs (an empty one for a file that names its "
            "reporters in its own column)"
        )
    prepared = Prepared([])
    files = [
        (file, reporter)
        for path, reporter in zip(paths, reporters or [None] * len(paths), strict=True)
        for file in expand([path])
    ]
    for index, (path, given) in enumerate(files):
        _prepare_one(prepared, con, index, path, scratch, layout, account_holder)
        reporter = (given or "").strip() or None
        if reporter is not None and SENDER_KEY_SEPARATOR in reporter:
            raise InputError(
                f"{path}: --reporter {reporter!r} contains {SENDER_KEY_SEPARATOR!r}, which "
                "separates a reporter from its sender ids: name the reporter without it"
            )
        if reporter is not None:
            prepared.sources[-1] = replace(prepared.sources[-1], reporter=reporter)
    return prepared


def _prepare_one(
    prepared: Prepared,
    con: duckdb.DuckDBPyConnection,
    index: int,
    path: Path,
    scratch: Path,
    layout: Layout | None,
    account_holder: iso20022.AccountHolder,
) -> None:
    name = path.name.lower()
    if name.endswith(XML_SUFFIXES):
        _exists(path)
        timezone = layout.timezone if layout else None
        if goaml.is_goaml(path):  # an STR, as an FIU receives it
            conversion = goaml.convert(path, scratch, f"input{index}", timezone=timezone)
            header = goaml.PARQUET_COLUMNS
        else:
            conversion = iso20022.convert(
                path, scratch, f"input{index}", account_holder=account_holder, timezone=timezone
            )
            header = iso20022.PARQUET_COLUMNS
        prepared.warnings.extend(conversion.warnings)
        prepared.sources.append(_converted_source(path, conversion, header))
    elif name.endswith(EXCEL_SUFFIX):
        _exists(path)
        from vigil.ingest.excel import xlsx_to_csv

        layout_used = layout or Layout()
        csv_path = xlsx_to_csv(
            path,
            scratch / f"input{index}.csv",
            sheet=layout_used.sheet,
            decimal=layout_used.decimal,
            timestamp_format=layout_used.timestamp_format,
        )
        # The CSV written is UTF-8 and comma separated whatever the layout says.
        as_csv = layout_used.model_copy(update={"delimiter": ",", "encoding": "utf-8"})
        prepared.sources.append(inspect_with_layout(path, "csv", as_csv, csv_path))
    elif layout is not None:
        kind = kind_of(path)
        _exists(path)
        if kind == "parquet":
            raise InputError(f"{path}: a layout applies to CSV and Excel files, not Parquet")
        read_path = None
        used = layout
        if layout.duckdb_encoding is None:
            read_path = _transcode(path, kind, layout.encoding, scratch / f"input{index}.csv")
            used = layout.model_copy(update={"encoding": "utf-8"})
        prepared.sources.append(inspect_with_layout(path, kind, used, read_path))
    else:
        prepared.sources.append(inspect_input(con, path))


def _exists(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")


def _transcode(path: Path, kind: str, encoding: str, out: Path) -> Path:
    """`path` re-encoded as UTF-8 into `out`, a chunk at a time (bytes the encoding does not
    define become U+FFFD, so no row is lost and validation sees the damage)."""
    import gzip

    opener = gzip.open if kind == "csv.gz" else open
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    try:
        with opener(path, "rb") as source, out.open("w", encoding="utf-8", newline="") as sink:
            while chunk := source.read(CHUNK):
                sink.write(decoder.decode(chunk))
            sink.write(decoder.decode(b"", final=True))
    except (OSError, EOFError) as error:
        raise InputError(f"{path}: cannot read the file: {error}") from error
    return out


def _converted_source(
    path: Path, conversion: iso20022.Conversion, header: tuple[str, ...]
) -> InputFile:
    """An XML input as the Parquet its reader wrote (`header`: that reader's columns)."""
    canonical = {column: header.index(column) for column in CANONICAL_ORDER}
    extra = tuple(
        (name, position)
        for position, name in enumerate(header)
        if name not in canonical and name != iso20022.ROW_COLUMN
    )
    return InputFile(
        path,
        "parquet",
        header,
        canonical,
        extra,
        read_path=conversion.rows,
        row_column=iso20022.ROW_COLUMN,
        rejects=conversion.rejects,
    )
