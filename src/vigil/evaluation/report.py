"""Evaluating an alert ranking against labels: reading the files, the report, its rendering.

``evaluate(alerts_path, labels_path)`` reads ``alerts.csv`` (written by ``vigil scan``) and
``labels.csv`` (of an evaluation dataset), and measures, for each party kind, how well the
ranking puts the positives (offending senders, facilitating beneficiaries) at the top. See
:mod:`vigil.evaluation.metrics` for the ranking order and the metric definitions.

Per party kind:

- ``parties``: the union of alerted and labelled parties of that kind;
- ``positives``: parties whose role is the kind's positive role, alerted or not;
- ``missing_from_alerts``: labelled parties (of any role) that have no alert;
- ``average_precision`` and ``random_average_precision`` (the share of positives);
- for each budget b in 0.1 %, 0.5 %, 1 %, 5 %: ``k = max(1, ceil(b * parties))``, recall
  and precision of the top k alerts, and its false positives by population (the role of
  a labelled negative, or ``unlabelled``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Group
from rich.table import Table

from vigil.errors import InputError
from vigil.evaluation import metrics
from vigil.schema import ALERT_COLUMNS, LABEL_COLUMNS, PARTY_KINDS, SENDER_KEY_SEPARATOR

_ROW = "__vigil_row__"  # 1-based data row of a file, for error messages
_KEY = ("party_kind", "party_id")
REPORTER = "reporter"  # FIU mode: senders are named by reporter and id


@dataclass(frozen=True)
class BudgetResult:
    """What an analyst reviewing the top ``k`` alerts of one party kind would find."""

    budget: float
    k: int
    recall: float | None
    precision: float
    false_positives: int
    false_positives_by_population: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "k": self.k,
            "recall": self.recall,
            "precision": self.precision,
            "false_positives": self.false_positives,
            "false_positives_by_population": dict(self.false_positives_by_population),
        }


@dataclass(frozen=True)
class KindEvaluation:
    """The evaluation of the ranking of one party kind (sender or beneficiary)."""

    party_kind: str
    parties: int
    positives: int
    missing_from_alerts: int
    average_precision: float | None
    random_average_precision: float | None
    budgets: tuple[BudgetResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "parties": self.parties,
            "positives": self.positives,
            "missing_from_alerts": self.missing_from_alerts,
            "average_precision": self.average_precision,
            "random_average_precision": self.random_average_precision,
            "budgets": [budget.to_dict() for budget in self.budgets],
        }

    def render(self) -> Table:
        """A table with one row per alert budget, titled with the headline figures."""
        title = (
            f"{self.party_kind}: {self.parties:,} parties, {self.positives:,} positives,"
            f" {self.missing_from_alerts:,} labelled parties missing from alerts;"
            f" AP {_number(self.average_precision)}"
            f" (random ranking {_number(self.random_average_precision)})"
        )
        table = Table(title=title, title_justify="left")
        table.add_column("budget", justify="right")
        table.add_column("k", justify="right")
        table.add_column("recall", justify="right")
        table.add_column("precision", justify="right")
        table.add_column("false positives", justify="right")
        table.add_column("false positives by population")
        for result in self.budgets:
            table.add_row(
                f"{result.budget * 100:g} %",
                f"{result.k:,}",
                _percent(result.recall),
                _percent(result.precision),
                f"{result.false_positives:,}",
                ", ".join(
                    f"{population} {count:,}"
                    for population, count in result.false_positives_by_population.items()
                ),
            )
        return table


@dataclass(frozen=True)
class EvaluationReport:
    """Evaluation of one alert ranking against labels, per party kind."""

    kinds: dict[str, KindEvaluation]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: ``{"sender": {...}, "beneficiary": {...}}``."""
        return {kind: evaluation.to_dict() for kind, evaluation in self.kinds.items()}

    def render(self) -> Group:
        """One table per party kind, for a Rich console."""
        return Group(*(evaluation.render() for evaluation in self.kinds.values()))


def _number(value: float | None) -> str:
    """Three significant digits, so that a small AP (0.000187) does not show as 0.000."""
    return "n/a" if value is None else f"{value:.3g}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.3g} %"


# --- evaluation (pure) ------------------------------------------------------------------


