"""The optional payout_location and beneficiary_phone columns: read, stored, migrated."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.builders import DEFAULT_PAYMENT, payment_row, write_payments_csv
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
        ",\n    payout_location VARCHAR,\n    beneficiary_phone VARCHAR,\n"
        "    reporter VARCHAR,\n    reporter_sender_id VARCHAR",
        "",
    )
    assert "payout_location" not in old_ddl and "reporter" not in old_ddl
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute(old_ddl)
    con.close()
    with Workspace.open(path) as ws:
        columns = [r[0] for r in ws.con.execute("DESCRIBE payments").fetchall()]
        assert columns[-4:] == [
            "payout_location",
            "beneficiary_phone",
            "reporter",
            "reporter_sender_id",
        ]
        assert ws.schema_version == 3


def test_a_version_2_workspace_gains_the_reporter_columns_and_keeps_its_payments(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.duckdb"
    con = duckdb.connect(str(path))
    v2_ddl = PAYMENTS_DDL.replace(",\n    reporter VARCHAR,\n    reporter_sender_id VARCHAR", "")
    assert "reporter" not in v2_ddl
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    con.execute(v2_ddl)
    con.close()
    source = write_payments_csv(tmp_path / "p.csv", [{"txn_id": "P1", "reporter": "Bank A"}])
    with Workspace.open(path) as ws:
        assert ws.schema_version == 3
        ingest(ws, [source], quarantine_path=tmp_path / "q.csv")
        stored = ws.con.execute(
            "SELECT sender_id, reporter, reporter_sender_id FROM payments"
        ).fetchall()
    sender = DEFAULT_PAYMENT["sender_id"]
    assert stored == [(f"Bank A:{sender}", "Bank A", sender)]
