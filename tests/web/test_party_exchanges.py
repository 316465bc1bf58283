"""The party page shows messages, calls and payments on one UTC axis when exchanges exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import write_payments_csv
from tests.exchanges.conftest import FILES, scenario_rows
from vigil.exchanges.imports import import_exchanges
from vigil.scan import scan
from vigil.workspace import Workspace


@pytest.fixture(scope="module")
def scanned_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's own workspace: Gary's payments and his Telegram export."""
    folder = tmp_path_factory.mktemp("web-exchanges")
    csv_path = write_payments_csv(folder / "p.csv", scenario_rows())
    scan([csv_path], folder / "scan")
    with Workspace.open(folder / "scan" / "vigil.duckdb") as ws:
        import_exchanges(ws, [FILES / "telegram_full_result.json"], owner="sender:C1")
    scan([csv_path], folder / "scan")
    return folder / "scan" / "vigil.duckdb"


def test_party_page_has_the_exchange_timeline(login) -> None:
    page = login("ana").get("/parties/sender/C1")
    assert page.status_code == 200
    assert "Messages, calls and payments" in page.text
    assert "sent ref T0001" in page.text and 'class="linked"' in page.text
    assert "beneficiary 2023-03-04 21:15 (UTC+08:00, Asia/Manila)" in page.text


def test_no_timeline_section_without_exchanges(login) -> None:
    page = login("ana").get("/parties/sender/C9")
    assert page.status_code == 200
    assert "Messages, calls and payments" not in page.text
