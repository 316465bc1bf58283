"""The scoring API in FIU mode: a payment names its reporter, and its sender is looked up as
that reporter's customer (customer 1001 of another institution is somebody else)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api, Population
from vigil.api.app import create_scoring_app
from vigil.api.keys import create_key
from vigil.cases.store import CaseStore, default_database_url
from vigil.scan import scan
from vigil.workspace import Workspace

REPORTER = "Bank A"


@pytest.fixture(scope="module")
def fiu_api(population: Population, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The API population, every payment reported by Bank A, scanned in FIU mode."""
    root = tmp_path_factory.mktemp("api-fiu")
    source = root / "fiu.csv"
    population.transactions.with_columns(reporter=pl.lit(REPORTER)).write_csv(source)
    scan([source], root / "results")
    workspace = root / "results" / "vigil.duckdb"
    store = CaseStore.open(default_database_url(workspace))
    _info, key = create_key(store, "gateway")
    with TestClient(create_scoring_app(workspace, refresh_seconds=3600)) as client:
        yield Api(client, key, store, workspace)
    store.close()


def _top_offender(population: Population, workspace: Path) -> tuple[str, float]:
    offenders = population.labels.filter(pl.col("role") == "offender")["party_id"].to_list()
    keys = [f"{REPORTER}:{o}" for o in offenders]
    with Workspace.open(workspace, read_only=True) as ws:
        key, score = ws.con.execute(
            "SELECT party_id, score FROM sender_scores WHERE list_contains(?, party_id) "
            "ORDER BY score DESC, party_id LIMIT 1",
            [keys],
        ).fetchall()[0]
    return key.removeprefix(f"{REPORTER}:"), score


def _payment(population: Population, sender: str, **changes: str) -> dict[str, str]:
    row = population.transactions.filter(pl.col("sender_id") == sender).tail(1).to_dicts()[0]
    return {**row, "txn_id": "NEW-" + row["txn_id"], **changes}


def test_a_payment_names_its_reporter_and_finds_that_reporters_customer(
    fiu_api: Api, population: Population
) -> None:
    offender, score = _top_offender(population, fiu_api.workspace)
    body = fiu_api.score(_payment(population, offender, reporter=REPORTER)).json()
    assert body["sender"] == {
        "party_id": offender,
        "reporter": REPORTER,
        "score": pytest.approx(score),
    }
    assert body["decision"] == "hold"


def test_the_same_customer_id_at_another_reporter_is_an_unknown_sender(
    fiu_api: Api, population: Population
) -> None:
    offender, _ = _top_offender(population, fiu_api.workspace)
    body = fiu_api.score(_payment(population, offender, reporter="Remit B")).json()
    assert body["sender"]["score"] is None
    assert not [r for r in body["reasons"] if r["party"] == "sender"]


def test_a_reporter_with_the_separator_is_refused(fiu_api: Api, population: Population) -> None:
    offender, _ = _top_offender(population, fiu_api.workspace)
    answer = fiu_api.score(_payment(population, offender, reporter="Bank:A"))
    assert answer.status_code == 422
    assert "reporter" in answer.text
