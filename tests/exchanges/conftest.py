"""Fixtures for the exchange tests: the hand-made export files, a workspace of payments."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.builders import write_payments_csv
from vigil.ingest.run import ingest
from vigil.workspace import Workspace

FILES = Path(__file__).with_name("files")


@pytest.fixture
def export_file() -> Callable[[str], Path]:
    def get(name: str) -> Path:
        return FILES / name

    return get


@pytest.fixture
def payments_workspace(tmp_path: Path) -> Callable[[list[dict]], Path]:
    """A workspace file holding exactly `rows` (canonical payment dicts)."""

    def make(rows: list[dict]) -> Path:
        csv_path = write_payments_csv(tmp_path / "payments.csv", rows)
        path = tmp_path / "ws.duckdb"
        with Workspace.open(path) as ws:
            ingest(ws, [csv_path], quarantine_path=tmp_path / "quarantine.csv")
        return path

    return make
