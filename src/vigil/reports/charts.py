"""The evidence package's figures, drawn with matplotlib (Agg) into PNG files.

Each function takes small tables already computed with polars and writes one PNG; none of
them reads the workspace. Parties are labelled by id only. Figures are made without pyplot
(no global state, no display needed): a `Figure` saved to PNG renders with Agg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import polars as pl
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Circle

DPI = 150
BAR = "#3b5b7a"
LINE = "#b4462c"
EDGE = "#8a8f96"
SCORE_MAP = "YlOrRd"


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return path


def timeline_chart(monthly: pl.DataFrame, currency: str, path: Path) -> Path:
    """Payments per month (bars) and their amount in `currency` (line).

    `monthly`: month (date, first of the month), payments, amount_reporting.
    """
    fig = Figure(figsize=(7.2, 2.8))
    ax = fig.subplots()
    months = monthly["month"].to_list()
    ax.bar(months, monthly["payments"].to_list(), width=20, color=BAR, label="payments")
    ax.set_ylabel("payments per month", color=BAR)
    ax.yaxis.get_major_locator().set_params(integer=True)
    amount = ax.twinx()
    amount.plot(months, monthly["amount_reporting"].to_list(), color=LINE, marker="o", markersize=3)
    amount.set_ylabel(f"amount ({currency})", color=LINE)
    amount.set_ylim(bottom=0)
    ax.set_title("Payments per month (UTC)", fontsize=10)
    ax.spines["top"].set_visible(False)
    amount.spines["top"].set_visible(False)
    fig.autofmt_xdate()
    return _save(fig, path)


def hour_chart(hours: pl.DataFrame, title: str, path: Path, note: str = "") -> Path:
    """Payments per hour of the day (0-23). `hours`: hour, payments (missing hours are 0)."""
    counts = dict(zip(hours["hour"].to_list(), hours["payments"].to_list(), strict=True))
    fig = Figure(figsize=(3.6, 2.4))
    ax = fig.subplots()
    ax.bar(range(24), [counts.get(h, 0) for h in range(24)], width=0.85, color=BAR)
    ax.set_xticks(range(0, 24, 3))
    ax.set_xlim(-0.6, 23.6)
    ax.set_xlabel("hour of day")
    ax.set_ylabel("payments")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    if note:
        ax.text(0.99, 0.97, note, transform=ax.transAxes, ha="right", va="top", fontsize=6)
    return _save(fig, path)


@dataclass(frozen=True)
class NetworkNode:
    party_id: str
    ring: int  # 0: the party, 1: counterparties, 2: co-parties
    score: float


def _ring_positions(count: int, radius: float, phase: float = 0.0) -> list[tuple[float, float]]:
    return [
        (
            radius * math.cos(phase + 2 * math.pi * i / count),
            radius * math.sin(phase + 2 * math.pi * i / count),
        )
        for i in range(count)
    ]


def _outer_ring(
    co_ids: list[str], links: pl.DataFrame, inner_angle: dict[str, float], radius: float
) -> dict[str, tuple[float, float]]:
    """Co-parties on the outer ring, each near the counterparties it shares, evenly spaced.

    Each co-party aims at the circular mean angle of its linked counterparties; they keep
    that order around the ring, on evenly spaced slots turned to fit the aims best.
    """
    count = len(co_ids)
    if not count:
        return {}
    aims: dict[str, list[float]] = {c: [] for c in co_ids}
    for co, cp in links.select("co_party_id", "counterparty_id").rows():
        if co in aims and cp in inner_angle:
            aims[co].append(inner_angle[cp])

    def mean_angle(angles: list[float], default: float) -> float:
        if not angles:
            return default
        return math.atan2(sum(map(math.sin, angles)), sum(map(math.cos, angles))) % (2 * math.pi)

    step = 2 * math.pi / count
    aim = {c: mean_angle(aims[c], i * step) for i, c in enumerate(co_ids)}
    ordered = sorted(co_ids, key=lambda c: aim[c])
    turn = mean_angle([aim[c] - i * step for i, c in enumerate(ordered)], 0.0)
    return {
        c: (radius * math.cos(turn + i * step), radius * math.sin(turn + i * step))
        for i, c in enumerate(ordered)
    }


def network_chart(
    party: NetworkNode,
    counterparties: pl.DataFrame,
    co_parties: pl.DataFrame,
    links: pl.DataFrame,
    path: Path,
    *,
    counterparty_label: str,
    co_party_label: str,
) -> Path:
    """The party in the centre, its counterparties around it, co-parties on the outside.

    `counterparties`: party_id, score, payments (with the party); `co_parties`: party_id,
    score; `links`: co_party_id, counterparty_id, payments. Node colour is the score, edge
    width the number of payments.
    """
    fig = Figure(figsize=(6.4, 6.0))
    ax = fig.subplots()
    norm = Normalize(vmin=0.0, vmax=1.0, clip=True)
    cmap = matplotlib.colormaps[SCORE_MAP]
    inner = _ring_positions(counterparties.height, 1.0)
    cp_ids, co_ids = counterparties["party_id"].to_list(), co_parties["party_id"].to_list()
    where = {party.party_id: (0.0, 0.0)}
    where.update(zip(cp_ids, inner, strict=True))
    inner_angle = {c: 2 * math.pi * i / len(cp_ids) for i, c in enumerate(cp_ids)}
    outer_where = _outer_ring(co_ids, links, inner_angle, 2.0)
    outer = [outer_where[c] for c in co_ids]
    most = max(
        [1, *counterparties["payments"].to_list(), *links["payments"].to_list()],
    )

    def width(payments: int) -> float:
        return 0.6 + 4.0 * payments / most

    for cp, payments in zip(
        counterparties["party_id"].to_list(), counterparties["payments"].to_list(), strict=True
    ):
        (x, y) = where[cp]
        ax.plot([0, x], [0, y], color=EDGE, linewidth=width(payments), zorder=1)
    for co, cp, payments in links.select("co_party_id", "counterparty_id", "payments").rows():
        if co in outer_where and cp in where:
            (x0, y0), (x1, y1) = outer_where[co], where[cp]
            ax.plot([x0, x1], [y0, y1], color=EDGE, linewidth=width(payments), alpha=0.6, zorder=1)

    def draw(ids: list[str], scores: list[float], xy: list[tuple[float, float]], size: float):
        if not ids:
            return
        xs, ys = zip(*xy, strict=True)
        ax.scatter(
            xs,
            ys,
            s=size,
            c=[cmap(norm(s or 0.0)) for s in scores],
            edgecolors="#333333",
            linewidths=0.6,
            zorder=2,
        )
        for label, (x, y) in zip(ids, xy, strict=True):
            ax.annotate(
                label,
                (x, y),
                xytext=(0, -11 if size < 400 else -17),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=6.5,
                zorder=3,
            )

    draw([party.party_id], [party.score], [(0.0, 0.0)], 600)
    draw(counterparties["party_id"].to_list(), counterparties["score"].to_list(), inner, 220)
    draw(co_parties["party_id"].to_list(), co_parties["score"].to_list(), outer, 120)
    for radius, label in ((1.0, counterparty_label), (2.0, co_party_label)):
        ax.add_patch(Circle((0, 0), radius, fill=False, linestyle=":", color="#c8ccd2", zorder=0))
        ax.text(0, radius + 0.08, label, ha="center", va="bottom", fontsize=7, color="#555555")
    extent = 2.45 if co_parties.height else 1.45
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.axis("off")
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.6)
    bar.set_label("score")
    return _save(fig, path)
