"""Which parser reads a file: named by --format, or recognised from its first kilobytes."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from vigil.exchanges import csv_layout, meta, telegram, ufdr, whatsapp
from vigil.exchanges.records import Exchange, ExchangeError

FORMATS: tuple[str, ...] = ("auto", "telegram", "whatsapp", "ufdr", "meta", "csv")
Parser = Callable[[Path, ZoneInfo | None], Iterator[Exchange]]
_PARSERS: dict[str, Parser] = {
    "telegram": telegram.parse,
    "whatsapp": whatsapp.parse,
    "ufdr": ufdr.parse,
    "meta": meta.parse,
}


def detect(path: Path) -> str:
    """The format of `path`, from its content (never only from its name)."""
    if zipfile.is_zipfile(path):
        return "ufdr"
    try:
        with path.open("rb") as handle:
            head = handle.read(8192).decode("utf-8", errors="replace")
    except OSError as error:
        raise ExchangeError(f"{path}: cannot read: {error.strerror}") from error
    if ufdr.looks_like(head):
        return "ufdr"
    if meta.looks_like(head):
        return "meta"
    if telegram.looks_like(head):
        return "telegram"
    if whatsapp.looks_like(head):
        return "whatsapp"
    raise ExchangeError(
        f"{path}: not a Telegram, WhatsApp, UFDR or Meta export; give --format "
        "(and --layout for a CSV)"
    )


def parse_file(
    path: Path, fmt: str, tz: ZoneInfo | None, layout: csv_layout.ExchangeLayout | None
) -> tuple[str, Iterator[Exchange]]:
    if fmt not in FORMATS:
        raise ExchangeError(f"unknown exchange format {fmt!r}: one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise ExchangeError(f"{path}: no such file")
    if fmt == "auto":
        fmt = "csv" if layout is not None else detect(path)
    if fmt == "csv":
        if layout is None:
            raise ExchangeError(
                f"{path}: a CSV of exchanges needs --layout FILE naming its columns"
            )
        return fmt, csv_layout.parse(path, tz, layout)
    return fmt, _PARSERS[fmt](path, tz)
