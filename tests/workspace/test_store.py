"""The workspace: one DuckDB file that later stages (web app, reports) read the facts from."""

from __future__ import annotations

from pathlib import Path

import ibis
import polars as pl
import pyarrow as pa
import pytest

from vigil.errors import InputError, VigilError
from vigil.workspace import PAYMENTS_COLUMNS, SCHEMA_VERSION, Workspace

EXPECTED_PAYMENTS = {
    "txn_id": "VARCHAR",
    "ts_utc": "TIMESTAMP",
    "ts_local": "VARCHAR",
    "sender_utc_offset_minutes": "SMALLINT",
    "sender_id": "VARCHAR",
    "sender_name": "VARCHAR",
    "sender_country": "VARCHAR",
    "beneficiary_id": "VARCHAR",
    "beneficiary_name": "VARCHAR",
    "beneficiary_country": "VARCHAR",
    "beneficiary_city": "VARCHAR",
    "amount": "DECIMAL(20,4)",
    "currency": "VARCHAR",
    "channel": "VARCHAR",
    "narrative": "VARCHAR",
    "amount_reporting": "DOUBLE",
    "extra": "JSON",
    "source_file": "VARCHAR",
    "source_row": "BIGINT",
    "payout_location": "VARCHAR",
    "beneficiary_phone": "VARCHAR",
    "reporter": "VARCHAR",
    "reporter_sender_id": "VARCHAR",
}


def test_open_creates_the_file_its_folder_and_the_payments_table(tmp_path: Path) -> None:
    where = tmp_path / "new" / "folder" / "vigil.duckdb"

    with Workspace.open(where) as ws:
        assert ws.has_table("payments") and ws.has_table("meta")
        assert ws.schema_version == SCHEMA_VERSION
        columns = ws.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'payments' ORDER BY ordinal_position"
        ).fetchall()

    assert where.is_file()
    assert dict(columns) == EXPECTED_PAYMENTS
    assert tuple(EXPECTED_PAYMENTS) == PAYMENTS_COLUMNS


def test_a_reopened_workspace_keeps_its_tables_and_meta(tmp_path: Path) -> None:
    where = tmp_path / "vigil.duckdb"
    with Workspace.open(where) as ws:
        ws.replace_table("sender_features", pa.table({"party_id": ["C1"], "n": [3]}))
        ws.meta_set("reporting_currency", "USD")

    with Workspace.open(where) as ws:
        assert ws.table("sender_features").to_pyarrow().to_pylist() == [{"party_id": "C1", "n": 3}]
        assert ws.meta_get("reporting_currency") == "USD"
        assert ws.meta_get("absent") is None
        assert ws.meta_get("absent", "default") == "default"
        assert ws.schema_version == SCHEMA_VERSION


def test_settings_spill_beside_the_file_and_use_every_core(tmp_path: Path) -> None:
    where = tmp_path / "vigil.duckdb"
    with Workspace.open(where) as ws:
        temp_directory, threads, memory_limit, zone = ws.con.execute(
            "SELECT current_setting('temp_directory'), current_setting('threads'), "
            "current_setting('memory_limit'), current_setting('TimeZone')"
        ).fetchall()[0]

    assert Path(temp_directory) == tmp_path / "vigil.duckdb.tmp"
    assert int(threads) >= 1
    assert memory_limit.endswith("iB")
    assert zone == "UTC"


def test_replace_table_takes_ibis_arrow_and_polars() -> None:
    with Workspace.open(":memory:") as ws:
        ws.replace_table("parties", pl.DataFrame({"party_id": ["A", "B"], "n": [1, 5]}))
        busy = ws.table("parties").filter(ibis._.n > 2)
        ws.replace_table("busy", busy)
        ws.replace_table("busy", ws.table("busy").mutate(twice=ibis._.n * 2))  # replace itself
        ws.replace_table("arrow", pa.table({"x": [1.5]}))

        assert ws.table("busy").to_pyarrow().to_pylist() == [{"party_id": "B", "n": 5, "twice": 10}]
        assert ws.count("arrow") == 1
        assert {"parties", "busy", "arrow"} <= set(ws.ibis.list_tables())


