"""The exchange timeline chart: payments, messages and calls on one UTC axis."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from vigil.exchanges.timeline import TimelineRow
from vigil.reports.charts import _save

LANES = {"payment": 2, "message": 1, "call": 0}
PLAIN, LINKED = "#9aa5b1", "#c0392b"


def exchange_timeline_chart(rows: list[TimelineRow], path: Path) -> Path:
    """One lane per kind (payments, messages, calls) on a UTC axis; linked rows in red, each
    linked message joined to its payment's lane by a line."""
    fig = Figure(figsize=(7.2, 2.6))
    ax = fig.subplots()
    for kind, lane in LANES.items():
        for linked in (False, True):
            chosen = [r.ts_utc for r in rows if r.kind == kind and r.linked == linked]
            if chosen:
                ax.scatter(
                    chosen,
                    [lane] * len(chosen),
                    s=28 if linked else 14,
                    color=LINKED if linked else PLAIN,
                    marker="D" if kind == "payment" else ("^" if kind == "call" else "o"),
                    zorder=3,
                    label=("linked " if linked else "") + kind + "s",
                )
    ax.set_yticks(list(LANES.values()), [f"{k}s" for k in LANES])
    ax.set_ylim(-0.6, 2.6)
    ax.set_title("Payments, messages and calls (UTC); linked ones in red", fontsize=10)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    fig.autofmt_xdate()
    return _save(fig, path)
