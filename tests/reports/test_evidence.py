"""The evidence package: figures an investigator can check by hand, a PDF that renders, a
manifest that verifies, a payment list that is safe to open in a spreadsheet."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from tests.builders import payment
from vigil.cli import app
from vigil.reports import evidence
from vigil.reports.evidence import EvidencePackage, evidence_figures, write_evidence_package
from vigil.reports.party import load_party
from vigil.reports.safe_csv import safe_cell, write_safe_csv
from vigil.reports.sources import load_sources, source_reference

SENDER = "SND-0042"
EVIL_NAME = '=HYPERLINK("http://evil.example","x")'
# EUR in USD at the bundled yearly averages: 2023 1.0813, 2024 1.0824
EUR_2023, EUR_2024 = 1.0813, 1.0824


def _pay(beneficiary: str, when: datetime, amount: float, currency: str = "USD") -> dict:
    """A payment by the New York sender (UTC-5) to a beneficiary in the Philippines."""
    return payment(
        SENDER,
        beneficiary,
        when,
        amount,
        sender_name="Gary Hollis",
        beneficiary_name=EVIL_NAME if beneficiary == "BEN-2" else "Rosa Dizon",
        currency=currency,
        offset="-05:00",
    )


def _rows() -> list[dict]:
    """One sender paying two beneficiaries in 2023 and 2024, in USD and EUR, evenings in
    New York; four small payments in ten days of October 2023 (R1). A second sender pays
    BEN-1 once: a co-payer."""
    return [
        _pay("BEN-1", datetime(2023, 3, 1, 22, 0), 40),
        _pay("BEN-2", datetime(2023, 6, 1, 23, 0), 100, "EUR"),
        *(_pay("BEN-1", datetime(2023, 10, day, 21, 0), 25) for day in (2, 5, 9, 12)),
        _pay("BEN-2", datetime(2024, 2, 10, 22, 0), 200, "EUR"),
        _pay("BEN-1", datetime(2024, 3, 15, 20, 0), 75),
        payment("SND-0077", "BEN-1", datetime(2024, 1, 1, 12, 0), 30, sender_name="Ian Cole"),
    ]


# hand-computed from _rows(): amounts in USD
Y2023 = 40 + 100 * EUR_2023 + 4 * 25  # 248.13
Y2024 = 200 * EUR_2024 + 75  # 291.48
TOTAL = Y2023 + Y2024  # 539.61


@pytest.fixture
def workspace(run_scan) -> Path:
    return run_scan(_rows()).out / "vigil.duckdb"


@pytest.fixture
def package(workspace: Path, tmp_path: Path) -> EvidencePackage:
    return write_evidence_package(workspace, SENDER, tmp_path / "evidence", party_kind=None)


def test_figures_match_hand_computed_totals(workspace: Path) -> None:
    summary = evidence_figures(load_party(workspace, SENDER)).summary()

    assert summary["party_kind"] == "sender"
    assert summary["payments"] == 8
    assert summary["counterparties"] == 2
    assert summary["co_parties"] == 1
    assert summary["total_reporting"] == pytest.approx(TOTAL)
    assert summary["per_year"] == {
        2023: {"payments": 6, "amount": pytest.approx(Y2023)},
        2024: {"payments": 2, "amount": pytest.approx(Y2024)},
    }
    assert summary["per_counterparty"] == {
        "BEN-1": {"payments": 6, "amount": pytest.approx(215.00)},
        "BEN-2": {"payments": 2, "amount": pytest.approx(324.61)},
    }
    assert summary["per_currency"]["USD"]["payments"] == 6
    assert summary["per_currency"]["USD"]["amount"] == Decimal("215")
    assert summary["per_currency"]["EUR"]["payments"] == 2
    assert summary["per_currency"]["EUR"]["amount"] == Decimal("300")
    assert summary["per_currency"]["EUR"]["amount_reporting"] == pytest.approx(324.61)
    # 22:00 New York on 1 March is 03:00 UTC on 2 March; 20:00 on 15 March is 01:00 on 16th
    assert summary["first_payment_utc"] == datetime(2023, 3, 2, 3, 0)
    assert summary["last_payment_utc"] == datetime(2024, 3, 16, 1, 0)
    assert "R1" in summary["indicators"]


def test_hours_of_day_in_both_time_zones(workspace: Path) -> None:
    figures = evidence_figures(load_party(workspace, SENDER))

    def hours(frame: pl.DataFrame) -> dict[int, int]:
        return dict(frame.select("hour", "payments").iter_rows())

    # evenings in New York (UTC-5) ...
    assert hours(figures.hours_sender) == {20: 1, 21: 4, 22: 2, 23: 1}
    # ... are late mornings in Manila (UTC+8)
    assert hours(figures.hours_beneficiary) == {9: 1, 10: 4, 11: 2, 12: 1}


def test_html_states_the_figures_and_sources(package: EvidencePackage) -> None:
    html = (package.out / "evidence.html").read_text()

    assert package.summary["payments"] == 8
    for figure in ("539.61", "248.13", "291.48", "215.00", "324.61", "300.00 EUR"):
        assert figure in html, figure
    assert "2023-03-02 03:00:00 UTC" in html
    assert "2024-03-16 01:00:00 UTC" in html
    assert "SND-0077" in html  # the co-payer
    # R1's published sources, in full
    s2 = source_reference("S2")
    assert s2["title"] in html
    assert s2["url"] in html
    # names are escaped, never markup
    assert "=HYPERLINK(&#34;http://evil.example&#34;" in html or "=HYPERLINK(&quot;" in html
    for chart in ("timeline", "hours_sender", "hours_beneficiary", "network"):
        assert f'src="charts/{chart}.png"' in html
        assert (package.out / "charts" / f"{chart}.png").stat().st_size > 1000


def test_pdf_renders_with_extractable_text(package: EvidencePackage) -> None:
    reader = PdfReader(package.out / "evidence.pdf")

    assert len(reader.pages) > 0
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert SENDER in text
    assert "539.61" in text


def test_the_pdf_prints_the_first_and_last_payments_and_counts_them_all(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a PDF that lists 4 rows of 8 payments, as one of 1,771 lists 200
    monkeypatch.setattr(evidence, "PDF_ROWS_MAX", 4)
    package = write_evidence_package(workspace, SENDER, tmp_path / "cut")
    txn_ids = pl.read_csv(package.out / "payments.csv", infer_schema=False)["txn_id"].to_list()
    pdf = " ".join(
        page.extract_text() for page in PdfReader(package.out / "evidence.pdf").pages
    ).replace("\n", " ")
    html = (package.out / "evidence.html").read_text()

    assert len(txn_ids) == 8  # payments.csv and evidence.html keep every payment
    assert all(t in html for t in txn_ids)
    assert "payments-cut" not in html
    shown = [t for t in txn_ids if t in pdf]
    assert shown == [*txn_ids[:2], *txn_ids[-2:]]
    assert "Payments #3 to #6 (4) are not printed" in pdf
    # the figures still count every payment
    assert "539.61" in pdf and "248.13" in pdf and "291.48" in pdf
    assert "the first and last 4 of 8 payments" in pdf


def test_the_pdf_timeline_keeps_every_linked_row() -> None:
    rows = [{"n": i, "linked": i in (4, 5, 6)} for i in range(10)]

    kept = [r["n"] for r in evidence._timeline_rows(rows, 5)]

    assert kept == [0, 4, 5, 6, 9]
    assert evidence._timeline_rows(rows, None) == rows
    assert [r["n"] for r in evidence._timeline_rows(rows, 2)] == [4, 5, 6]


def test_manifest_hashes_match_the_files(package: EvidencePackage) -> None:
    out = package.out
    manifest = json.loads((out / "manifest.json").read_text())

    assert manifest["party"] == {"kind": "sender", "party_id": SENDER}
    assert manifest["generated_at"].endswith("Z")
    assert set(manifest["files"]) == {
        "evidence.html",
        "evidence.pdf",
        "payments.csv",
        "charts/timeline.png",
        "charts/hours_sender.png",
        "charts/hours_beneficiary.png",
        "charts/network.png",
    }
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert entry["size"] == len(data)
    assert set(package.files) == {out / n for n in manifest["files"]} | {
        out / "manifest.json",
        out / "manifest.sha256",
    }
    check = subprocess.run(
        ["sha256sum", "-c", "manifest.sha256"], cwd=out, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 8


def test_payments_csv_neutralises_formulas(package: EvidencePackage) -> None:
    rows = pl.read_csv(package.out / "payments.csv", infer_schema=False)

    assert rows.height == 8
    names = set(rows["beneficiary_name"])
    assert "'" + EVIL_NAME in names
    assert EVIL_NAME not in names
    assert "Rosa Dizon" in names


def test_safe_cell_quotes_every_formula_start(tmp_path: Path) -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(start + "1+1") == "'" + start + "1+1"
    assert safe_cell("a=b") == "a=b"
    assert safe_cell(-5) == "-5"  # a number is not a formula
    assert safe_cell(None) == ""
    path = write_safe_csv(
        pl.DataFrame({"name": ["@SUM(A1)", "ok"], "n": [-1, 2]}), tmp_path / "x.csv"
    )
    assert path.read_text().splitlines() == ["name,n", "'@SUM(A1),-1", "ok,2"]


def test_sources_cover_the_research_table() -> None:
    sources = load_sources()

    assert list(sources) == [f"S{i}" for i in range(1, 44)]
    assert source_reference("S3")["publisher"] == "AUSTRAC"
    assert all(s.url.startswith("http") for s in sources.values())


def test_cli_writes_the_package(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-evidence"
    result = CliRunner().invoke(
        app,
        [
            "report",
            "evidence",
            "--workspace",
            str(workspace),
            "--party-id",
            SENDER,
            "--out",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    assert (out / "evidence.pdf").is_file()
    assert (out / "manifest.sha256").is_file()


def test_cli_unknown_party_is_one_line_on_stderr(workspace: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "report",
            "evidence",
            "--workspace",
            str(workspace),
            "--party-id",
            "NOBODY",
            "--out",
            str(tmp_path / "none"),
        ],
    )

    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "NOBODY" in result.stderr
    assert not (tmp_path / "none").exists()
