"""What an export looks like before it is read: encoding, delimiter, header, sample rows.

Used twice: to stop a scan without a layout at once with a line saying what was found (a
Latin-1 file, semicolons) and how to write the layout, and by `vigil layout suggest` to
print a starting layout from the header and a sample of rows.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import yaml

from vigil.errors import InputError
from vigil.ingest.layout import (
    guess_columns,
    guess_decimal,
    guess_timestamp_format,
)
from vigil.schema import CANONICAL_ORDER, REQUIRED_COLUMNS

SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars"}


def read_sample(path: Path, limit: int = SAMPLE_BYTES) -> bytes:
    """The first `limit` bytes of the file (decompressed for .gz)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as raw:
            return raw.read(limit)
    except (OSError, EOFError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise InputError(f"{path}: cannot read the file: {reason}") from error


@dataclass(frozen=True)
class NotUtf8:
    """Where a sample stops being UTF-8, and the encoding it most likely is."""

    line: int
    byte: int
    likely: str
    example: str  # the line's text, decoded with `likely`


def utf8_problem(sample: bytes, complete: bool, min_lines: int = 2) -> NotUtf8 | None:
    """None when `sample` is UTF-8 text (a character cut at the end of a partial sample
    does not count) or when fewer than `min_lines` lines are not."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return NotUtf8(1, sample[0], "utf-16", "")
    try:
        sample.decode("utf-8")
        return None
    except UnicodeDecodeError as error:
        if not complete and error.start >= len(sample) - 3:
            return None
        start = error.start
    # One damaged record in a UTF-8 file is quarantined like any malformed record; an
    # export in another encoding has bytes that are not UTF-8 on many lines.
    lines = sample.decode("utf-8", "replace").splitlines()
    if not complete:
        lines = lines[:-1]
    if sum("\ufffd" in line for line in lines) < min_lines:
        return None
    line = sample.count(b"\n", 0, start) + 1
    # Bytes 0x80-0x9F are control characters in Latin-1 but letters and signs in cp1252.
    likely = "cp1252" if any(0x80 <= b <= 0x9F for b in sample) else "latin-1"
    begin = sample.rfind(b"\n", 0, start) + 1
    end = sample.find(b"\n", start)
    text = sample[begin : end if end >= 0 else len(sample)].decode(likely, "replace")
    return NotUtf8(line, sample[start], likely, text.strip()[:80])


def best_delimiter(header_line: str) -> tuple[str, int]:
    """The delimiter that splits the header into the most columns, and how many."""
    counts = {
        d: len(next(csv.reader(io.StringIO(header_line), delimiter=d), [])) for d in DELIMITERS
    }
    delimiter = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return delimiter, counts[delimiter]


def layout_hint(path: Path, setting: str) -> str:
    return (
        f"write a layout file with `{setting}` (`vigil layout suggest {path}` prints one to "
        f"start from) and scan with --layout FILE"
    )


def check_plain_csv(path: Path) -> None:
    """InputError, in one line, when a file read without a layout is not UTF-8."""
    sample = read_sample(path)
    complete = len(sample) < SAMPLE_BYTES
    problem = utf8_problem(sample, complete)
    if problem is not None:
        first_line = sample.split(b"\n", 1)[0].decode(problem.likely, "replace")
        delimiter, count = best_delimiter(first_line)
        setting = f"encoding: {problem.likely}"
        found = ""
        if delimiter != ",":
            setting += f"` and `delimiter: {_shown(delimiter)}"
            found = f", separated by {DELIMITER_NAMES[delimiter]} ({count} columns)"
        raise InputError(
            f"{path}: not UTF-8 text (byte 0x{problem.byte:02X} on line {problem.line}; it "
            f"reads as {problem.likely}: {problem.example!r}){found}: " + layout_hint(path, setting)
        )


def _shown(delimiter: str) -> str:
    return '"\\t"' if delimiter == "\t" else repr(delimiter)


def delimiter_problem(path: Path, header_line: str, missing: list[str]) -> InputError | None:
    """An InputError naming the delimiter when the header splits on another one into
    columns that cover what the comma left missing."""
    delimiter, count = best_delimiter(header_line)
    if delimiter == "," or count < 2:
        return None
    names = DELIMITER_NAMES[delimiter]
    shown = _shown(delimiter)
    return InputError(
        f"{path}: the header is separated by {names}, not commas ({count} columns; "
        f"{len(missing)} required columns not found): " + layout_hint(path, f"delimiter: {shown}")
    )


# --- vigil layout suggest -------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    text: str  # the layout, as commented YAML
    mapped: dict[str, str]
    unmapped: list[str]  # required canonical columns with no column found


def suggest_layout(path: Path, rows: int = 200) -> Suggestion:
    """A starting layout for `path` from its header and its first `rows` rows."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.name.lower().endswith(".xlsx"):
        from vigil.ingest.excel import sample_rows

        encoding, delimiter = "utf-8", ","
        header, records = sample_rows(path, rows)
    else:
        sample = read_sample(path)
        problem = utf8_problem(sample, len(sample) < SAMPLE_BYTES, min_lines=1)
        encoding = "utf-8" if problem is None else problem.likely
        python_encoding = "utf-8-sig" if encoding == "utf-8" else encoding
        text = sample.decode(python_encoding, "replace")
        first_line = text.split("\n", 1)[0]
        delimiter, _ = best_delimiter(first_line)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = tuple(next(reader, []))
        records = [record for _, record in zip(range(rows), reader, strict=False)]
        if not any(name.strip() for name in header):
            raise InputError(f"{path}: empty file (no header row)")
    columns = guess_columns(header)

    def values(column: str) -> list[str]:
        name = columns.get(column)
        if name is None:
            return []
        position = header.index(name)
        return [r[position] for r in records if len(r) > position]

    decimal = guess_decimal(values("amount"))
    fmt = guess_timestamp_format(values("ts"))
    lines = [f"# Layout for {path.name}: check every line, then: vigil scan FILE --layout THIS"]
    settings: dict[str, object] = {"delimiter": delimiter, "decimal": decimal}
    settings["encoding"] = encoding
    lines.append(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False).rstrip())
    if fmt is not None and fmt.endswith("%z"):
        lines.append("# timestamps carry their UTC offset: no timezone needed")
    elif fmt is not None or values("ts"):
        lines.append("timezone: UTC  # the zone of the export's local times, e.g. Europe/Berlin")
    if fmt is not None and fmt not in {"%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"}:
        lines.append(f"timestamp_format: {yaml.safe_dump(fmt).splitlines()[0]}")
    elif fmt is None and values("ts"):
        lines.append(f"# timestamp_format: strptime syntax for values like {values('ts')[0]!r}")
    lines.append("columns:  # canonical column: the export's column")
    for column in CANONICAL_ORDER:
        name = columns.get(column)
        if name is not None:
            quoted = yaml.safe_dump(name, allow_unicode=True).splitlines()[0]
            lines.append(f"  {column}: {quoted}")
    unmapped = [c for c in REQUIRED_COLUMNS if c not in columns and c != "channel"]
    for column in unmapped:
        lines.append(f"  # {column}: ?   (required: name the column, or set a constant)")
    others = [name for name in header if name not in columns.values()]
    if others:
        lines.append(f"# other columns (kept as extra data): {', '.join(others)}")
    if "channel" not in columns:
        lines.append("constants:  # canonical columns the export lacks")
        lines.append("  channel: bank_transfer  # one of the canonical channels")
    return Suggestion("\n".join(lines) + "\n", columns, unmapped)
