"""Records counted without the CSV parser, so that no row can go missing unnoticed.

DuckDB's CSV reader recovers from a malformed record by skipping ahead, and after a stray
double quote "ahead" can be hundreds of rows. Ingest therefore counts the file's records
itself, with RFC 4180's rule alone (a line break ends a record unless an odd number of
double quotes precedes it in the record), and stops the run, naming the line, when the
reader accounted for fewer or more records than the file holds.

The count is vectorised over the bytes (NumPy, a few MB at a time): no loop over rows.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np

from vigil.errors import InputError

CHUNK_BYTES = 8 << 20
QUOTE, NEWLINE, CR = 34, 10, 13
# A quoted field over more lines than this is taken for a stray quote, not a long text.
MAX_LINES_PER_RECORD = 100
MAX_RAW_RECORD_BYTES = 1 << 20


@dataclass(frozen=True)
class RecordCount:
    """What the file holds, by RFC 4180 alone."""

    lines: int  # physical lines
    records: int  # data records: not the header, not blank lines
    open_quote_line: int | None  # first line of a record still in quotes at its end or EOF
    longest_record_lines: int
    longest_record_line: int  # the physical line where that record starts

    @property
    def suspect_line(self) -> int | None:
        """Where a stray quote most likely is: a quote never closed, or a record that runs
        over more lines than any real payment does."""
        if self.open_quote_line is not None:
            return self.open_quote_line
        if self.longest_record_lines > MAX_LINES_PER_RECORD:
            return self.longest_record_line
        return None


def _chunks(path: Path, gzipped: bool) -> Iterator[bytes]:
    opener = gzip.open if gzipped else open
    with opener(path, "rb") as raw:
        stream: BinaryIO = raw  # type: ignore[assignment]
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk


def count_records(path: Path, *, gzipped: bool = False) -> RecordCount:
    """Count `path`'s physical lines and CSV records (header excluded, blank lines skipped
    as DuckDB skips them)."""
    quotes_before = 0  # quotes seen so far (parity says whether we are inside a field)
    lines = 0  # newlines seen so far
    records = 0  # non-blank records ended so far (the header included)
    record_start_line = 1  # physical line where the current record starts
    record_has_content = False  # a byte other than CR since the record began
    longest, longest_at = 0, 1
    last_byte = -1
    for chunk in _chunks(path, gzipped):
        data = np.frombuffer(chunk, dtype=np.uint8)
        quote_at = np.flatnonzero(data == QUOTE)
        newline_at = np.flatnonzero(data == NEWLINE)
        # quotes before each newline, over the whole file: even means the record ends there
        quotes_at = quotes_before + np.searchsorted(quote_at, newline_at)
        ends = newline_at[(quotes_at & 1) == 0]
        line_of_end = lines + 1 + np.searchsorted(newline_at, ends)  # 1-based line numbers
        if ends.size:
            # a record has content unless only a CR lies between its start and its end
            starts = np.concatenate(([-1], ends[:-1])) + 1
            span = ends - starts
            carried = np.zeros(ends.size, dtype=bool)
            carried[0] = record_has_content
            content = (span > 1) | ((span == 1) & (data[starts.clip(max=data.size - 1)] != CR))
            content |= carried
            records += int(content.sum())
            start_lines = np.concatenate(([record_start_line], line_of_end[:-1] + 1))
            spans = line_of_end - start_lines + 1
            worst = int(np.argmax(spans))
            if spans[worst] > longest:
                longest, longest_at = int(spans[worst]), int(start_lines[worst])
            record_start_line = int(line_of_end[-1]) + 1
            tail = data[ends[-1] + 1 :]
        else:
            tail = data
        record_has_content = (ends.size == 0 and record_has_content) or bool((tail != CR).any())
        quotes_before += int(quote_at.size)
        lines += int(newline_at.size)
        last_byte = int(data[-1])
    still_open = quotes_before % 2 == 1
    if record_has_content:  # a last record without a final line break
        records += 1
        if last_byte != NEWLINE:
            lines += 1
        span = lines - record_start_line + 1
        if span > longest:
            longest, longest_at = span, record_start_line
    return RecordCount(
        lines=lines,
        records=max(records - 1, 0),
        open_quote_line=record_start_line if still_open else None,
        longest_record_lines=longest,
        longest_record_line=longest_at,
    )


def raw_records(
    path: Path, starts: list[tuple[int, str]], *, gzipped: bool = False
) -> dict[int, str]:
    """The whole text of the records starting at each byte offset of `starts` (offset, and
    the prefix the CSV reader quoted, to make sure the offset is right), up to the line
    break that ends the record by RFC 4180, at most MAX_RAW_RECORD_BYTES."""
    found: dict[int, str] = {}
    opener = gzip.open if gzipped else open
    with opener(path, "rb") as raw:
        for offset, prefix in sorted(starts):
            raw.seek(offset)
            data = raw.read(MAX_RAW_RECORD_BYTES)
            text = _one_record(data)
            decoded = text.decode("utf-8", errors="replace")
            if decoded.startswith(prefix[:64]):
                found[offset] = decoded
    return found


def _one_record(data: bytes) -> bytes:
    """`data` up to the first line break outside quotes (without it); all of it when the
    quoted field runs to the end of the file (RFC 4180)."""
    array = np.frombuffer(data, dtype=np.uint8)
    newline_at = np.flatnonzero(array == NEWLINE)
    quotes_at = np.cumsum(array == QUOTE, dtype=np.int64)[newline_at]
    ends = newline_at[(quotes_at & 1) == 0]
    record = data[: int(ends[0])] if ends.size else data.rstrip(b"\n")
    return record[:-1] if record.endswith(b"\r") else record


def check_every_record_read(label: str, counted: RecordCount, parsed: int) -> None:
    """InputError, naming the line, unless the reader accounted for every record and no
    quoted field swallows the rows after it."""
    line = counted.suspect_line
    if parsed == counted.records and line is None:
        return
    if line is not None:
        what = (
            f"line {line}: a double quote opens a field that is not closed where it should "
            "be (a stray quote?), so the CSV reader would merge or skip the rows after it"
        )
    else:
        what = (
            f"the file holds {counted.records:,} records by RFC 4180 quoting but the CSV "
            f"reader split it into {parsed:,}"
        )
    raise InputError(f"{label}: {what}: fix the quoting and scan again (nothing was ingested)")


def restore_raw_records(
    con: duckdb.DuckDBPyConnection, table: str, path: Path, *, gzipped: bool
) -> None:
    """Replace the CSV reader's quote of each rejected record in `table` (raw_line, cut at a
    few KB) by the record's whole text, read from the file at `raw_offset`."""
    starts = con.execute(
        f"SELECT raw_offset, raw_line FROM {table} WHERE raw_offset IS NOT NULL"
    ).fetchall()
    if not starts:
        return
    found = raw_records(path, [(int(o), str(p or "")) for o, p in starts], gzipped=gzipped)
    if not found:  # e.g. not UTF-8: the reader's quote is all there is
        return
    con.executemany(
        f"UPDATE {table} SET raw_line = ? WHERE raw_offset = ?",
        [[text, offset] for offset, text in found.items()],
    )
