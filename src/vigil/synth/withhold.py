"""Withhold the last days of a generated population: the history a workspace holds, and the
new payments that arrive after it (increments, the real-time API's quality check)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl


@dataclass(frozen=True)
class Withheld:
    history: Path
    recent: Path
    history_payments: int
    recent_payments: int


def withhold_last_days(transactions: Path, out: Path, days: float) -> Withheld:
    """Writes `history.csv` (payments up to `days` before the latest one) and `recent.csv`
    (the rest) in `out`, both in the canonical columns, in the file's order."""
    table = pl.read_csv(transactions, infer_schema=False)
    # `ts` carries the sender's offset: compare instants, not wall clocks.
    instant = pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC")
    table = table.with_columns(_instant=instant)
    cut = table["_instant"].max() - pl.duration(seconds=int(days * 86_400))
    out.mkdir(parents=True, exist_ok=True)
    history, recent = out / "history.csv", out / "recent.csv"
    old = table.filter(pl.col("_instant") <= cut).drop("_instant")
    new = table.filter(pl.col("_instant") > cut).drop("_instant")
    old.write_csv(history)
    new.write_csv(recent)
    return Withheld(history, recent, old.height, new.height)
