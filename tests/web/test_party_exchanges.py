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


def test_a_cooperation_package_made_from_a_case_is_audited(login, site) -> None:
    import io
    import zipfile

    from vigil.cases import audit

    ana = login("ana")
    case = ana.api(
        "POST",
        "/api/cases",
        json={"title": "partner", "parties": [{"kind": "beneficiary", "party_id": "09171234567"}]},
    ).json()
    page = ana.get(f"/cases/{case['id']}")
    assert "Cooperation package" in page.text
    made = ana.api(
        "POST",
        f"/api/cases/{case['id']}/exports",
        json={"format": "cooperation", "party": {"kind": "beneficiary", "party_id": "09171234567"}},
    )
    assert made.status_code == 201, made.text
    archive = zipfile.ZipFile(io.BytesIO(ana.get(made.json()["url"]).content))
    names = archive.namelist()
    assert any(n.endswith("cooperation.pdf") for n in names)
    assert any("annex-US/" in n for n in names)
    entry = audit.entries(site.store, actor="ana", target=f"case:{case['id']}")
    assert "export.cooperation" in {e.action for e in entry}
