"""`vigil scan --engine spark`: the same stages on Spark (local mode) give the same parties,
scores and alerts as on DuckDB, and the workspace it leaves serves the web app and reports."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from vigil.pipeline.parity import compare_scans
from vigil.scan import scan
from vigil.synth.generate import generate
from vigil.workspace import Workspace
from vigil.workspace.spark import SparkOptions, java_available

pytestmark = [
    pytest.mark.skipif(
        not java_available(), reason="no Java 17+ (JAVA_HOME or java on PATH): Spark needs a JVM"
    ),
    pytest.mark.slow,  # a Spark session and two scans: about two minutes on two cores
]

# One local session for the test process: two cores, few shuffle partitions for tiny data.
SPARK = SparkOptions("local[2]", {"spark.sql.shuffle.partitions": "2"})


def _watchlist(population: Path, out: Path) -> Path:
    """One beneficiary of the population listed by id, so the watchlist joins run too."""
    with (population / "transactions.csv").open(newline="") as f:
        first = next(csv.DictReader(f))
    out.write_text(
        "kind,id,name,country,source\n"
        f"beneficiary,{first['beneficiary_id']},,{first['beneficiary_country']},test list\n"
    )
    return out


def test_spark_scores_every_party_as_duckdb_does(tmp_path: Path) -> None:
    population = tmp_path / "population"
    generate(population, senders=150, seed=5)
    payments = [population / "transactions.csv"]
    watchlist = _watchlist(population, tmp_path / "watchlist.csv")

    on_duckdb = scan(payments, tmp_path / "duckdb", watchlist=watchlist)
    on_spark = scan(payments, tmp_path / "spark", watchlist=watchlist, engine="spark", spark=SPARK)

    parity = compare_scans(on_duckdb.out, on_spark.out)
    for kind, figures in parity.kinds.items():
        assert figures.parties > 0, kind
        assert figures.only_first == figures.only_second == 0, kind
        assert figures.max_score_difference <= 1e-6, kind
        assert figures.fired_differences == 0, kind
        assert figures.rank_differences == 0, kind  # no near-ties in this population
    assert parity.alerts_rows == sum(k.parties for k in parity.kinds.values())
    assert parity.alerts_differences == 0
    assert parity.same
    assert on_spark.summary["engine"] == "spark"
    assert on_spark.summary["parties"] == on_duckdb.summary["parties"]

    # The Spark workspace: a Parquet folder per table, and the DuckDB file the web app reads
    # holding the same tables as real tables (not views over the Parquet files).
    tables = Path(on_spark.summary["workspace"] + ".spark")
    assert (tables / "sender_scores").is_dir() and (tables / "pair_features").is_dir()
    assert not (tables / "payment_facts").exists()  # the stage's temporary table
    with Workspace.open(on_spark.summary["workspace"], read_only=True) as ws:
        assert not ws.scan_incomplete
        views = ws.con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal")
        assert views.fetchall()[0][0] == 0
        assert ws.count("watchlist_matches") >= 1
        rank = ws.con.execute(
            "SELECT column_type FROM (DESCRIBE sender_scores) WHERE column_name = 'rank'"
        ).fetchall()
        assert rank == [("BIGINT",)]
