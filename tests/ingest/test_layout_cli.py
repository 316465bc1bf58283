"""The command line a new user meets: `vigil layout suggest`, `vigil scan` mistakes and limits."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from tests.builders import write_payments_csv
from tests.ingest.test_layout import GERMAN_ROWS, write_export
from vigil.cli import app

runner = CliRunner()


def test_layout_suggest_prints_a_layout(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.csv", GERMAN_ROWS)

    result = runner.invoke(app, ["layout", "suggest", str(export)])

    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["columns"]["sender_name"] == "Kundenname"


def test_scan_without_arguments_says_so_in_one_line() -> None:
    result = runner.invoke(app, ["scan"])

    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: missing INPUT: vigil scan INPUT... --out DIR (see --help)"
    ]


def test_scan_help_is_not_cut_at_80_columns() -> None:
    result = runner.invoke(app, ["scan", "--help"], terminal_width=80, env={"COLUMNS": "80"})

    assert result.exit_code == 0
    assert "…" not in result.stdout and "OUT/vigil.duckdb)" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_scan_of_a_latin1_export_stops_with_one_line(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.csv", GERMAN_ROWS)

    result = runner.invoke(app, ["scan", str(export), "--out", str(tmp_path / "out")])

    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")  # no blank line (or progress bar) before it
    [line] = result.stderr.strip().splitlines()
    assert "encoding: latin-1" in line


def test_scan_refuses_too_much_quarantine_unless_accepted(tmp_path: Path) -> None:
    rows = [{"txn_id": f"T{i}"} for i in range(9)] + [{"txn_id": "B1", "currency": "XYZ"}]
    source = write_payments_csv(tmp_path / "p.csv", rows)
    out = tmp_path / "out"

    refused = runner.invoke(app, ["scan", str(source), "--out", str(out)])

    assert refused.exit_code == 2 and "1 × currency: unknown currency code" in refused.stderr
    assert (out / "quarantine.csv").exists() and not (out / "alerts.csv").exists()

    accepted = runner.invoke(app, ["scan", str(source), "--out", str(out), "--accept-quarantine"])
    assert accepted.exit_code == 0, accepted.output
    assert "9 ingested, 1 quarantined" in accepted.stdout
