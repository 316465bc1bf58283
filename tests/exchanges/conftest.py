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


WALLET = "09171234567"  # the facilitator's wallet is her phone number


def scenario_rows() -> list[dict]:
    """Gary Holt (C1) pays Rosa Dizon's wallet twice; C9 pays someone else."""
    from tests.builders import payment

    rows = []
    for i, (when, amount) in enumerate(
        [("2023-03-04T13:15:00+00:00", 55), ("2023-03-06T13:15:00+00:00", 40)], start=1
    ):
        row = payment("C1", WALLET, when, amount, beneficiary_name="Rosa Dizon")
        row["txn_id"], row["sender_name"] = f"T000{i}", "Gary Holt"
        rows.append(row)
    other = payment("C9", "W9", "2023-03-04T13:15:00+00:00", 55)
    other["txn_id"] = "T0009"
    return [*rows, other]


@pytest.fixture(scope="module")
def scanned_with_exchanges(tmp_path_factory) -> Path:
    """A scanned workspace with Gary's Telegram export imported, then scanned again."""
    from tests.builders import write_payments_csv
    from vigil.exchanges.imports import import_exchanges
    from vigil.scan import scan

    folder = tmp_path_factory.mktemp("exchanges")
    csv_path = write_payments_csv(folder / "p.csv", scenario_rows())
    out = folder / "scan"
    scan([csv_path], out)
    with Workspace.open(out / "vigil.duckdb") as ws:
        import_exchanges(ws, [FILES / "telegram_full_result.json"], owner="sender:C1")
    scan([csv_path], out)
    return out / "vigil.duckdb"
