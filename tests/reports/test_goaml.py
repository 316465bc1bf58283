"""goAML reports: valid against UNODC's goAML 5.0.1 XSD for several parties, refused when not."""

from __future__ import annotations

import dataclasses
import warnings
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml
from lxml import etree
from typer.testing import CliRunner

from vigil.cli import app
from vigil.errors import ConfigError, VigilError
from vigil.reports import goaml
from vigil.reports.fiu_config import example_config_path, load_fiu_config
from vigil.reports.goaml import (
    build_goaml_report,
    serialize,
    split_name,
    validate_report,
    write_goaml_report,
)
from vigil.reports.party import load_party
from vigil.scan import scan
from vigil.synth import generate

SHARED = Path(__file__).parents[3] / "shared" / "goaml"
XSD = SHARED / "goAMLSchema-5.0.1.xsd"
SAMPLE = SHARED / "sample-report-5.0.1.xml"

pytestmark = [
    pytest.mark.skipif(not XSD.is_file(), reason=f"goAML XSD not found at {XSD}"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("goaml")
    generated = generate(root / "data", senders=300, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan([generated.transactions], root / "out")
    return root / "out" / "vigil.duckdb"


@pytest.fixture(scope="module")
def alerts(workspace: Path) -> pl.DataFrame:
    return pl.read_csv(workspace.parent / "alerts.csv", infer_schema=False).with_columns(
        pl.col("rank").cast(pl.Int64)
    )


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def fiu_config(tmp_path: Path, **changes: object) -> Path:
    """A copy of the shipped example config with `changes`, its XSD path made absolute."""
    data = yaml.safe_load(example_config_path().read_text(encoding="utf-8"))
    data["xsd_path"] = str(XSD)
    data.update(changes)
    path = tmp_path / "fiu.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def party(alerts: pl.DataFrame, kind: str, which: str) -> str:
    mine = alerts.filter(pl.col("party_kind") == kind).sort("rank")
    return mine["party_id"][0] if which == "top" else mine["party_id"][-1]


@pytest.mark.parametrize(
    ("kind", "which"),
    [("sender", "top"), ("beneficiary", "top"), ("sender", "lowest"), ("beneficiary", "lowest")],
)
def test_report_for_a_party_is_valid_against_the_goaml_xsd(
    workspace: Path,
    alerts: pl.DataFrame,
    schema: etree.XMLSchema,
    tmp_path: Path,
    kind: str,
    which: str,
) -> None:
    party_id = party(alerts, kind, which)
    out = write_goaml_report(
        workspace, party_id, tmp_path / "str.xml", fiu_config=None, party_kind=kind
    )

    tree = etree.parse(str(out))
    assert schema.validate(tree), schema.error_log
    facts = load_party(workspace, party_id, kind)
    transactions = tree.findall("transaction")
    assert len(transactions) == facts.payments.height
    assert [t.findtext("transactionnumber") for t in transactions] == facts.payments[
        "txn_id"
    ].to_list()
    suspect = "t_from/from_person" if kind == "sender" else "t_to/to_person"
    assert all(party_id in t.findtext(f"{suspect}/comments") for t in transactions)
    reason = tree.findtext("reason")
    assert f"ranked this {kind}" in reason
    assert f"{facts.rank:,} of {facts.parties_of_kind:,}" in reason
    for hit in facts.contributions.iter_rows(named=True):
        assert f"{hit['indicator']} {hit['title']}" in reason
    assert tree.findtext("report_code") == "STR"
    assert [i.text for i in tree.find("report_indicators")] == ["-"]


def test_amounts_in_another_local_currency_keep_the_original(
    workspace: Path, alerts: pl.DataFrame, schema: etree.XMLSchema, tmp_path: Path
) -> None:
    party_id = party(alerts, "sender", "top")
    out = write_goaml_report(
        workspace,
        party_id,
        tmp_path / "eur.xml",
        fiu_config=fiu_config(tmp_path, local_currency="EUR"),
        party_kind="sender",
    )

    tree = etree.parse(str(out))
    assert schema.validate(tree), schema.error_log
    assert tree.findtext("currency_code_local") == "EUR"
    first = tree.find("transaction")
    payment = load_party(workspace, party_id, "sender").payments.row(0, named=True)
    foreign = first.find("t_from/from_foreign_currency")
    assert foreign.findtext("foreign_currency_code") == payment["currency"]
    assert Decimal(foreign.findtext("foreign_amount")) == payment["amount"]
    local = Decimal(first.findtext("amount_local"))
    rate = Decimal(foreign.findtext("foreign_exchange_rate"))
    assert abs(local - payment["amount"] * rate) < Decimal("0.01")


def test_channel_and_indicator_codes_come_from_the_config(
    workspace: Path, alerts: pl.DataFrame, tmp_path: Path
) -> None:
    party_id = party(alerts, "sender", "top")
    facts = load_party(workspace, party_id, "sender")
    fired = facts.contributions["indicator"].to_list()
    config = load_fiu_config(
        fiu_config(tmp_path, indicators={"default": "DEF", "map": {fired[0]: "X1"}})
    )

    report = build_goaml_report(facts, config)

    assert [i.text for i in report.find("report_indicators")] == ["X1"]
    tx = report.find("transaction")
    codes = config.channels[facts.payments["channel"][0]]
    assert tx.findtext("transmode_code") == codes.transmode
    assert tx.findtext("t_from/from_funds_code") == codes.funds
    unmapped = load_fiu_config(fiu_config(tmp_path, indicators={"default": "DEF", "map": {}}))
    report = build_goaml_report(facts, unmapped)
    assert [i.text for i in report.find("report_indicators")] == ["DEF"]


def test_a_report_code_outside_the_xsd_list_is_refused_and_nothing_written(
    workspace: Path, alerts: pl.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "refused.xml"
    with pytest.raises(VigilError, match=r"report not written: /report/report_code") as error:
        write_goaml_report(
            workspace,
            party(alerts, "sender", "top"),
            out,
            fiu_config=fiu_config(tmp_path, report_code="NOPE"),
            party_kind="sender",
        )

    assert "'NOPE'" in str(error.value)
    assert "\n" not in str(error.value)
    assert not out.exists()


def test_a_broken_builder_is_caught_by_the_xsd(
    workspace: Path, alerts: pl.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = goaml.build_goaml_report

    def broken(*args: object, **kwargs: object) -> etree._Element:
        report = real(*args, **kwargs)
        report.find("transaction").find("amount_local").text = "a lot"
        return report

    monkeypatch.setattr(goaml, "build_goaml_report", broken)
    out = tmp_path / "broken.xml"
    with pytest.raises(VigilError, match=r"/report/transaction\[1\]/amount_local"):
        write_goaml_report(workspace, party(alerts, "sender", "top"), out, party_kind="sender")
    assert not out.exists()


def test_the_machine_generated_sample_report_is_refused() -> None:
    if not SAMPLE.is_file():
        pytest.skip(f"sample not found at {SAMPLE}")
    with pytest.raises(VigilError, match=r"report not written: /report/report_date \(line \d+\)"):
        validate_report(SAMPLE.read_bytes(), XSD)


def test_a_date_before_the_goaml_floor_is_an_error_not_clamped(
    workspace: Path, alerts: pl.DataFrame
) -> None:
    facts = load_party(workspace, party(alerts, "sender", "top"), "sender")
    old = facts.payments.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(datetime(1700, 1, 1)))
        .otherwise(pl.col("ts_utc"))
        .alias("ts_utc")
    )
    facts = dataclasses.replace(facts, payments=old)
    with pytest.raises(VigilError, match=r"1700-01-01.*before goAML's earliest date 1753-01-01"):
        build_goaml_report(facts, load_fiu_config(None))


def test_text_over_the_schema_limit_is_shortened_and_the_reason_says_so(
    workspace: Path, alerts: pl.DataFrame, schema: etree.XMLSchema
) -> None:
    facts = load_party(workspace, party(alerts, "sender", "top"), "sender")
    long_name = "Q" * 150 + ", Ann"
    facts = dataclasses.replace(
        facts, payments=facts.payments.with_columns(pl.lit(long_name).alias("sender_name"))
    )

    report = build_goaml_report(facts, load_fiu_config(None))

    last = report.findtext("transaction/t_from/from_person/last_name")
    assert len(last) == 100 and last.endswith("…")
    assert report.findtext("transaction/t_from/from_person/first_name") == "Ann"
    assert "shortened" in report.findtext("reason") and "last_name" in report.findtext("reason")
    assert schema.validate(etree.fromstring(serialize(report)))


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("HARRIS, Mark", "Mark", "HARRIS"),
        ("Maria  de la Cruz", "Maria de la", "Cruz"),
        ("Mark Harris", "Mark", "Harris"),
        ("Madonna", "-", "Madonna"),
    ],
)
def test_person_names_are_split_into_first_and_last(name: str, first: str, last: str) -> None:
    assert split_name(name) == (first, last)


def test_the_cli_writes_a_valid_report(
    workspace: Path, alerts: pl.DataFrame, schema: etree.XMLSchema, tmp_path: Path
) -> None:
    out = tmp_path / "cli.xml"
    result = CliRunner().invoke(
        app,
        [
            "report",
            "goaml",
            "--workspace",
            str(workspace),
            "--party-id",
            party(alerts, "beneficiary", "top"),
            "--out",
            str(out),
            "--fiu-config",
            str(fiu_config(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert schema.validate(etree.parse(str(out)))


def test_the_cli_refuses_an_invalid_report_with_one_line(
    workspace: Path, alerts: pl.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "cli.xml"
    result = CliRunner().invoke(
        app,
        [
            "report",
            "goaml",
            "--workspace",
            str(workspace),
            "--party-id",
            party(alerts, "sender", "top"),
            "--out",
            str(out),
            "--fiu-config",
            str(fiu_config(tmp_path, submission_code="Z")),
        ],
    )
    assert result.exit_code == 2
    stderr = result.stderr.strip()
    assert "Traceback" not in result.output
    assert len(stderr.splitlines()) == 1
    assert "submission_code" in stderr
    assert "'Z' is not in the schema's list of allowed values (XSD rule: enumeration)" in stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"rentity_id": "first"}, "rentity_id"),
        ({"rentity_id": 0}, "rentity_id"),
        ({"local_currency": "usd"}, "local_currency"),
        ({"surprise": 1}, "surprise"),
        ({"reporting_person": {"first_name": "Alex"}}, "reporting_person.last_name"),
        ({"channels": {"pigeon": {"transmode": "A", "funds": "A"}}}, "channels"),
        ({"xsd_path": "missing.xsd"}, "xsd_path"),
    ],
)
def test_fiu_config_mistakes_name_the_key(
    tmp_path: Path, changes: dict[str, object], key: str
) -> None:
    path = fiu_config(tmp_path, **changes)
    with pytest.raises(ConfigError) as error:
        load_fiu_config(path)
    message = str(error.value)
    assert message.startswith(f"{path}: {key}")
    assert "\n" not in message


def test_the_shipped_example_config_reaches_the_generic_xsd() -> None:
    config = load_fiu_config(None)
    assert config.xsd_path == XSD.resolve()
    assert config.source == example_config_path()
