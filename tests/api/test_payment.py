"""The API computes one payment's facts in Python: they must be the scan's facts (SQL)."""

from __future__ import annotations

import shutil
from datetime import UTC
from pathlib import Path

import polars as pl

from tests.api.conftest import Population
from vigil.api.payment import PaymentIn, payment_facts
from vigil.api.score import amount_in_reporting
from vigil.api.state import load_state
from vigil.indicators.catalogue import load_catalogue
from vigil.pipeline.facts import build_payment_facts
from vigil.workspace import Workspace

FACTS = ("hr", "small", "related", "beneficiary_evening", "sender_night", "cover_narrative")


def test_the_apis_facts_are_the_scans_facts(population: Population, tmp_path: Path) -> None:
    catalogue = load_catalogue()
    workspace = tmp_path / "copy.duckdb"
    shutil.copy(population.workspace, workspace)
    with Workspace.open(workspace) as ws:
        facts = build_payment_facts(ws, catalogue, ws.table("payments"))
        sql = pl.from_arrow(
            facts.select(
                "sender_id", "beneficiary_id", "ts_utc", "amount_reporting", *FACTS
            ).to_pyarrow()
        )
    state = load_state(workspace)
    sample = population.transactions.sample(n=600, seed=3)
    rows = []
    for row in sample.iter_rows(named=True):
        payment = PaymentIn.model_validate(row)
        mine = payment_facts(payment, catalogue.parameters, amount_in_reporting(payment, state))
        rows.append(
            {
                "sender_id": payment.sender_id,
                "beneficiary_id": payment.beneficiary_id,
                "ts_utc": payment.moment.astimezone(UTC).replace(tzinfo=None),
                "api_amount": mine.amount_reporting,
                "api_hr": mine.high_risk,
                **{f"api_{f}": getattr(mine, f) for f in FACTS if f != "hr"},
            }
        )
    api = pl.DataFrame(rows).with_columns(pl.col("ts_utc").cast(sql["ts_utc"].dtype))
    both = api.join(sql, on=["sender_id", "beneficiary_id", "ts_utc"])
    assert both.height >= 600
    assert (both["api_amount"] - both["amount_reporting"]).abs().max() < 1e-6
    for fact in FACTS:
        differ = both.filter(pl.col(f"api_{fact}") != pl.col(fact))
        assert differ.height == 0, (fact, differ.head(3).to_dicts())
    # the sample is not trivial: every fact is true for some payments and false for others
    for fact in FACTS:
        assert both[fact].any() and not both[fact].all(), fact


def test_facts_follow_the_catalogue_they_are_given() -> None:
    """The compiled patterns are kept between payments: another catalogue's words count."""
    parameters = load_catalogue().parameters
    payment = PaymentIn.model_validate(
        {
            "txn_id": "T1",
            "ts": "2025-03-01T21:00:00+00:00",
            "sender_id": "S1",
            "sender_name": "Alan Smith",
            "sender_country": "GB",
            "beneficiary_id": "B1",
            "beneficiary_name": "Rosa Cruz",
            "beneficiary_country": "PH",
            "amount": "40",
            "currency": "USD",
            "channel": "ewallet",
            "narrative": "zebra crossing",
        }
    )
    assert not payment_facts(payment, parameters, 40.0).cover_narrative
    zebra = parameters.model_copy(update={"cover_words": ["zebra"]})
    assert payment_facts(payment, zebra, 40.0).cover_narrative
    assert not payment_facts(payment, parameters, 40.0).cover_narrative
