"""CSV files that a spreadsheet opens without running anything: formula-injection safe.

A text cell starting with = + - @ tab or carriage return is read by Excel, LibreOffice and
Google Sheets as a formula; such cells get a leading single quote (OWASP's advice). Numbers,
dates and other typed values are written as they are: they cannot carry a formula.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = r"^[=+\-@\t\r]"


def safe_cell(value: object) -> str:
    """The text of one CSV cell; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal | date | datetime):
        return value.isoformat() if isinstance(value, date | datetime) else str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every text column neutralised like `safe_cell` (vectorised)."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )


def write_safe_csv(frame: pl.DataFrame, path: Path | str) -> Path:
    """Write `frame` as UTF-8 CSV with a header row, safe to open in a spreadsheet."""
    path = Path(path)
    safe_frame(frame).write_csv(path)
    return path
