"""Victim-location leads on a generated population: the planted facilitators' places first."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.reports.leads import write_leads
from vigil.reports.places import city_coordinates
from vigil.scan import scan
from vigil.synth import generate
from vigil.workspace import Workspace


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("leads")
    made = generate(folder / "data", senders=1000, seed=3)
    scan([made.transactions], folder / "scan")
    return folder / "data", folder / "scan" / "vigil.duckdb"


def _truth(data: Path) -> pl.DataFrame:
    """Payments to the generator's facilitators, with their households."""
    payments = pl.read_csv(data / "transactions.csv", infer_schema=False)
    parties = pl.read_csv(data / "parties.csv", infer_schema=False)
    facilitators = parties.filter(pl.col("role") == "facilitator")
    return payments.join(facilitators, left_on="beneficiary_id", right_on="party_id")


def test_collection_points_of_facilitator_households_rank_first(population, tmp_path):
    data, workspace = population
    result = write_leads(workspace, tmp_path / "leads")
    truth = _truth(data)
    facilitator_points = set(truth["payout_location"].drop_nulls().to_list())
    points = result.places.filter(pl.col("level") == "collection point").sort("rank_by_households")
    # the points where a flagged household collects come first, and every one of them is a
    # planted facilitator's (how many depends on the population: at least five here)
    flagged = points.filter(pl.col("facilitator_households") >= 1)
    assert flagged.height >= 5, flagged
    top = points.head(flagged.height)
    assert all(top["facilitator_households"] >= 1)
    assert all(place in facilitator_points for place in top["place"].to_list()), top["place"]
    # each of those is a routine of a household: evidence names the beneficiaries
    assert all("score" in e for e in top["evidence"].to_list())


def test_every_facilitator_city_is_a_lead_with_coordinates(population, tmp_path):
    data, workspace = population
    result = write_leads(workspace, tmp_path / "leads")
    cities = result.places.filter(pl.col("level") == "city")
    with Workspace.open(workspace, read_only=True) as ws:
        flagged = [
            r[0]
            for r in ws.con.execute(
                "SELECT party_id FROM beneficiary_scores WHERE score >= ?", [result.threshold]
            ).fetchall()
        ]
    # the facilitators the scan flags: leads start from scores, not from the ground truth
    truth = (
        _truth(data)
        .filter(pl.col("beneficiary_id").is_in(flagged))
        .group_by("beneficiary_city")
        .agg(pl.col("household_id").n_unique())
    )
    assert truth.height >= 3
    ranked = dict(
        zip(cities["place"].to_list(), cities["rank_by_households"].to_list(), strict=True)
    )
    assert set(truth["beneficiary_city"].to_list()) <= set(ranked)
    busiest = truth.sort("household_id", descending=True)["beneficiary_city"][0]
    assert ranked[busiest] <= 3
    manila = cities.filter(pl.col("country") == "PH").drop_nulls("latitude")
    assert manila.height and manila["latitude"].is_between(4, 21).all()
    assert result.map.read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "leads" / "leads.csv").read_text().startswith("level,place,city,country")


def test_offline_coordinates():
    lat, lon = city_coordinates("PH", "Lapu-Lapu")  # GeoNames spells it "Lapu-Lapu City"
    assert 10 < lat < 10.5 and 123.8 < lon < 124.1
    assert city_coordinates("PH", "Nowhere Town") is None


def test_cli(population, tmp_path):
    _, workspace = population
    runner = CliRunner()
    done = runner.invoke(
        app, ["leads", "--workspace", str(workspace), "--out", str(tmp_path / "l")]
    )
    assert done.exit_code == 0 and "places ranked" in done.output
    none = runner.invoke(
        app,
        [
            "leads",
            "--workspace",
            str(workspace),
            "--out",
            str(tmp_path / "m"),
            "--min-score",
            "1.01",
        ],
    )
    assert none.exit_code == 2 and "no place to rank" in none.output
