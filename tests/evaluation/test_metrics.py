"""Ranking metrics on hand-made rankings: figures an analyst can check on paper."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from vigil.evaluation import metrics

# A ranking of 10 senders, best first, with offenders at positions 1, 3 and 6.
OFFENDERS_AT_1_3_6 = [True, False, True, False, False, True, False, False, False, False]


def alerts_table(*rows: tuple[str, str, float, int]) -> pl.DataFrame:
    """Alerts as read from alerts.csv: (party_kind, party_id, score, rank)."""
    return pl.DataFrame(
        rows,
        schema={
            "party_kind": pl.String,
            "party_id": pl.String,
            "score": pl.Float64,
            "rank": pl.Int64,
        },
        orient="row",
    )


def labels_table(*rows: tuple[str, str, str]) -> pl.DataFrame:
    """Labels as read from labels.csv: (party_kind, party_id, role)."""
    return pl.DataFrame(
        rows,
        schema={"party_kind": pl.String, "party_id": pl.String, "role": pl.String},
        orient="row",
    )


def test_average_precision_is_the_mean_precision_at_each_offender() -> None:
    # precision at the offenders' positions: 1/1, 2/3, 3/6
    expected = (1 / 1 + 2 / 3 + 3 / 6) / 3
    assert metrics.average_precision(OFFENDERS_AT_1_3_6) == pytest.approx(expected)
    assert metrics.average_precision(pl.Series(OFFENDERS_AT_1_3_6)) == pytest.approx(expected)
    assert metrics.average_precision(np.array(OFFENDERS_AT_1_3_6)) == pytest.approx(expected)


def test_an_offender_never_alerted_contributes_precision_zero() -> None:
    # offenders at 1 and 3, and one more that is not in the ranking: (1/1 + 2/3 + 0) / 3
    ranking = [True, False, True, False]
    assert metrics.average_precision(ranking, missing_positives=1) == pytest.approx((1 + 2 / 3) / 3)
    assert metrics.average_precision([False, False], missing_positives=2) == 0.0


def test_average_precision_without_any_offender_is_undefined() -> None:
    assert metrics.average_precision([False, False, False]) is None
    assert metrics.average_precision([]) is None


def test_perfect_ranking_has_average_precision_one() -> None:
    assert metrics.average_precision([True, True, False, False]) == 1.0


def test_random_ranking_average_precision_is_the_share_of_offenders() -> None:
    assert metrics.random_average_precision(3, 10) == pytest.approx(0.3)
    assert metrics.random_average_precision(0, 10) is None
    assert metrics.random_average_precision(0, 0) is None


@pytest.mark.parametrize(
    ("budget", "parties", "k"),
    [
        (0.001, 1000, 1),
        (0.005, 1000, 5),
        (0.01, 1000, 10),
        (0.05, 1000, 50),
        (0.001, 3000, 3),  # exactly 3, not ceil(3.0000000000000004) = 4
        (0.01, 150, 2),  # 1.5 rounds up
        (0.05, 10, 1),  # 0.5 rounds up
        (0.001, 10, 1),  # never fewer than one alert
        (0.001, 0, 1),
    ],
)
def test_budget_size_is_ceiling_of_share_of_parties_and_at_least_one(
    budget: float, parties: int, k: int
) -> None:
    assert metrics.budget_size(budget, parties) == k


def test_recall_and_precision_in_the_top_k() -> None:
    # top 3 holds the offenders at 1 and 3: recall 2/3, precision 2/3
    assert metrics.recall_at(OFFENDERS_AT_1_3_6, 3, positives=3) == pytest.approx(2 / 3)
    assert metrics.precision_at(OFFENDERS_AT_1_3_6, 3) == pytest.approx(2 / 3)
    # top 6 holds all three: recall 1, precision 3/6; a fourth, never-alerted offender: 3/4
    assert metrics.recall_at(OFFENDERS_AT_1_3_6, 6, positives=3) == 1.0
    assert metrics.recall_at(OFFENDERS_AT_1_3_6, 6, positives=4) == 0.75
    assert metrics.precision_at(OFFENDERS_AT_1_3_6, 6) == 0.5
    # no offenders at all: recall undefined
    assert metrics.recall_at([False, False], 1, positives=0) is None


def test_ranking_orders_by_score_then_scanner_rank_then_party_id() -> None:
    alerts = alerts_table(
        ("sender", "S-c", 0.5, 10),
        ("sender", "S-a", 0.9, 1),
        ("sender", "S-b", 0.5, 9),  # same score as S-c: rank 9 before rank 10 (not as text)
        ("sender", "S-e", 0.2, 11),
        ("sender", "S-d", 0.2, 11),  # same score and rank as S-e: by party_id
        ("beneficiary", "B-1", 1.0, 1),  # another kind: not in the sender ranking
    )
    ranked = metrics.rank_alerts(alerts, labels_table(), "sender")
    assert ranked["party_id"].to_list() == ["S-a", "S-b", "S-c", "S-d", "S-e"]


def test_ranking_marks_offenders_and_names_populations() -> None:
    alerts = alerts_table(
        ("sender", "S1", 0.9, 1),
        ("sender", "S2", 0.8, 2),
        ("sender", "S3", 0.7, 3),
        ("sender", "S4", 0.6, 4),
    )
    labels = labels_table(
        ("sender", "S1", "offender"),
        ("sender", "S2", "overseas_worker"),
        ("sender", "S4", "facilitator"),  # a facilitator is no positive among senders
        ("beneficiary", "S3", "facilitator"),  # a beneficiary that shares the id
    )
    ranked = metrics.rank_alerts(alerts, labels, "sender")
    assert ranked["is_positive"].to_list() == [True, False, False, False]
    assert ranked["population"].to_list() == [
        "offender",
        "overseas_worker",
        "unlabelled",
        "facilitator",
    ]


def test_labelled_parties_missing_from_alerts() -> None:
    alerts = alerts_table(("sender", "S1", 0.9, 1), ("beneficiary", "S2", 0.9, 1))
    labels = labels_table(
        ("sender", "S1", "offender"),
        ("sender", "S2", "offender"),  # alerted only as a beneficiary: missing as a sender
        ("sender", "S3", "partner_abroad"),
        ("beneficiary", "B9", "facilitator"),
    )
    missing = metrics.missing_from_alerts(alerts, labels, "sender")
    assert sorted(missing["party_id"].to_list()) == ["S2", "S3"]
    assert int(missing["is_positive"].sum()) == 1


def test_false_positives_in_the_top_k_by_population() -> None:
    alerts = alerts_table(*[("sender", f"S{i}", 1 - i / 10, i) for i in range(1, 7)])
    labels = labels_table(
        ("sender", "S1", "overseas_worker"),
        ("sender", "S2", "offender"),
        ("sender", "S3", "partner_abroad"),
        ("sender", "S4", "overseas_worker"),
        # S5 and S6 unlabelled
    )
    ranked = metrics.rank_alerts(alerts, labels, "sender")
    # top 5: S1 overseas_worker, S2 offender, S3 partner_abroad, S4 overseas_worker, S5 -
    assert metrics.false_positives_by_population(ranked, 5) == {
        "overseas_worker": 2,
        "partner_abroad": 1,
        "unlabelled": 1,
    }
    assert list(metrics.false_positives_by_population(ranked, 5)) == [
        "overseas_worker",
        "partner_abroad",
        "unlabelled",
    ]
    assert metrics.false_positives_by_population(ranked, 1) == {"overseas_worker": 1}
