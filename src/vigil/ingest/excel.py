"""Excel (.xlsx) exports: one worksheet written out as a UTF-8 CSV, then read like any CSV.

openpyxl streams the sheet (read-only mode), so a large workbook is not held in memory.
Cells keep the text an analyst sees: dates in the layout's timestamp format (ISO 8601 when
it has none), numbers with the layout's decimal separator.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from vigil.errors import InputError


def _rows(path: Path, sheet: str | None) -> Iterator[tuple[object, ...]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError and its own errors
        raise InputError(f"{path}: cannot read the Excel workbook: {error}") from error
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(
                f"{path}: no worksheet {sheet!r} (it has {', '.join(book.sheetnames)})"
            )
        yield from book[sheet or book.sheetnames[0]].iter_rows(values_only=True)
    finally:
        book.close()


def _text(value: object, decimal: str, timestamp_format: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(timestamp_format or "%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        text = format(Decimal(repr(value)).normalize(), "f")
        return text.replace(".", decimal)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return str(value)


def sample_rows(path: Path, rows: int) -> tuple[tuple[str, ...], list[list[str]]]:
    """The header and the first `rows` rows of the first worksheet, as text."""
    records = _rows(path, None)
    header = tuple(_text(v, ".", None) for v in next(records, ()))
    sample = []
    for _, record in zip(range(rows), records, strict=False):
        sample.append([_text(v, ".", None) for v in record])
    return header, sample


def xlsx_to_csv(
    path: Path, out: Path, *, sheet: str | None, decimal: str, timestamp_format: str | None
) -> Path:
    """Write worksheet `sheet` of `path` to `out` (UTF-8, comma separated); returns `out`."""
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        empty = True
        for record in _rows(path, sheet):
            empty = False
            writer.writerow(_text(v, decimal, timestamp_format) for v in record)
    if empty:
        raise InputError(f"{path}: empty worksheet (no header row)")
    return out
