"""Backtesting: recall against alert budget for several rankings of one labelled dataset."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.errors import InputError
from vigil.evaluation.backtest import backtest, backtest_tables

# 200 senders; offenders s0..s9. 'sharp' ranks them first; 'blunt' puts every other one
# behind 40 ordinary senders; 'partial' never alerts s9 at all.
SENDERS = [f"s{i}" for i in range(200)]
OFFENDERS = SENDERS[:10]


def labels_frame() -> pl.DataFrame:
    rows = [("sender", s, "offender" if s in OFFENDERS else "occasional") for s in SENDERS]
    rows += [("beneficiary", "b0", "facilitator"), ("beneficiary", "b1", "family")]
    return pl.DataFrame(rows, schema=["party_kind", "party_id", "role"], orient="row")


def alerts_frame(order: list[str]) -> pl.DataFrame:
    n = len(order)
    rows = [("sender", p, (n - i) / n, i + 1) for i, p in enumerate(order)]
    rows += [("beneficiary", "b0", 0.9, 1), ("beneficiary", "b1", 0.1, 2)]
    return pl.DataFrame(rows, schema=["party_kind", "party_id", "score", "rank"], orient="row")


def orders() -> dict[str, list[str]]:
    ordinary = SENDERS[10:]
    blunt = OFFENDERS[::2] + ordinary[:40] + OFFENDERS[1::2] + ordinary[40:]
    partial = OFFENDERS[:9] + ordinary
    return {"sharp": SENDERS, "blunt": blunt, "partial": partial}


def write_files(tmp_path: Path) -> tuple[Path, list[Path]]:
    labels = tmp_path / "labels.csv"
    labels_frame().write_csv(labels)
    paths = []
    for name, order in orders().items():
        path = tmp_path / f"{name}.csv"
        alerts_frame(order).with_columns(indicators=pl.lit("")).write_csv(path)
        paths.append(path)
    return labels, paths


def test_budget_needed_for_the_target_recall():
    rankings = {name: alerts_frame(order) for name, order in orders().items()}
    curves = {
        (c.name, c.kind): c for c in backtest_tables(labels_frame(), rankings, target_recall=0.8)
    }
    sharp, blunt, partial = (curves[(n, "sender")] for n in ("sharp", "blunt", "partial"))
    assert sharp.positives == blunt.positives == 10
    assert sharp.alerts_for_target == 8 and sharp.budget_for_target == pytest.approx(0.04)
    # Five offenders, forty others, then offenders 6, 7, 8: the eighth is at position 48.
    assert blunt.alerts_for_target == 48
    assert sharp.recall_at(0.05) == 1.0 and blunt.recall_at(0.05) == 0.5
    assert partial.positives == 10 and partial.recall[-1] == pytest.approx(0.9)
    assert partial.alerts_for_target == 8
    full = backtest_tables(labels_frame(), {"partial": rankings["partial"]}, target_recall=1.0)
    assert full[0].alerts_for_target is None  # s9 is never alerted
    assert curves[("sharp", "beneficiary")].alerts_for_target == 1


def test_backtest_writes_chart_and_figures(tmp_path: Path):
    labels, paths = write_files(tmp_path)
    result = backtest(labels, paths, target_recall=0.8, out=tmp_path / "out")
    assert result.chart is not None and result.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.chart.stat().st_size > 10_000
    figures = json.loads((tmp_path / "out" / "backtest.json").read_text())
    by_name = {(r["ranking"], r["party_kind"]): r for r in figures["rankings"]}
    assert by_name[("blunt", "sender")]["alerts_for_target"] == 48
    assert by_name[("sharp", "sender")]["average_precision"] == pytest.approx(1.0)


def test_backtest_command_prints_a_table_per_party_kind(tmp_path: Path):
    labels, paths = write_files(tmp_path)
    args = ["backtest", "--labels", str(labels), "--target-recall", "0.8"]
    for path, name in zip(paths, ("expert", "model", "baseline"), strict=True):
        args += ["--alerts", str(path), "--name", name]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "senders" in result.output and "beneficiaries" in result.output
    assert "expert" in result.output and "baseline" in result.output
    assert "48 (24.00%)" in result.output  # the blunt ranking, named 'model' here
    assert (tmp_path / "out" / "backtest.png").is_file()


def test_names_must_match_the_alerts_files(tmp_path: Path):
    labels, paths = write_files(tmp_path)
    with pytest.raises(InputError, match="one --name per --alerts"):
        backtest(labels, paths, names=["only one"])
    result = CliRunner().invoke(
        app, ["backtest", "--labels", str(labels), "--alerts", str(tmp_path / "missing.csv")]
    )
    assert result.exit_code == 2 and "no such file" in result.output
