"""goAML reports as scan input: Vigil's own STRs read back, and UNODC's sample report."""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl
import pytest

from vigil.errors import InputError
from vigil.ingest import ingest
from vigil.ingest.goaml import is_goaml
from vigil.reports.goaml import write_goaml_report
from vigil.scan import scan
from vigil.synth import generate
from vigil.workspace import Workspace

SHARED = Path(__file__).parents[3] / "shared" / "goaml"
XSD = SHARED / "goAMLSchema-5.0.1.xsd"
SAMPLE = SHARED / "sample-report-5.0.1.xml"

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

COMPARED = (
    "txn_id",
    "ts_utc",
    "amount",
    "currency",
    "channel",
    "sender_name",
    "sender_country",
    "beneficiary_id",
    "beneficiary_name",
    "beneficiary_country",
    "beneficiary_city",
    "narrative",
)


def _payments(workspace: Path, txn_ids: list[str] | None = None) -> pl.DataFrame:
    with Workspace.open(workspace, read_only=True) as ws:
        frame = pl.from_arrow(
            ws.con.execute(
                "SELECT *, coalesce(reporter_sender_id, sender_id) AS customer_id FROM payments"
            ).to_arrow_table()
        )
    if txn_ids is not None:
        frame = frame.filter(pl.col("txn_id").is_in(txn_ids))
    return frame.sort("txn_id")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("goaml_in")
    generated = generate(root / "data", senders=300, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan([generated.transactions], root / "out")
    return root / "out"


@pytest.mark.skipif(not XSD.is_file(), reason=f"goAML XSD not found at {XSD}")
@pytest.mark.parametrize("kind", ["sender", "beneficiary"])
def test_an_str_vigil_wrote_reads_back_as_the_same_payments(
    scanned: Path, tmp_path: Path, kind: str
) -> None:
    alerts = pl.read_csv(scanned / "alerts.csv", infer_schema=False)
    top = alerts.filter(pl.col("party_kind") == kind)["party_id"][0]
    report = write_goaml_report(
        scanned / "vigil.duckdb", top, tmp_path / "str.xml", party_kind=kind
    )
    assert is_goaml(report)

    scan([report], tmp_path / "again")
    again = _payments(tmp_path / "again" / "vigil.duckdb")
    before = _payments(scanned / "vigil.duckdb", again["txn_id"].to_list())
    own = "customer_id" if kind == "sender" else "beneficiary_id"
    assert before.height == again.height == (before[own] == top).sum() > 0
    assert before.select(COMPARED).equals(again.select(COMPARED))
    assert before["customer_id"].to_list() == again["customer_id"].to_list()
    # the FIU config's rentity_id is the reporter: the sender is keyed by it
    assert set(again["reporter"]) == {"1"}
    assert again["sender_id"].to_list() == [f"1:{c}" for c in again["customer_id"]]


@pytest.mark.skipif(not SAMPLE.is_file(), reason=f"goAML sample not found at {SAMPLE}")
def test_unodc_sample_report_is_read_and_each_transaction_accounted_for(
    tmp_path: Path,
) -> None:
    with Workspace.open(tmp_path / "ws.duckdb") as ws:
        result = ingest(ws, [SAMPLE], quarantine_path=tmp_path / "q.csv", max_quarantine_share=None)
    assert result.rows_read == 27
    quarantine = pl.read_csv(tmp_path / "q.csv", infer_schema=False)
    # A machine-made sample: dates in 1697, empty numbers, parties without identifiers,
    # negative amounts. Nothing of it is ingested, and every transaction says why.
    assert result.rows_ingested == 0 and quarantine.height == 27
    assert quarantine["row"].to_list() == [str(n) for n in range(1, 28)]
    reasons = dict(zip(quarantine["row"], quarantine["reason"], strict=True))
    assert reasons["7"] == "no transactionnumber (transaction 7)"
    assert "has no identifier" in reasons["3"]
    assert reasons["4"].startswith("date outside the plausible range")


def _report(transactions: str, header: str = "<rentity_id>42</rentity_id>") -> str:
    return f"<report>{header}<currency_code_local>EUR</currency_code_local>{transactions}</report>"


def _transaction(number: str, sender: str, beneficiary: str, amount: str = "100") -> str:
    return f"""<transaction><transactionnumber>{number}</transactionnumber>
      <date_transaction>2024-05-01T12:00:00</date_transaction>
      <transmode_code>A</transmode_code><amount_local>{amount}</amount_local>
      <t_from_my_client><from_funds_code>K</from_funds_code>{sender}
        <from_country>DE</from_country></t_from_my_client>
      <t_to><to_funds_code>K</to_funds_code>{beneficiary}<to_country>PH</to_country></t_to>
    </transaction>"""


ACCOUNT = (
    "<from_account><institution_name>Bank</institution_name><account>DE-1</account>"
    "<account_name>Hans Meier</account_name><client_number>C-77</client_number></from_account>"
)
WALLET = (
    "<to_account><institution_name>GCash</institution_name><swift>GCASHPH</swift>"
    "<account>0917555</account><account_name>Rosa Dela Cruz</account_name></to_account>"
)


def test_accounts_persons_and_entities_map_onto_parties(tmp_path: Path) -> None:
    entity = (
        "<to_entity><name>Acme Trading</name><incorporation_number>INC-9</incorporation_number>"
        "</to_entity>"
    )
    nameless = "<to_person><first_name>Ana</first_name><last_name>Reyes</last_name></to_person>"
    path = tmp_path / "str.xml"
    path.write_text(
        _report(
            _transaction("A1", ACCOUNT, WALLET)
            + _transaction("A2", ACCOUNT, entity, amount="55.5")
            + _transaction("A3", ACCOUNT, nameless)
        )
    )
    with Workspace.open(tmp_path / "ws.duckdb") as ws:
        result = ingest(ws, [path], quarantine_path=tmp_path / "q.csv")
        rows = ws.con.execute(
            "SELECT txn_id, sender_id, reporter, reporter_sender_id, sender_name, beneficiary_id,"
            " beneficiary_name, amount::VARCHAR, currency, ts_utc::VARCHAR FROM payments "
            "ORDER BY txn_id"
        ).fetchall()
    assert rows == [
        ("A1", "42:C-77", "42", "C-77", "Hans Meier", "GCASHPH 0917555", "Rosa Dela Cruz",
         "100.0000", "EUR", "2024-05-01 12:00:00"),
        ("A2", "42:C-77", "42", "C-77", "Hans Meier", "INC-9", "Acme Trading", "55.5000",
         "EUR", "2024-05-01 12:00:00"),
    ]  # fmt: skip
    assert result.rows_quarantined == 1
    quarantine = pl.read_csv(tmp_path / "q.csv", infer_schema=False)
    assert quarantine["row"].to_list() == ["3"]
    assert quarantine["column"].to_list() == ["beneficiary_id"]
    assert "transaction 3" in quarantine["reason"][0]


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY x SYSTEM "file://{secret}">]>'
        + _report(_transaction("X1", ACCOUNT, WALLET.replace("Rosa Dela Cruz", "&x;")))
    )
    with Workspace.open(tmp_path / "ws.duckdb") as ws:
        ingest(ws, [path], quarantine_path=tmp_path / "q.csv", max_quarantine_share=None)
        names = ws.con.execute("SELECT beneficiary_name FROM payments").fetchall()
    assert "TOP-SECRET" not in repr(names) + (tmp_path / "q.csv").read_text()


def test_a_report_that_is_not_xml_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text("<report><transaction>")
    with Workspace.open(tmp_path / "ws.duckdb") as ws, pytest.raises(InputError, match="broken"):
        ingest(ws, [path], quarantine_path=tmp_path / "q.csv")
