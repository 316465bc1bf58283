"""FIU mode: payments from several reporting institutions, each with its own customer ids."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tests.builders import payment, write_payments_csv
from vigil.cli import app
from vigil.errors import InputError
from vigil.evaluation import evaluate
from vigil.scan import scan
from vigil.workspace import Workspace

runner = CliRunner()


def _bank_files(tmp_path: Path) -> tuple[Path, Path]:
    """Two banks that both have a customer 1001: different people paying different wallets."""
    bank_a = write_payments_csv(
        tmp_path / "bank_a.csv",
        [
            payment("1001", "W-ROSA", "2024-03-01T10:00:00+00:00", sender_name="Gary Oldman"),
            payment("1002", "W-ROSA", "2024-03-02T10:00:00+00:00", sender_name="Tom Baker"),
        ],
    )
    bank_b = write_payments_csv(
        tmp_path / "bank_b.csv",
        [payment("1001", "W-ROSA", "2024-03-03T10:00:00+00:00", sender_name="Peter Quill")],
    )
    return bank_a, bank_b


def _alerts(out: Path) -> pl.DataFrame:
    return pl.read_csv(out / "alerts.csv", infer_schema=False)


def test_the_same_customer_id_at_two_reporters_is_two_senders(tmp_path: Path) -> None:
    bank_a, bank_b = _bank_files(tmp_path)
    scan([bank_a, bank_b], tmp_path / "out", reporters=["Bank A", "Bank B"])
    senders = _alerts(tmp_path / "out").filter(pl.col("party_kind") == "sender")
    assert sorted(zip(senders["reporter"], senders["party_id"], senders["name"], strict=True)) == [
        ("Bank A", "1001", "Gary Oldman"),
        ("Bank A", "1002", "Tom Baker"),
        ("Bank B", "1001", "Peter Quill"),
    ]
    beneficiaries = _alerts(tmp_path / "out").filter(pl.col("party_kind") == "beneficiary")
    # one wallet, whoever reports its payers; no reporter on a beneficiary
    assert beneficiaries["party_id"].to_list() == ["W-ROSA"]
    assert beneficiaries["payments"].to_list() == ["3"]
    assert beneficiaries["reporter"].fill_null("").to_list() == [""]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["reporters"] == {
        "Bank A": {"senders": 2, "payments": 2},
        "Bank B": {"senders": 1, "payments": 1},
    }
    with Workspace.open(tmp_path / "out" / "vigil.duckdb") as ws:
        entities = ws.con.execute(
            "SELECT count(DISTINCT entity_id) FROM sender_entities"
        ).fetchall()[0][0]
    assert entities == 3  # names far apart: resolution keeps the two 1001s apart


def test_a_reporter_column_in_the_file_keys_senders_like_the_flag(tmp_path: Path) -> None:
    rows = [
        {**payment("1001", "W1", "2024-03-01T10:00:00+00:00"), "reporter": "Bank A"},
        {**payment("1001", "W1", "2024-03-02T10:00:00+00:00"), "reporter": "Bank B"},
    ]
    source = write_payments_csv(tmp_path / "fiu.csv", rows)
    scan([source], tmp_path / "out")
    senders = _alerts(tmp_path / "out").filter(pl.col("party_kind") == "sender")
    assert sorted(senders["reporter"]) == ["Bank A", "Bank B"]
    assert set(senders["party_id"]) == {"1001"}


def test_a_flag_fills_empty_reporter_cells_and_a_different_one_is_an_error(
    tmp_path: Path,
) -> None:
    rows = [
        {**payment("1001", "W1", "2024-03-01T10:00:00+00:00"), "reporter": ""},
        {**payment("1002", "W1", "2024-03-02T10:00:00+00:00"), "reporter": "Bank A"},
    ]
    source = write_payments_csv(tmp_path / "a.csv", rows)
    scan([source], tmp_path / "ok", reporters=["Bank A"])
    assert set(_alerts(tmp_path / "ok").filter(pl.col("party_kind") == "sender")["reporter"]) == {
        "Bank A"
    }
    with pytest.raises(InputError, match=r"a\.csv: row 2, column 'reporter': 'Bank A' differs"):
        scan([source], tmp_path / "bad", reporters=["Bank B"])


def test_without_a_reporter_alerts_keep_their_columns(tmp_path: Path) -> None:
    bank_a, _ = _bank_files(tmp_path)
    scan([bank_a], tmp_path / "out")
    header = (tmp_path / "out" / "alerts.csv").read_text().splitlines()[0]
    assert header.split(",")[:5] == ["party_kind", "party_id", "score", "rank", "indicators"]
    assert "reporter" not in header
    assert "reporters" not in json.loads((tmp_path / "out" / "summary.json").read_text())


def test_an_empty_reporter_column_changes_no_byte_of_the_alerts(tmp_path: Path) -> None:
    rows = [
        payment(f"S{i}", f"W{i % 3}", f"2024-03-{1 + i:02d}T10:00:00+00:00", 30 + i)
        for i in range(12)
    ]
    columns = [c for c in rows[0]]
    plain = write_payments_csv(tmp_path / "plain.csv", rows, columns=columns)
    with_column = write_payments_csv(tmp_path / "column.csv", rows, columns=[*columns, "reporter"])
    scan([plain], tmp_path / "plain")
    scan([with_column], tmp_path / "column")
    for name in ("alerts.csv", "alerts.json"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "column" / name).read_bytes()


def test_scan_cli_pairs_each_reporter_with_its_input(tmp_path: Path) -> None:
    bank_a, bank_b = _bank_files(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            *("scan", str(bank_a), "--reporter", "Bank A"),
            *(str(bank_b), "--reporter", "Bank B", "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    senders = _alerts(out).filter(pl.col("party_kind") == "sender")
    assert ("Bank B", "Peter Quill") in set(zip(senders["reporter"], senders["name"], strict=True))


@pytest.mark.parametrize(
    ("reporters", "message"),
    [
        (["Bank A"], "2 inputs and 1 --reporter"),
        (["A", "B", "C"], "2 inputs and 3 --reporter"),
        (["Bank:A", "B"], "contains ':'"),
    ],
)
def test_scan_cli_refuses_reporters_it_cannot_pair(
    tmp_path: Path, reporters: list[str], message: str
) -> None:
    bank_a, bank_b = _bank_files(tmp_path)
    flags = [part for reporter in reporters for part in ("--reporter", reporter)]
    result = runner.invoke(
        app, ["scan", str(bank_a), str(bank_b), *flags, "--out", str(tmp_path / "out")]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_evaluate_matches_labels_on_reporter_and_sender_id(tmp_path: Path) -> None:
    bank_a, bank_b = _bank_files(tmp_path)
    scan([bank_a, bank_b], tmp_path / "out", reporters=["Bank A", "Bank B"])
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "party_kind,party_id,role,reporter\n"
        "sender,1001,offender,Bank B\n"
        "sender,1001,family_support,Bank A\n"
        "sender,1002,family_support,Bank A\n"
        "beneficiary,W-ROSA,facilitator,\n"
    )
    report = evaluate(tmp_path / "out" / "alerts.csv", labels)
    senders = report.kinds["sender"]
    assert (senders.parties, senders.positives, senders.missing_from_alerts) == (3, 1, 0)
    assert report.kinds["beneficiary"].positives == 1

    plain = tmp_path / "plain_labels.csv"
    plain.write_text("party_kind,party_id,role\nsender,1001,offender\n")
    with pytest.raises(InputError, match="has no 'reporter' column"):
        evaluate(tmp_path / "out" / "alerts.csv", plain)
