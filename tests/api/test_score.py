"""POST /api/v1/score: what a payments gateway gets back for one payment."""

from __future__ import annotations

import math

import polars as pl
import pytest

from tests.api.conftest import Api, Population, payment_like
from vigil.api.config import load_scoring_config
from vigil.workspace import Workspace

CONFIG = load_scoring_config()


def _scores(population: Population, kind: str, role: str) -> pl.DataFrame:
    ids = population.labels.filter((pl.col("party_kind") == kind) & (pl.col("role") == role))[
        "party_id"
    ].to_list()
    with Workspace.open(population.workspace, read_only=True) as ws:
        rows = ws.con.execute(
            f"SELECT party_id, score FROM {kind}_scores WHERE list_contains(?, party_id) "
            "ORDER BY score DESC, party_id",
            [ids],
        ).fetchall()
    return pl.DataFrame(rows, schema=["party_id", "score"], orient="row")


def test_a_known_offenders_new_payment_is_held_with_its_reasons(
    api: Api, population: Population
) -> None:
    offender, offender_score = _scores(population, "sender", "offender").row(0)
    assert offender_score >= 0.8  # the population's top offender
    payment = payment_like(population, sender_id=offender)
    answer = api.score(payment)
    assert answer.status_code == 200
    body = answer.json()
    assert body["txn_id"] == payment["txn_id"]
    assert body["decision"] == "hold"
    assert body["score"] >= offender_score - 1e-6  # never below the sender's own score
    assert body["sender"] == {"party_id": offender, "score": pytest.approx(offender_score)}
    assert body["beneficiary"]["party_id"] == payment["beneficiary_id"]
    reasons = body["reasons"]
    assert {r["party"] for r in reasons} >= {"sender"}
    assert all(r["indicator"] and r["statement"] for r in reasons)
    assert sum(r["contribution"] for r in reasons) == pytest.approx(body["score"], abs=1e-4)
    assert [r["contribution"] for r in reasons] == sorted(
        (r["contribution"] for r in reasons), reverse=True
    )


def test_a_family_remitters_new_payment_is_allowed(api: Api, population: Population) -> None:
    workers = _scores(population, "sender", "overseas_worker")
    worker, worker_score = workers.row(workers.height - 1)  # the quietest overseas worker
    payment = payment_like(population, sender_id=worker)
    body = api.score(payment).json()
    assert body["decision"] == "allow"
    assert body["score"] < CONFIG.thresholds.review
    assert body["sender"]["score"] == pytest.approx(worker_score)


def test_an_unknown_sender_paying_a_facilitator_is_stopped(
    api: Api, population: Population
) -> None:
    """A first payment of a customer the workspace has never seen, to a beneficiary that
    the offenders pay: the beneficiary's score and its suspicious payers make it."""
    facilitator, _score = _scores(population, "beneficiary", "facilitator").row(0)
    payment = payment_like(population, beneficiary_id=facilitator)
    payment |= {"sender_id": "C-NEW-1", "sender_name": "Jonathan Kemp", "sender_country": "GB"}
    body = api.score(payment).json()
    assert body["sender"] == {"party_id": "C-NEW-1", "score": None}
    assert body["decision"] in ("review", "hold")
    assert "beneficiary" in {r["party"] for r in body["reasons"]}


def test_the_score_follows_the_configured_rule(api: Api, population: Population) -> None:
    """score = 1 - exp(-points): a sender alone at s gives s back, with no payment facts."""
    workers = _scores(population, "sender", "overseas_worker")
    worker, worker_score = workers.row(0)
    payment = payment_like(population, sender_id=worker)
    body = api.score(payment).json()
    points = -math.log(1 - body["score"])
    assert points >= -math.log(1 - worker_score) - 1e-6