def evaluate_kind(
    alerts: pl.DataFrame,
    labels: pl.DataFrame,
    party_kind: str,
    budgets: Sequence[float] = metrics.BUDGETS,
) -> KindEvaluation:
    """Evaluate the ranking of one party kind; tables as :func:`read_alerts`/`read_labels`."""
    ranked = metrics.rank_alerts(alerts, labels, party_kind)
    missing = metrics.missing_from_alerts(alerts, labels, party_kind)
    is_positive = ranked["is_positive"]
    missing_positives = int(missing["is_positive"].sum())
    parties = ranked.height + missing.height
    positives = int(is_positive.sum()) + missing_positives

    results = []
    for budget in budgets:
        k = metrics.budget_size(budget, parties)
        by_population = metrics.false_positives_by_population(ranked, k)
        results.append(
            BudgetResult(
                budget=budget,
                k=k,
                recall=metrics.recall_at(is_positive, k, positives),
                precision=metrics.precision_at(is_positive, k),
                false_positives=sum(by_population.values()),
                false_positives_by_population=by_population,
            )
        )
    return KindEvaluation(
        party_kind=party_kind,
        parties=parties,
        positives=positives,
        missing_from_alerts=missing.height,
        average_precision=metrics.average_precision(is_positive, missing_positives),
        random_average_precision=metrics.random_average_precision(positives, parties),
        budgets=tuple(results),
    )


def evaluate_tables(alerts: pl.DataFrame, labels: pl.DataFrame) -> EvaluationReport:
    """Evaluate alerts against labels, both already read (see :func:`evaluate`)."""
    return EvaluationReport(
        kinds={kind: evaluate_kind(alerts, labels, kind) for kind in PARTY_KINDS}
    )


def evaluate(alerts_path: Path, labels_path: Path) -> EvaluationReport:
    """Read ``alerts.csv`` and ``labels.csv`` and evaluate the ranking per party kind.

    Raises :class:`vigil.errors.InputError` for a missing or unreadable file, a missing
    column, or a bad value (naming the file, the 1-based data row and the column).
    """
    alerts, labels = read_alerts(Path(alerts_path)), read_labels(Path(labels_path))
    _check_same_reporting(alerts, Path(alerts_path), labels, Path(labels_path))
    return evaluate_tables(alerts, labels)


def _check_same_reporting(
    alerts: pl.DataFrame, alerts_path: Path, labels: pl.DataFrame, labels_path: Path
) -> None:
    """Both files name senders by reporter and id (FIU mode), or neither does: a sender id
    alone is ambiguous when two reporters have a customer with that id."""
    with_reporter = {
        path: REPORTER in frame.columns
        for path, frame in ((alerts_path, alerts), (labels_path, labels))
    }
    if len(set(with_reporter.values())) == 2:
        has, lacks = sorted(with_reporter, key=lambda path: not with_reporter[path])
        raise InputError(
            f"{has} names each sender's reporter but {lacks} has no {REPORTER!r} column: "
            "a sender id is unique only within its reporter, so the two cannot be matched "
            "(scan with --reporter, or use the labels written with the reporters)"
        )


# --- reading (edge) ---------------------------------------------------------------------


def read_alerts(path: Path) -> pl.DataFrame:
    """Read ``alerts.csv``: ``party_kind, party_id`` (text), ``score`` (float), ``rank`` (int).

    Every value is read as text, then ``score`` and ``rank`` are parsed, so that a bad
    value is reported with its row rather than as a parser error. Extra columns are not
    read; ``indicators`` must be present but is not used.
    """
    frame = _read_csv(
        path, ALERT_COLUMNS, ("party_kind", "party_id", "score", "rank"), optional=(REPORTER,)
    )
    _check_party_kind(frame, path)
    _check_not_empty(frame, path, "party_id")
    frame = _with_reporter_key(frame)
    score = pl.col("score").str.strip_chars().cast(pl.Float64, strict=False)
    rank = pl.col("rank").str.strip_chars().cast(pl.Int64, strict=False)
    frame = frame.with_columns(score.alias("_score"), rank.alias("_rank"))
    _check(
        frame,
        path,
        "score",
        pl.col("_score").is_null() | ~pl.col("_score").is_finite(),
        lambda value: f"{value!r} is not a number",
    )
    _check(
        frame,
        path,
        "rank",
        pl.col("_rank").is_null(),
        lambda value: f"{value!r} is not a whole number",
    )
    _check_unique(frame, path)
    reporter = [REPORTER] if REPORTER in frame.columns else []
    return frame.select(
        "party_kind",
        "party_id",
        pl.col("_score").alias("score"),
        pl.col("_rank").alias("rank"),
        *reporter,
    )


