"""Exchange indicators: they fire, with their figures, once chats are imported and scanned."""

from __future__ import annotations

from tests.builders import write_payments_csv
from tests.exchanges.conftest import WALLET, scenario_rows
from vigil.exchanges.imports import import_exchanges
from vigil.scan import scan
from vigil.workspace import Workspace


def _hits(ws, kind, party):
    return {
        r[0]: r[1]
        for r in ws.con.execute(
            "SELECT indicator, figures FROM indicator_hits WHERE party_kind = ? AND party_id = ?",
            [kind, party],
        ).fetchall()
    }


def test_exchange_indicators_fire_after_import_and_rescan(tmp_path, export_file):
    csv_path = write_payments_csv(tmp_path / "p.csv", scenario_rows())
    out = tmp_path / "scan"
    scan([csv_path], out)
    ws_path = out / "vigil.duckdb"
    with Workspace.open(ws_path) as ws:
        assert not any(i.startswith("E") for i in _hits(ws, "sender", "C1"))
        before = ws.con.execute("SELECT score FROM sender_scores WHERE party_id = 'C1'").fetchall()
        import_exchanges(ws, [export_file("telegram_full_result.json")], owner="sender:C1")
    scan([csv_path], out)  # the same payments again: only the exchange features change
    with Workspace.open(ws_path) as ws:
        hits = _hits(ws, "sender", "C1")
        assert hits["E2"] == "1 payments whose reference is written in a message"
        assert hits["E3"].startswith("1 payments whose amount")
        assert hits["E5"].startswith("1 payments followed")
        assert hits["E1"].startswith("1 beneficiaries paid")
        after = ws.con.execute("SELECT score FROM sender_scores WHERE party_id = 'C1'").fetchall()
        assert after[0][0] > before[0][0]
        assert {"E1", "E2", "E3", "E5"} <= set(_hits(ws, "beneficiary", WALLET))
        assert not any(i.startswith("E") for i in _hits(ws, "sender", "C9"))
