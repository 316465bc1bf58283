"""The FIU's pooled scan evaluates the senders' cross-institution indicator (N6) itself: a
customer of one institution is told of suspicious co-payers at the others, as `vigil share
import` would tell it; an institution's own scan has no such figures."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from vigil.scan import scan
from vigil.synth import generate
from vigil.synth.institutions import institution_names


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fiu-pooled")
    generate(root / "data", senders=600, seed=5, institutions=2)
    names = institution_names(2)
    files = [root / "data" / "institutions" / name / "transactions.csv" for name in names]
    scan(files, root / "pooled", reporters=names)
    scan([files[0]], root / "own")
    return {"pooled": root / "pooled", "own": root / "own"}


def _with_indicator(folder: Path, indicator: str) -> pl.DataFrame:
    alerts = pl.read_csv(folder / "alerts.csv", infer_schema=False)
    return alerts.filter(pl.col("indicators").str.split(";").list.contains(indicator))


def test_the_pooled_scan_tells_senders_of_suspicious_co_payers_at_other_reporters(
    scans: dict[str, Path],
) -> None:
    told = _with_indicator(scans["pooled"], "N6")
    assert told.height > 0
    assert set(told["party_kind"]) == {"sender"}  # the beneficiaries' N6 is the share arm's
    keys = [f"{r}:{p}" for r, p in zip(told["reporter"], told["party_id"], strict=True)]
    with duckdb.connect(str(scans["pooled"] / "vigil.duckdb"), read_only=True) as con:
        # Each one pays, in a high-risk country and outside its family, someone whom a
        # suspicious sender at another reporter pays too (not one of its own ids).
        confirmed = con.execute(
            """
            SELECT count(DISTINCT own.sender_id)
            FROM pair_features own
            JOIN pair_features other ON other.beneficiary_entity = own.beneficiary_entity
                AND other.sender_entity <> own.sender_entity AND NOT other.related
            JOIN sender_scores s ON s.party_id = other.sender_id AND s.score >= 0.5
            JOIN (SELECT DISTINCT sender_id, reporter FROM payments) mine
                ON mine.sender_id = own.sender_id
            JOIN (SELECT DISTINCT sender_id, reporter FROM payments) theirs
                ON theirs.sender_id = other.sender_id AND theirs.reporter <> mine.reporter
            WHERE own.hr AND NOT own.related AND list_contains(?, own.sender_id)
            """,
            [keys],
        ).fetchall()[0][0]
    assert confirmed == len(keys)


def test_an_institutions_own_scan_has_no_cross_institution_figures(
    scans: dict[str, Path],
) -> None:
    assert _with_indicator(scans["own"], "N6").height == 0
