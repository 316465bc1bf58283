"""Values that once crashed a scan or poisoned a workspace: impossible years, control bytes,
ids padded with spaces or thousands of characters long, a file with no valid row."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from tests.builders import payment_row, write_payments_csv
from vigil.ingest import ingest
from vigil.ingest.validate import MAX_ID_LENGTH, TimeRange
from vigil.scan import scan
from vigil.workspace import Workspace


def quarantined(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as rows:
        return {row["txn_id"]: row for row in csv.DictReader(rows)}


def load(tmp_path: Path, rows: list[dict[str, str]], **options: object):
    source = write_payments_csv(tmp_path / "p.csv", rows)
    ws = Workspace.open(":memory:")
    result = ingest(ws, [source], quarantine_path=tmp_path / "q.csv", **options)  # type: ignore[arg-type]
    assert result.rows_read == result.rows_ingested + result.rows_quarantined
    return ws, result, quarantined(tmp_path / "q.csv")


def test_timestamps_outside_the_plausible_range_are_quarantined(tmp_path: Path) -> None:
    rows = [
        {"txn_id": "Y0001", "ts": "0001-01-01T00:00:00+00:00"},
        {"txn_id": "Y1000", "ts": "1000-06-01T12:00:00+00:00"},
        {"txn_id": "Y9990", "ts": "9990-06-01T12:00:00+00:00"},
        {"txn_id": "Y9999", "ts": "9999-12-31T23:30:00-05:00"},  # year 10000 in UTC
        {"txn_id": "OK", "ts": "2024-03-01T21:00:00+01:00"},
    ]
    _ws, result, bad = load(tmp_path, rows)

    assert result.rows_ingested == 1
    assert set(bad) == {"Y0001", "Y1000", "Y9990", "Y9999"}
    for row in bad.values():
        assert row["column"] == "ts"
        assert "outside the plausible range" in row["reason"]


def test_the_plausible_range_defaults_to_thirty_years_back_to_tomorrow() -> None:
    default = TimeRange.default(today=date(2026, 12, 2))
    assert (default.earliest, default.latest) == (date(1996, 12, 2), date(2026, 12, 3))


def test_the_plausible_range_is_configurable(tmp_path: Path) -> None:
    rows = [
        {"txn_id": "OLD", "ts": "1980-01-01T10:00:00Z"},
        {"txn_id": "NEW", "ts": "2024-01-01T10:00:00Z"},
    ]
    window = TimeRange(date(1970, 1, 1), date(2000, 1, 1))
    _ws, _result, bad = load(tmp_path, rows, time_range=window)

    assert set(bad) == {"NEW"}
    assert "1970-01-01 to 2000-01-01" in bad["NEW"]["reason"]


@pytest.mark.parametrize("column", ["txn_id", "sender_id", "sender_name", "narrative"])
@pytest.mark.parametrize("byte", ["\x00", "\x07", "\x1b", "\x7f"])
def test_control_bytes_in_a_text_field_are_quarantined(
    tmp_path: Path, column: str, byte: str
) -> None:
    value = {"txn_id": "T1", "sender_id": "C1", "sender_name": "Al Ba", "narrative": "gift"}
    value[column] = value[column][:1] + byte + value[column][1:]
    _ws, result, bad = load(tmp_path, [{"txn_id": "T1", **value}, {"txn_id": "T2"}])

    assert result.rows_ingested == 1
    (row,) = bad.values()
    assert row["column"] == column
    assert "control character" in row["reason"]


def test_a_line_break_in_a_name_is_kept_but_not_in_an_id(tmp_path: Path) -> None:
    rows = [
        {"txn_id": "T1", "sender_name": "Zoë\nLine"},
        {"txn_id": "T2", "beneficiary_id": "W\n1"},
    ]
    _ws, _result, bad = load(tmp_path, rows)

    assert set(bad) == {"T2"}
    assert bad["T2"]["column"] == "beneficiary_id"


def test_ids_are_trimmed_so_padding_does_not_make_another_party(tmp_path: Path) -> None:
    rows = [
        {"txn_id": "T1", "sender_id": "C1", "beneficiary_id": "W1"},
        {"txn_id": " T2\t", "sender_id": "  C1 ", "beneficiary_id": "W1  "},
    ]
    ws, _result, bad = load(tmp_path, rows)

    assert not bad
    parties = ws.con.execute(
        "SELECT DISTINCT txn_id, sender_id, beneficiary_id FROM payments ORDER BY txn_id"
    ).fetchall()
    assert parties == [("T1", "C1", "W1"), ("T2", "C1", "W1")]


def test_overlong_ids_are_quarantined(tmp_path: Path) -> None:
    rows = [
        {"txn_id": "T1", "sender_id": "C" * 100_000},
        {"txn_id": "T2", "beneficiary_id": "W" * (MAX_ID_LENGTH + 1)},
        {"txn_id": "T3", "beneficiary_id": "W" * MAX_ID_LENGTH},
    ]
    _ws, _result, bad = load(tmp_path, rows)

    assert set(bad) == {"T1", "T2"}
    assert bad["T1"]["column"] == "sender_id"
    assert f"longer than {MAX_ID_LENGTH} characters" in bad["T2"]["reason"]


def test_a_scan_of_a_file_without_a_valid_row_writes_empty_alerts(tmp_path: Path) -> None:
    rows = [
        payment_row(txn_id="T1", ts="0000-01-01T00:00:00Z"),
        payment_row(txn_id="T2", amount="-1"),
    ]
    source = write_payments_csv(tmp_path / "bad.csv", rows)

    # Every row quarantined is past any quarantine limit: accept it to see what follows.
    result = scan([source], tmp_path / "out", max_quarantine_share=None)

    with (tmp_path / "out" / "alerts.csv").open(newline="") as alerts:
        reader = csv.reader(alerts)
        assert next(reader)[:5] == ["party_kind", "party_id", "score", "rank", "indicators"]
        assert list(reader) == []
    assert json.loads((tmp_path / "out" / "alerts.json").read_text()) == []
    assert result.summary["rows_quarantined"] == 2
    assert "no valid payment" in result.summary["message"]


def test_a_workspace_with_an_out_of_range_row_can_be_scanned_again(tmp_path: Path) -> None:
    """The row that once crashed every later scan of its workspace never gets in."""
    rows = [payment_row(txn_id="T1"), payment_row(txn_id="T2", ts="9999-01-01T00:00:00Z")]
    first = write_payments_csv(tmp_path / "a.csv", rows)
    scan([first], tmp_path / "out", max_quarantine_share=None)
    second = write_payments_csv(tmp_path / "b.csv", [payment_row(txn_id="T3")])

    result = scan([second], tmp_path / "out")

    assert result.summary["rows_ingested"] == 1
    with Workspace.open(tmp_path / "out" / "vigil.duckdb") as ws:
        assert ws.count("payments") == 2
