"""Scores: one per party in [0, 1], explained by contributions that add up, ranked per kind."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from tests.builders import payment, series
from vigil.evaluation import evaluate
from vigil.scan import scan
from vigil.synth import generate

EVENING = datetime(2024, 3, 1, 12, 0)


@pytest.fixture
def scanned(run_scan):
    rows = []
    for sender in ("alice", "bob"):
        rows += series(sender, "hub", EVENING, 8, timedelta(days=3), narrative="gift")
        rows += series(sender, f"{sender}-w", EVENING, 5, timedelta(days=4))
    rows += [
        payment(
            "maria",
            "home",
            datetime(2024, m, 1, 9),
            300,
            sender_name="Maria Cruz",
            beneficiary_name="Jose Cruz",
        )
        for m in range(1, 7)
    ]
    return run_scan(rows)


def test_every_party_appears_once_with_a_score_and_rank(scanned):
    alerts = scanned.alerts
    assert alerts.select("party_kind", "party_id").is_duplicated().sum() == 0
    senders = set(alerts.filter(pl.col("party_kind") == "sender")["party_id"])
    beneficiaries = set(alerts.filter(pl.col("party_kind") == "beneficiary")["party_id"])
    assert senders == {"alice", "bob", "maria"}
    assert beneficiaries == {"hub", "alice-w", "bob-w", "home"}
    scores = alerts["score"].cast(pl.Float64)
    assert ((scores >= 0) & (scores <= 1)).all()
    for kind in ("sender", "beneficiary"):
        ranks = alerts.filter(pl.col("party_kind") == kind)["rank"].cast(pl.Int64)
        assert sorted(ranks) == list(range(1, len(ranks) + 1))


def test_contributions_add_up_to_the_score(scanned):
    for party in scanned.explanations.values():
        total = sum(c["contribution"] for c in party["contributions"])
        assert total == pytest.approx(party["score"], abs=1e-5)
        for c in party["contributions"]:
            assert c["figures"] and c["sources"] and c["statement"]


def test_offender_pattern_outranks_family_support(scanned):
    assert scanned.score("sender", "alice") > scanned.score("sender", "maria")
    assert scanned.score("beneficiary", "hub") > scanned.score("beneficiary", "home")
    top = scanned.alerts.filter(pl.col("party_kind") == "sender")["party_id"].head(2)
    assert set(top) == {"alice", "bob"}


def test_summary_counts_rows_and_parties(scanned):
    summary = scanned.summary
    assert summary["rows_read"] == summary["rows_ingested"] + summary["rows_quarantined"]
    assert summary["parties"] == {"sender": 3, "beneficiary": 4}


def test_offenders_rank_high_on_a_generated_population(tmp_path):
    data = generate(tmp_path / "data", senders=3000, seed=21)
    result = scan([data.transactions], tmp_path / "out")
    report = evaluate(result.alerts, data.labels).to_dict()
    senders, facilitators = report["sender"], report["beneficiary"]
    assert senders["positives"] >= 20
    # Far above a random ranking (about 0.01): most offenders in the top of the list.
    assert senders["average_precision"] > 0.6
    assert facilitators["average_precision"] > 0.4
    assert senders["budgets"][3]["recall"] > 0.8  # 5 % budget
