"""Every record of a file is counted without the CSV parser, and accounted for."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from tests.builders import payment_row, write_payments_csv
from vigil.errors import InputError
from vigil.ingest import ingest
from vigil.ingest.records import count_records
from vigil.schema import CANONICAL_ORDER
from vigil.workspace import Workspace

HEADER = ",".join(CANONICAL_ORDER)


def line(**values: str) -> str:
    row = payment_row(**values)
    return ",".join(row[c] for c in CANONICAL_ORDER)


def test_a_stray_quote_stops_the_run_naming_its_line_instead_of_losing_rows(
    tmp_path: Path,
) -> None:
    """The issue's file: one stray quote in row 10 of many thousand rows once made the CSV
    reader skip hundreds of rows after it while reporting one quarantined row."""
    lines = [HEADER] + [line(txn_id=f"T{i}", narrative="gift") for i in range(20_000)]
    lines[10] = lines[10].replace(",gift", ',"gift')
    source = tmp_path / "p.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with Workspace.open(":memory:") as ws:
        with pytest.raises(InputError, match=r"p\.csv: line 11: a double quote opens a field"):
            ingest(ws, [source], quarantine_path=tmp_path / "q.csv")
        assert ws.count("payments") == 0
    assert not (tmp_path / "q.csv").exists()


def test_two_stray_quotes_far_apart_stop_the_run_too(tmp_path: Path) -> None:
    lines = [HEADER] + [line(txn_id=f"T{i}", narrative="gift") for i in range(500)]
    lines[10] = lines[10].replace(",gift", ',"gift')
    lines[400] = lines[400].replace(",gift", ',gift"')
    source = tmp_path / "p.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with Workspace.open(":memory:") as ws, pytest.raises(InputError, match="line 11"):
        ingest(ws, [source], quarantine_path=tmp_path / "q.csv")


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("final_newline", [True, False])
def test_records_are_counted_by_rfc_4180_not_by_lines(
    tmp_path: Path, ending: str, final_newline: bool
) -> None:
    rows = [
        line(txn_id="A"),
        "",  # a blank line is no record (the CSV reader skips it too)
        line(txn_id="B", sender_name='"Zoë' + ending + 'Line"'),  # one record on two lines
        line(txn_id="C", narrative='"say ""hi"""'),
        line(txn_id="D") + ",one field too many",
    ]
    text = ending.join([HEADER, *rows]) + (ending if final_newline else "")
    source = tmp_path / "p.csv"
    source.write_text(text, encoding="utf-8", newline="")

    counted = count_records(source)
    assert counted.records == 4
    assert counted.suspect_line is None
    with Workspace.open(":memory:") as ws:
        result = ingest(ws, [source], quarantine_path=tmp_path / "q.csv")
        assert (result.rows_read, result.rows_ingested, result.rows_quarantined) == (4, 3, 1)


def test_gzip_files_are_counted_the_same(tmp_path: Path) -> None:
    rows = [payment_row(txn_id=f"T{i}", sender_name="Zoë\nLine") for i in range(300)]
    plain = write_payments_csv(tmp_path / "p.csv", rows)
    packed = tmp_path / "p.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))

    assert count_records(packed, gzipped=True) == count_records(plain)
    assert count_records(plain).records == 300


def test_the_quarantined_record_is_not_cut(tmp_path: Path) -> None:
    long_text = "x" * 50_000
    lines = [HEADER, line(txn_id="LONG", narrative=long_text) + ",extra field", line(txn_id="OK")]
    source = tmp_path / "p.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with Workspace.open(":memory:") as ws:
        result = ingest(ws, [source], quarantine_path=tmp_path / "q.csv")
    assert (result.rows_read, result.rows_quarantined) == (2, 1)
    csv.field_size_limit(1 << 24)
    with (tmp_path / "q.csv").open(newline="", encoding="utf-8") as quarantined:
        [rejected] = list(csv.DictReader(quarantined))
    assert rejected["raw_line"] == lines[1]
