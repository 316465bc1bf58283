"""Backtesting rankings: recall against alert budget for each ranking, and the budget that
reaches a target recall, as a table, a chart (PNG) and JSON.

Each ranking is an alerts file (`vigil scan`'s alerts.csv, or any file with party_kind,
party_id, score, rank, indicators): the expert score, a model, a naive baseline. Ranking
order and missing parties follow :mod:`vigil.evaluation.metrics`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Group
from rich.table import Table

from vigil.errors import InputError
from vigil.evaluation import metrics
from vigil.evaluation.report import read_alerts, read_labels
from vigil.schema import PARTY_KIND_PLURALS as PLURAL
from vigil.schema import PARTY_KINDS, POSITIVE_ROLES


@dataclass(frozen=True)
class RecallCurve:
    """One ranking of one party kind: recall after reviewing the top k, for every k."""

    name: str
    kind: str
    parties: int
    positives: int
    average_precision: float | None
    recall: np.ndarray  # recall[k - 1]: after the top k alerts
    target_recall: float

    @property
    def alerts_for_target(self) -> int | None:
        """Fewest alerts whose review reaches the target recall (None: never reached)."""
        if self.positives == 0:
            return None
        need = math.ceil(self.target_recall * self.positives - 1e-9)
        found = np.flatnonzero(self.recall * self.positives >= need - 1e-9)
        return int(found[0]) + 1 if found.size else None

    @property
    def budget_for_target(self) -> float | None:
        k = self.alerts_for_target
        return None if k is None else k / self.parties

    def recall_at(self, budget: float) -> float | None:
        if self.positives == 0 or self.recall.size == 0:
            return None
        k = metrics.budget_size(budget, self.parties)
        return float(self.recall[min(k, self.recall.size) - 1])

    def to_dict(self) -> dict:
        return {
            "ranking": self.name,
            "party_kind": self.kind,
            "parties": self.parties,
            "positives": self.positives,
            "average_precision": self.average_precision,
            "recall_at": {f"{b:g}": self.recall_at(b) for b in metrics.BUDGETS},
            "target_recall": self.target_recall,
            "alerts_for_target": self.alerts_for_target,
            "budget_for_target": self.budget_for_target,
        }


def recall_curve(
    name: str, alerts: pl.DataFrame, labels: pl.DataFrame, kind: str, target_recall: float
) -> RecallCurve:
    ranked = metrics.rank_alerts(alerts, labels, kind)
    missing = metrics.missing_from_alerts(alerts, labels, kind)
    hits = ranked["is_positive"].to_numpy().astype(bool)
    missing_positives = int(missing["is_positive"].sum())
    positives = int(hits.sum()) + missing_positives
    recall = np.cumsum(hits) / positives if positives else np.zeros(len(hits))
    return RecallCurve(
        name=name,
        kind=kind,
        parties=ranked.height + missing.height,
        positives=positives,
        average_precision=metrics.average_precision(hits, missing_positives),
        recall=recall,
        target_recall=target_recall,
    )


@dataclass(frozen=True)
class BacktestResult:
    target_recall: float
    curves: list[RecallCurve]
    chart: Path | None = None
    report: Path | None = None

    def to_dict(self) -> dict:
        return {"target_recall": self.target_recall, "rankings": [c.to_dict() for c in self.curves]}

    def render(self) -> Group:
        tables = []
        for kind in PARTY_KINDS:
            curves = [c for c in self.curves if c.kind == kind]
            if not curves:
                continue
            first = curves[0]
            table = Table(
                title=f"{PLURAL[kind]}: {first.parties:,} parties, {first.positives:,} "
                f"{POSITIVE_ROLES[kind]}s; recall by alert budget",
                title_justify="left",
            )
            table.add_column("ranking")
            table.add_column("AP", justify="right")
            for budget in metrics.BUDGETS:
                table.add_column(f"{budget * 100:g} %", justify="right")
            table.add_column(f"alerts for {self.target_recall:.0%} recall", justify="right")
            for c in curves:
                k, share = c.alerts_for_target, c.budget_for_target
                table.add_row(
                    c.name,
                    "n/a" if c.average_precision is None else f"{c.average_precision:.3f}",
                    *(_percent(c.recall_at(b)) for b in metrics.BUDGETS),
                    "not reached" if k is None else f"{k:,} ({share:.2%})",
                )
            tables.append(table)
        return Group(*tables)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def ranking_names(alerts: Sequence[Path], names: Sequence[str] | None) -> list[str]:
    if names:
        if len(names) != len(alerts):
            raise InputError(
                f"{len(names)} names for {len(alerts)} alerts files: give one --name per --alerts"
            )
        chosen = list(names)
    else:
        chosen = [p.parent.name if p.stem == "alerts" and p.parent.name else p.stem for p in alerts]
    seen: dict[str, int] = {}
    unique = []
    for name in chosen:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def backtest_tables(
    labels: pl.DataFrame, rankings: dict[str, pl.DataFrame], target_recall: float = 0.8
) -> list[RecallCurve]:
    if not 0 < target_recall <= 1:
        raise InputError(f"target recall {target_recall} must lie in (0, 1]")
    return [
        recall_curve(name, alerts, labels, kind, target_recall)
        for kind in PARTY_KINDS
        for name, alerts in rankings.items()
    ]


def backtest(
    labels: Path,
    alerts: Sequence[Path],
    *,
    names: Sequence[str] | None = None,
    target_recall: float = 0.8,
    out: Path | None = None,
) -> BacktestResult:
    """Recall against alert budget of each alerts file; with `out`, backtest.png and
    backtest.json are written there."""
    if not alerts:
        raise InputError("give at least one alerts file")
    rankings = dict(
        zip(ranking_names(alerts, names), (read_alerts(Path(a)) for a in alerts), strict=True)
    )
    curves = backtest_tables(read_labels(Path(labels)), rankings, target_recall)
    if out is None:
        return BacktestResult(target_recall, curves)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chart = write_chart(curves, target_recall, out / "backtest.png")
    result = BacktestResult(target_recall, curves, chart, out / "backtest.json")
    result.report.write_text(json.dumps(result.to_dict(), indent=2) + "\n")  # type: ignore[union-attr]
    return result


def write_chart(curves: list[RecallCurve], target_recall: float, path: Path) -> Path:
    """Recall (y) against the share of parties reviewed (x, logarithmic), one panel per kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    kinds = [k for k in PARTY_KINDS if any(c.kind == k for c in curves)]
    fig, axes = plt.subplots(1, len(kinds), figsize=(6 * len(kinds), 4.2), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        for c in (c for c in curves if c.kind == kind):
            share = np.arange(1, c.recall.size + 1) / c.parties
            ap = "n/a" if c.average_precision is None else f"{c.average_precision:.3f}"
            (line,) = ax.plot(share * 100, c.recall, label=f"{c.name} (AP {ap})")
            if c.budget_for_target is not None:
                ax.axvline(c.budget_for_target * 100, color=line.get_color(), ls=":", lw=1)
        ax.axhline(target_recall, color="grey", ls="--", lw=1, label=f"target {target_recall:.0%}")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("alert budget (% of parties reviewed)")
        ax.set_ylabel("recall")
        ax.set_title(f"{PLURAL[kind]} ({POSITIVE_ROLES[kind]}s found)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
