"""Ranking metrics: pure functions from tables and arrays to numbers, no file access.

The ranking of one party kind (sender or beneficiary) is built by :func:`rank_alerts`:

- alerts of that kind are joined to the labels on ``party_id``;
- they are ordered by ``score`` descending; ties are broken by the scanner's own ``rank``
  ascending, then by ``party_id`` ascending, so the order is total and reproducible;
- a party is *positive* when its role is the positive role of its kind
  (:data:`vigil.schema.POSITIVE_ROLES`: ``offender`` for senders, ``facilitator`` for
  beneficiaries); every other party is a negative whose *population* is its role, or
  :data:`UNLABELLED` when it has no label.

Labelled parties that are missing from the alerts (:func:`missing_from_alerts`) were never
alerted: they count as ranked last, below every alert, so they are never inside an alert
budget and a missing positive contributes precision 0 to the average precision. They still
count as parties and, when positive, as positives for recall and average precision.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import polars as pl

from vigil.schema import POSITIVE_ROLES

BUDGETS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.05)
"""Alert budgets, as shares of the parties of one kind: 0.1 %, 0.5 %, 1 %, 5 %."""

UNLABELLED = "unlabelled"
"""Population of an alerted party that has no label."""

Hits = pl.Series | npt.ArrayLike


def _as_bool(is_positive: Hits) -> npt.NDArray[np.bool_]:
    if isinstance(is_positive, pl.Series):
        return is_positive.fill_null(False).cast(pl.Boolean).to_numpy()
    return np.asarray(is_positive, dtype=bool)


def rank_alerts(alerts: pl.DataFrame, labels: pl.DataFrame, party_kind: str) -> pl.DataFrame:
    """The alerts of one party kind joined to their labels, in ranking order.

    ``alerts`` has columns ``party_kind``, ``party_id``, ``score`` (float), ``rank`` (int);
    ``labels`` has ``party_kind``, ``party_id``, ``role``, at most one row per party.
    Returns ``party_id, score, rank, role, population, is_positive``, best first: score
    descending, then ``rank`` ascending, then ``party_id`` ascending.
    """
    positive_role = POSITIVE_ROLES[party_kind]
    kind_labels = labels.filter(pl.col("party_kind") == party_kind).select("party_id", "role")
    return (
        alerts.filter(pl.col("party_kind") == party_kind)
        .select("party_id", "score", "rank")
        .join(kind_labels, on="party_id", how="left")
        .sort(
            ["score", "rank", "party_id"],
            descending=[True, False, False],
            nulls_last=True,
        )
        .with_columns(
            population=pl.col("role").fill_null(UNLABELLED),
            is_positive=(pl.col("role") == positive_role).fill_null(False),
        )
    )


def missing_from_alerts(
    alerts: pl.DataFrame, labels: pl.DataFrame, party_kind: str
) -> pl.DataFrame:
    """Labelled parties of one kind that have no alert: ``party_id, role, is_positive``."""
    positive_role = POSITIVE_ROLES[party_kind]
    kind_alerts = alerts.filter(pl.col("party_kind") == party_kind).select("party_id")
    return (
        labels.filter(pl.col("party_kind") == party_kind)
        .select("party_id", "role")
        .join(kind_alerts, on="party_id", how="anti")
        .with_columns(is_positive=pl.col("role") == positive_role)
    )


def budget_size(budget: float, parties: int) -> int:
    """Number of alerts in a budget: ``k = max(1, ceil(budget * parties))``.

    The product is taken exactly (``0.001 * 3000`` is 3, not 3.0000000000000004).
    """
    return max(1, math.ceil(Fraction(str(budget)) * parties))


def average_precision(is_positive: Hits, missing_positives: int = 0) -> float | None:
    """Non-interpolated average precision of a ranking (as scikit-learn computes it).

    ``is_positive`` is the ranking, best first. AP is the sum, over the positives, of the
    precision at each positive's position (positives at or above it / its 1-based
    position), divided by the number of positives. ``missing_positives`` are positives that
    are not in the ranking: they count in the denominator and contribute precision 0.
    ``None`` when there are no positives at all.
    """
    hits = _as_bool(is_positive)
    positions = np.flatnonzero(hits) + 1
    positives = positions.size + missing_positives
    if positives == 0:
        return None
    found = np.arange(1, positions.size + 1)
    return float(np.sum(found / positions) / positives)


def random_average_precision(positives: int, parties: int) -> float | None:
    """Expected average precision of a random ranking: the share of positives.

    ``None`` when there are no positives (average precision is then undefined).
    """
    if positives == 0 or parties == 0:
        return None
    return positives / parties


def positives_in_top(is_positive: Hits, k: int) -> int:
    """Number of positives among the first ``k`` of the ranking."""
    return int(np.count_nonzero(_as_bool(is_positive)[:k]))


def recall_at(is_positive: Hits, k: int, positives: int) -> float | None:
    """Positives in the top ``k`` / all positives (missing ones included); ``None`` if none."""
    if positives == 0:
        return None
    return positives_in_top(is_positive, k) / positives


def precision_at(is_positive: Hits, k: int) -> float:
    """Positives in the top ``k`` / ``k``."""
    return positives_in_top(is_positive, k) / k


def false_positives_by_population(ranked: pl.DataFrame, k: int) -> dict[str, int]:
    """False positives in the top ``k`` of a ranking from :func:`rank_alerts`, by population.

    Largest population first, ties by name.
    """
    counts = (
        ranked.head(k)
        .filter(~pl.col("is_positive"))
        .group_by("population")
        .len()
        .sort(["len", "population"], descending=[True, False])
    )
    return dict(zip(counts["population"].to_list(), counts["len"].to_list(), strict=True))
