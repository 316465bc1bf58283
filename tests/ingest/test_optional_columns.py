"""The optional payout_location and beneficiary_phone columns: read, stored, migrated."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.builders import payment_row, write_payments_csv
from vigil.ingest import ingest
from vigil.workspace import Workspace
from vigil.workspace.store import PAYMENTS_DDL


def test_payout_location_and_beneficiary_phone_are_stored(tmp_path: Path) -> None:
    rows = [
        payment_row(
            txn_id="P1", payout_location="Agent 12, Lapu-Lapu", beneficiary_phone="+63 917 000 1111"
        ),
        payment_row(txn_id="P2"),
    ]
    path = write_payments_csv(tmp_path / "in.csv", rows)
    with Workspace.open(tmp_path / "ws.duckdb") as ws:
        result = ingest(ws, [path], quarantine_path=tmp_path / "q.csv")
        assert result.rows_ingested == 2
        stored = ws.con.execute(
            "SELECT txn_id, payout_location, beneficiary_phone, extra FROM payments ORDER BY 1"
        ).fetchall()
    assert stored == [
        ("P1", "Agent 12, Lapu-Lapu", "+63 917 000 1111", None),
        ("P2", None, None, None),
    ]


def test_a_version_1_workspace_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    old_ddl = PAYMENTS_DDL.replace(
        ",\n    payout_location VARCHAR,\n    beneficiary_phone VARCHAR", ""
    )
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute(old_ddl)
    con.close()
    with Workspace.open(path) as ws:
        columns = [r[0] for r in ws.con.execute("DESCRIBE payments").fetchall()]
        assert columns[-2:] == ["payout_location", "beneficiary_phone"]
        assert ws.schema_version == 2
