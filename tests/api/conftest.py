"""The scoring API's fixtures: one scanned population, a key, and a client of the API app."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from vigil.api.app import create_scoring_app
from vigil.api.keys import create_key
from vigil.cases.store import CaseStore, default_database_url
from vigil.scan import scan
from vigil.synth import generate


@dataclass(frozen=True)
class Population:
    workspace: Path
    transactions: pl.DataFrame
    labels: pl.DataFrame


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory) -> Population:
    root = tmp_path_factory.mktemp("api-population")
    data = generate(root / "data", senders=1500, seed=13)
    scan([data.transactions], root / "results")
    return Population(
        root / "results" / "vigil.duckdb",
        pl.read_csv(data.transactions, infer_schema=False),
        pl.read_csv(data.labels, infer_schema=False),
    )


@dataclass
class Api:
    client: TestClient
    key: str
    store: CaseStore
    workspace: Path

    def score(self, payment: dict, key: str | None = None) -> object:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return self.client.post("/api/v1/score", json=payment, headers=headers)


@pytest.fixture
def api(population: Population, tmp_path: Path) -> Iterator[Api]:
    """A copy of the scanned workspace per test (recorded payments, audit entries stay apart)."""
    workspace = tmp_path / "vigil.duckdb"
    shutil.copy(population.workspace, workspace)
    store = CaseStore.open(default_database_url(workspace))
    _info, key = create_key(store, "gateway")
    app = create_scoring_app(workspace, refresh_seconds=3600)
    with TestClient(app) as client:
        yield Api(client, key, store, workspace)
    store.close()


def payment_like(population: Population, **match: str) -> dict[str, str]:
    """The last payment matching `match`, as a new payment (a fresh txn_id)."""
    rows = population.transactions
    for column, value in match.items():
        rows = rows.filter(pl.col(column) == value)
    row = rows.tail(1).to_dicts()[0]
    return {**row, "txn_id": "NEW-" + row["txn_id"]}
