"""The cooperation package: one annex per payer country, no payer outside its annex."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.builders import payment, write_payments_csv
from vigil.cli import app
from vigil.reports.cooperation import write_cooperation_package
from vigil.scan import scan

FACILITATOR = "W1"


def _rows() -> list[dict]:
    rows = []
    payers = [("C1", "US", "Gary Holt"), ("C2", "US", "Tom Reed"), ("C3", "GB", "Neil Hart")]
    for sender, country, name in payers:
        for day in range(1, 6):
            row = payment(
                sender,
                FACILITATOR,
                f"2023-03-{day:02d}T13:15:00+00:00",
                45,
                sender_name=name,
                sender_country=country,
                beneficiary_name="Rosa Dizon",
                city="Lapu-Lapu",
            )
            row["payout_location"] = "Agent 007, Lapu-Lapu" if day % 2 else "Agent 012, Lapu-Lapu"
            row["beneficiary_phone"] = "+639171234567"
            rows.append(row)
    sister = payment(
        "C1",
        "W2",
        "2023-03-07T13:15:00+00:00",
        30,
        sender_name="Gary Holt",
        sender_country="US",
        beneficiary_name="Ana Dizon",
        city="Lapu-Lapu",
    )
    sister["beneficiary_phone"] = "+639171234567"
    return [*rows, sister]


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cooperation")
    scan([write_payments_csv(folder / "p.csv", _rows())], folder / "scan")
    out = folder / "package"
    write_cooperation_package(folder / "scan" / "vigil.duckdb", FACILITATOR, out)
    return out


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_one_annex_per_payer_country_each_naming_only_its_payers(package):
    assert sorted(p.name for p in package.glob("annex-*")) == ["annex-GB", "annex-US"]
    us = {r["payer_id"] for r in _csv(package / "annex-US" / "payers.csv")}
    gb = {r["payer_id"] for r in _csv(package / "annex-GB" / "payers.csv")}
    assert us == {"C1", "C2"} and gb == {"C3"}
    assert {r["payer_id"] for r in _csv(package / "annex-GB" / "payments.csv")} == {"C3"}
    gb_text = "".join(p.read_text() for p in (package / "annex-GB").iterdir())
    assert "Gary Holt" not in gb_text and "C1" not in gb_text.replace("C3", "")
    ftm = [json.loads(line) for line in (package / "annex-GB" / "entities.ftm.json").open()]
    names = {n for e in ftm for n in e["properties"].get("name", [])}
    assert "Neil Hart" in names and "Gary Holt" not in names and "Tom Reed" not in names


def test_the_main_package_counts_payers_per_country_and_names_none(package):
    by_country = {r["country"]: r for r in _csv(package / "payers_by_country.csv")}
    assert by_country["US"]["payers"] == "2" and by_country["GB"]["payers"] == "1"
    payments = _csv(package / "payments.csv")
    assert len(payments) == 15 and "payer_id" not in payments[0]
    main = "".join(
        (package / n).read_text() for n in ("cooperation.html", "payments.csv", "entities.ftm.json")
    )
    assert "Gary Holt" not in main and "Neil Hart" not in main
    points = {
        r["collection_point"]: int(r["payments"]) for r in _csv(package / "collection_points.csv")
    }
    assert points == {"Agent 007, Lapu-Lapu": 9, "Agent 012, Lapu-Lapu": 6}
    html = (package / "cooperation.html").read_text()
    assert "Established" in html and "Inferred" in html
    assert "W2" in html and "same phone as the facilitator" in html  # the household, inferred
    assert (package / "cooperation.pdf").read_bytes().startswith(b"%PDF")


def test_manifests_verify_the_package_and_each_annex_alone(package):
    for folder in [package, package / "annex-US", package / "annex-GB"]:
        for line in (folder / "manifest.sha256").read_text().splitlines():
            digest, name = line.split("  ", 1)
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_cli_and_a_sender_is_refused(package, tmp_path):
    workspace = package.parent / "scan" / "vigil.duckdb"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "report",
            "cooperation",
            "--workspace",
            str(workspace),
            "--party-id",
            "W1",
            "--out",
            str(tmp_path / "p"),
        ],
    )
    assert result.exit_code == 0 and "annexes for" in result.output
    refused = runner.invoke(
        app,
        [
            "report",
            "cooperation",
            "--workspace",
            str(workspace),
            "--party-id",
            "C1",
            "--out",
            str(tmp_path / "q"),
        ],
    )
    assert refused.exit_code == 2 and "made for a beneficiary" in refused.output
