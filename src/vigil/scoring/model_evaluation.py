"""How well a model ranks populations it never saw, against the expert score.

`evaluate_model`: fresh populations of the shipped scenarios (seeds no training used), each
scanned once and ranked twice: by the expert score and by the model. `evaluate_temporal`:
each population's payments split by date; a model learns from the early period (features
and labels as an institution would have them) and everything is measured on the later one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from rich.table import Table

from vigil.errors import ConfigError
from vigil.evaluation import evaluate_tables, read_labels
from vigil.evaluation.report import KindEvaluation
from vigil.indicators.catalogue import Catalogue, load_catalogue
from vigil.scan import scan
from vigil.scoring.model import (
    EXPERT_FEATURE,
    KINDS,
    RankingModel,
    ranked_by_expert,
    ranked_by_model,
    read_features,
)
from vigil.scoring.model_features import numeric_columns
from vigil.scoring.training import Examples, fit_kind, join_labels
from vigil.scoring.training_options import SEED_BASE, TrainingOptions
from vigil.synth import generate
from vigil.synth.scenario import load_scenario
from vigil.workspace import Workspace

LABEL = {"sender": "offenders", "beneficiary": "facilitators"}


@dataclass(frozen=True)
class Figures:
    """One ranking of one party kind: average precision and recall at 0.5 % / 1 %."""

    average_precision: float | None
    recall_half_percent: float | None
    recall_one_percent: float | None

    @classmethod
    def of(cls, kind: KindEvaluation) -> Figures:
        at = {b.budget: b.recall for b in kind.budgets}
        return cls(kind.average_precision, at.get(0.005), at.get(0.01))

    def to_dict(self) -> dict:
        return {
            "average_precision": self.average_precision,
            "recall_at_0.5%": self.recall_half_percent,
            "recall_at_1%": self.recall_one_percent,
        }


@dataclass(frozen=True)
class Comparison:
    """Several rankings of one party kind of one evaluation population."""

    population: str
    kind: str
    parties: int
    positives: int
    rankings: dict[str, Figures]

    def to_dict(self) -> dict:
        return {
            "population": self.population,
            "party_kind": self.kind,
            "parties": self.parties,
            "positives": self.positives,
            "rankings": {name: f.to_dict() for name, f in self.rankings.items()},
        }


@dataclass(frozen=True)
class ModelEvaluation:
    title: str
    senders: int
    seed: int
    rows: list[Comparison]

    @property
    def ranking_names(self) -> list[str]:
        names: list[str] = []
        for row in self.rows:
            names += [n for n in row.rankings if n not in names]
        return names

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "senders": self.senders,
            "seed": self.seed,
            "rows": [r.to_dict() for r in self.rows],
        }

    def _lines(self) -> tuple[list[str], list[list[str]]]:
        names = self.ranking_names
        head = ["population", "kind", "positives"]
        head += [f"{n} {m}" for n in names for m in ("AP", "R@0.5%", "R@1%")]
        body = []
        for row in self.rows:
            cells = [row.population, LABEL[row.kind], f"{row.positives:,}"]
            for name in names:
                cells += _cells(row.rankings.get(name))
            body.append(cells)
        return head, body

    def render(self) -> Table:
        head, body = self._lines()
        table = Table(title=self.title, title_justify="left")
        for i, column in enumerate(head):
            table.add_column(column, justify="left" if i < 2 else "right")
        for cells in body:
            table.add_row(*cells)
        return table

    def to_markdown(self) -> str:
        head, body = self._lines()
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)


def _cells(figures: Figures | None) -> list[str]:
    if figures is None:
        return ["", "", ""]
    return [
        _fmt(figures.average_precision, 3),
        _fmt(figures.recall_half_percent, 2),
        _fmt(figures.recall_one_percent, 2),
    ]


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def compare(
    population: str, labels: pl.DataFrame, rankings: dict[str, pl.DataFrame]
) -> list[Comparison]:
    """Evaluate each ranking (alerts-shaped frames) against the labels, per party kind."""
    reports = {name: evaluate_tables(alerts, labels) for name, alerts in rankings.items()}
    rows = []
    for kind in KINDS:
        first = next(iter(reports.values())).kinds[kind]
        rows.append(
            Comparison(
                population=population,
                kind=kind,
                parties=first.parties,
                positives=first.positives,
                rankings={name: Figures.of(r.kinds[kind]) for name, r in reports.items()},
            )
        )
    return rows


def check_fresh_seed(seed: int) -> None:
    if seed >= SEED_BASE:
        raise ConfigError(
            f"--seed {seed}: seeds from {SEED_BASE:,} up generate training populations; "
            "evaluate on a smaller seed"
        )


def evaluate_model(
    model: RankingModel,
    scenarios: Sequence[str],
    *,
    senders: int = 8000,
    seed: int = 5,
    resolution: Path | None = None,
) -> ModelEvaluation:
    """The model against the expert score on fresh populations of each scenario."""
    check_fresh_seed(seed)
    rows: list[Comparison] = []
    for name in scenarios:
        with tempfile.TemporaryDirectory(prefix="vigil-evaluate-") as tmp:
            data = generate(Path(tmp) / "data", senders=senders, seed=seed, scenario=name)
            result = scan([data.transactions], Path(tmp) / "scan", resolution=resolution)
            with Workspace.open(result.out / "vigil.duckdb", read_only=True) as ws:
                rankings = {
                    "expert": ranked_by_expert(ws.con),
                    "model": ranked_by_model(ws.con, model),
                }
            rows += compare(name, read_labels(data.labels), rankings)
    return ModelEvaluation(
        f"Model against the expert score ({senders:,} senders, seed {seed})", senders, seed, rows
    )


# --- temporal ---------------------------------------------------------------------------


def split_by_date(transactions: Path, cutoff: date, early: Path, late: Path) -> None:
    """Payments before `cutoff` (UTC) to `early`, the others to `late`, columns unchanged."""
    con = duckdb.connect()
    source = str(transactions).replace("'", "''")
    when = f"CAST(ts AS TIMESTAMPTZ) < TIMESTAMPTZ '{cutoff.isoformat()} 00:00:00+00'"
    for path, condition in ((early, when), (late, f"NOT ({when})")):
        target = str(path).replace("'", "''")
        con.execute(
            f"""COPY (SELECT * FROM read_csv('{source}', all_varchar = true, header = true)
                      WHERE {condition}) TO '{target}' (HEADER)"""
        )
    con.close()


def _add_months(start: date, months: int) -> date:
    total = start.month - 1 + months
    return date(start.year + total // 12, total % 12 + 1, 1)


def early_period_model(
    workspace: Path,
    labels: pl.DataFrame,
    options: TrainingOptions,
    catalogue: Catalogue,
    seed: int,
) -> RankingModel:
    """A model learnt from one institution's early period only: a quarter of its parties,
    drawn at random, calibrate."""
    rng = np.random.default_rng([seed, 0x7E])
    kinds = {}
    with Workspace.open(workspace, read_only=True) as ws:
        for kind in KINDS:
            # The expert's score first: boosting starts from it (as `fit_kind` expects).
            examples = Examples([EXPERT_FEATURE, *numeric_columns(ws.con, f"{kind}_scores")])
            ids, x = read_features(ws.con, f"{kind}_scores", examples.features)
            labelled, positive, roles = join_labels(labels, kind, ids)
            calibrates = rng.random(len(ids)) < 0.25
            for flag in (False, True):
                keep = labelled & (calibrates == flag)
                examples.add(ids[keep], x[keep], positive[keep], flag, roles[keep])
            kinds[kind] = fit_kind(kind, examples, options, catalogue)
    return RankingModel(path=None, kinds=kinds, name="early period")


def evaluate_temporal(
    scenarios: Sequence[str],
    *,
    senders: int = 8000,
    seed: int = 5,
    model: RankingModel | None = None,
    options: TrainingOptions | None = None,
) -> ModelEvaluation:
    """Learn from the first half of each population's period, measure on the second half:
    all parties of the later period, and those new in it (no payment in the early one)."""
    check_fresh_seed(seed)
    options = options or TrainingOptions(seed=seed)
    resolution = options.resolution
    catalogue = load_catalogue()
    rows: list[Comparison] = []
    for name in scenarios:
        spec = load_scenario(name)
        cutoff = _add_months(spec.start, spec.months // 2)
        with tempfile.TemporaryDirectory(prefix="vigil-temporal-") as tmp:
            tmp = Path(tmp)
            data = generate(tmp / "data", senders=senders, seed=seed, scenario=spec)
            split_by_date(data.transactions, cutoff, tmp / "early.csv", tmp / "late.csv")
            labels = read_labels(data.labels)
            early = scan([tmp / "early.csv"], tmp / "early", resolution=resolution)
            learnt = early_period_model(
                early.out / "vigil.duckdb", labels, options, catalogue, seed
            )
            late = scan([tmp / "late.csv"], tmp / "late", resolution=resolution)
            with Workspace.open(late.out / "vigil.duckdb", read_only=True) as ws:
                rankings = {"expert": ranked_by_expert(ws.con)}
                if model is not None:
                    rankings["model"] = ranked_by_model(ws.con, model)
                rankings["early-period model"] = ranked_by_model(ws.con, learnt)
            with Workspace.open(early.out / "vigil.duckdb", read_only=True) as ws:
                seen = ranked_by_expert(ws.con).select("party_kind", "party_id")
            late_labels = _present(labels, rankings["expert"])
            rows += compare(f"{name}, later half", late_labels, rankings)
            new = {
                n: r.join(seen, on=["party_kind", "party_id"], how="anti")
                for n, r in rankings.items()
            }
            rows += compare(f"{name}, new in later half", _present(labels, new["expert"]), new)
    return ModelEvaluation(
        f"Temporal: learn from the first half of the period, rank the second half "
        f"({senders:,} senders, seed {seed})",
        senders,
        seed,
        rows,
    )


def _present(labels: pl.DataFrame, alerts: pl.DataFrame) -> pl.DataFrame:
    """Labels of the parties that appear in a period (the others cannot be found in it)."""
    return labels.join(alerts.select("party_kind", "party_id"), on=["party_kind", "party_id"])