def test_replace_table_accepts_an_expression_over_an_in_memory_table() -> None:
    with Workspace.open(":memory:") as ws:
        weights = ibis.memtable(pa.table({"indicator": ["R1"], "weight": [0.5]}))
        ws.replace_table("weights", weights.mutate(double=weights.weight * 2))

        assert ws.table("weights").to_pyarrow().to_pylist() == [
            {"indicator": "R1", "weight": 0.5, "double": 1.0}
        ]


def test_base_tables_and_odd_names_are_refused() -> None:
    with Workspace.open(":memory:") as ws:
        with pytest.raises(ValueError, match="belongs to the workspace"):
            ws.replace_table("payments", pa.table({"x": [1]}))
        with pytest.raises(ValueError, match="not a plain table name"):
            ws.replace_table("x; DROP TABLE payments", pa.table({"x": [1]}))
        with pytest.raises(VigilError, match="no table 'absent'"):
            ws.table("absent")
        assert not ws.has_table("absent")


def test_ibis_works_after_a_partly_fetched_result() -> None:
    # DuckDB 2 keeps an execute() result open after fetchone(): Ibis must still work.
    with Workspace.open(":memory:") as ws:
        ws.replace_table("t", pa.table({"a": [1, 2, 3]}))
        ws.con.execute("SELECT * FROM t").fetchone()
        assert ws.table("t").count().to_pyarrow().as_py() == 3


def test_a_transaction_commits_all_or_nothing() -> None:
    with Workspace.open(":memory:") as ws:
        with pytest.raises(RuntimeError), ws.transaction() as con:
            con.execute("CREATE TABLE scratch AS SELECT 1 AS a")
            raise RuntimeError("stop")
        assert not ws.has_table("scratch")
        with ws.transaction() as con:
            con.execute("CREATE TABLE scratch AS SELECT 1 AS a")
        assert ws.has_table("scratch")


def test_a_file_that_is_not_a_workspace_is_an_input_error(tmp_path: Path) -> None:
    where = tmp_path / "notes.duckdb"
    where.write_text("these are not the tables you are looking for\n" * 200)

    with pytest.raises(InputError, match="cannot open workspace"):
        Workspace.open(where)


def test_a_workspace_from_a_newer_vigil_is_refused(tmp_path: Path) -> None:
    where = tmp_path / "vigil.duckdb"
    with Workspace.open(where) as ws:
        ws.meta_set("schema_version", SCHEMA_VERSION + 1)

    with pytest.raises(VigilError, match="newer than this Vigil"):
        Workspace.open(where)


def test_memory_limit_and_temp_directory_are_set_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan larger than memory spills where the operator says, within the limit given."""
    monkeypatch.setenv("VIGIL_MEMORY_LIMIT", "700MiB")
    monkeypatch.setenv("VIGIL_TEMP_DIRECTORY", str(tmp_path / "spill"))
    with Workspace.open(tmp_path / "vigil.duckdb") as ws:
        temp_directory, limit = ws.con.execute(
            "SELECT current_setting('temp_directory'), current_setting('memory_limit')"
        ).fetchall()[0]
    assert Path(temp_directory) == tmp_path / "spill"
    assert limit in {"700.0 MiB", "700 MiB", "734.0 MB"}, limit


def test_memory_limit_may_be_a_share_of_the_machine() -> None:
    from vigil.workspace.store import memory_limit

    half, tenth = memory_limit("50%"), memory_limit("10%")
    assert half is not None and tenth is not None
    assert int(half.removesuffix("MiB")) > int(tenth.removesuffix("MiB")) >= 256
    assert memory_limit(" 12GiB ") == "12GiB"


@pytest.mark.parametrize("value", ["lots", "150%", "-5GiB", "0%"])
def test_a_memory_limit_that_means_nothing_is_refused(value: str) -> None:
    from vigil.errors import ConfigError
    from vigil.workspace.store import memory_limit

    with pytest.raises(ConfigError, match="VIGIL_MEMORY_LIMIT"):
        memory_limit(value)


def test_a_temporary_table_is_dropped_and_nothing_else() -> None:
    with Workspace.open(":memory:") as ws:
        ws.replace_table("facts", pa.table({"x": [1]}), temporary=True)
        ws.replace_table("kept", pa.table({"x": [1]}))
        ws.drop_temporary("facts")
        ws.drop_temporary("kept")  # not temporary: left alone
        ws.drop_temporary("absent")
        assert not ws.con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE temporary AND table_name = 'facts'"
        ).fetchall()
        assert ws.count("kept") == 1