def read_labels(path: Path) -> pl.DataFrame:
    """Read ``labels.csv``: ``party_kind, party_id, role``, all text, one row per party."""
    frame = _read_csv(path, LABEL_COLUMNS, LABEL_COLUMNS, optional=(REPORTER,))
    _check_party_kind(frame, path)
    _check_not_empty(frame, path, "party_id")
    _check_not_empty(frame, path, "role")
    frame = _with_reporter_key(frame)
    _check_unique(frame, path)
    return frame.select(*LABEL_COLUMNS, *([REPORTER] if REPORTER in frame.columns else []))


def _with_reporter_key(frame: pl.DataFrame) -> pl.DataFrame:
    """FIU mode (a `reporter` column): a sender's party_id becomes reporter and id, as the
    scan keys it, so that customer 1001 of two reporters are two parties; a beneficiary's
    (an account, the same whoever reports it) stays as it is."""
    if REPORTER not in frame.columns:
        return frame
    reporter = pl.col(REPORTER).fill_null("").str.strip_chars()
    keyed = (pl.col("party_kind") == "sender") & (reporter != "")
    return frame.with_columns(
        pl.when(keyed)
        .then(pl.concat_str(reporter, pl.lit(SENDER_KEY_SEPARATOR), pl.col("party_id")))
        .otherwise(pl.col("party_id"))
        .alias("party_id"),
        reporter.alias(REPORTER),
    )


def _read_csv(
    path: Path, required: Sequence[str], read: Sequence[str], optional: Sequence[str] = ()
) -> pl.DataFrame:
    """The ``read`` columns of a CSV file as text (and those of ``optional`` it has), with a
    1-based row number column."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    try:
        header = pl.scan_csv(path, infer_schema=False).collect_schema().names()
        missing = [column for column in required if column not in header]
        if missing:
            raise InputError(
                f"{path}: missing required column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(column) for column in missing)}"
                f" (found: {', '.join(header)})"
            )
        return pl.read_csv(
            path,
            columns=[*read, *(column for column in optional if column in header)],
            infer_schema=False,
            row_index_name=_ROW,
            row_index_offset=1,
        )
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as error:
        text = str(error).strip()
        reason = text.splitlines()[0] if text else type(error).__name__
        raise InputError(f"{path}: cannot be read as CSV: {reason}") from error


def _check(
    frame: pl.DataFrame,
    path: Path,
    column: str,
    bad: pl.Expr,
    problem: Callable[[str | None], str],
) -> None:
    """Raise an InputError naming the first row where ``bad`` holds, if any."""
    rows = frame.filter(bad)
    if rows.height == 0:
        return
    first = rows.row(0, named=True)
    value = first[column]
    what = "is empty" if value is None else problem(value)
    more = f" (and {rows.height - 1:,} more rows)" if rows.height > 1 else ""
    raise InputError(f"{path}: row {first[_ROW]}, column {column!r}: {what}{more}")


def _check_not_empty(frame: pl.DataFrame, path: Path, column: str) -> None:
    _check(frame, path, column, pl.col(column).is_null(), lambda value: "is empty")


def _check_party_kind(frame: pl.DataFrame, path: Path) -> None:
    expected = " or ".join(PARTY_KINDS)
    _check(
        frame,
        path,
        "party_kind",
        ~pl.col("party_kind").is_in(PARTY_KINDS).fill_null(False),
        lambda value: f"unknown party kind {value!r} (expected {expected})",
    )


def _check_unique(frame: pl.DataFrame, path: Path) -> None:
    """Each party appears at most once."""
    _check(
        frame,
        path,
        "party_id",
        ~pl.struct(_KEY).is_first_distinct(),
        lambda value: f"{value!r} appears more than once for its party kind",
    )
