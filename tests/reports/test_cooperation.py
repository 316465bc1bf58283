"""The cooperation package: one annex per payer country, no payer outside its annex."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from pypdf import PdfReader
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
    gb_text = "".join(p.read_text() for p in (package / "annex-GB").iterdir() if p.suffix != ".pdf")
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


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_each_annex_has_a_pdf_with_only_its_countrys_payers(package):
    for country in ("US", "GB"):
        assert (package / f"annex-{country}" / "annex.pdf").read_bytes().startswith(b"%PDF")
    gb = _pdf_text(package / "annex-GB" / "annex.pdf")
    # Neil Hart's payer row and his five payments, listed in the PDF as in payments.csv
    assert "Neil Hart" in gb and gb.count("C3") == 6
    assert "Gary Holt" not in gb and "Tom Reed" not in gb and "C1" not in gb.replace("C3", "")
    us = _pdf_text(package / "annex-US" / "annex.pdf")
    assert "Gary Holt" in us and "Tom Reed" in us and "Neil Hart" not in us


def test_the_pdfs_are_in_the_manifests_with_their_hashes(package):
    listed = json.loads((package / "manifest.json").read_text())["files"]
    for name in ("cooperation.pdf", "annex-US/annex.pdf", "annex-GB/annex.pdf"):
        digest = hashlib.sha256((package / name).read_bytes()).hexdigest()
        assert listed[name]["sha256"] == digest
        assert f"{digest}  {name}\n" in (package / "manifest.sha256").read_text()
    annex_pdf = (package / "annex-GB" / "annex.pdf").read_bytes()
    annex_list = (package / "annex-GB" / "manifest.sha256").read_text()
    assert f"{hashlib.sha256(annex_pdf).hexdigest()}  annex.pdf\n" in annex_list
