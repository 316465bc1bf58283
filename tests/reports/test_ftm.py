"""FollowTheMoney export: entities Aleph can load, the same ids on every export."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest
from followthemoney import model
from followthemoney.proxy import EntityProxy
from typer.testing import CliRunner

from vigil.cli import app
from vigil.errors import VigilError
from vigil.reports import ftm
from vigil.reports.ftm import (
    account_id,
    export_ftm,
    holder_id,
    looks_like_organisation,
    payment_id,
)
from vigil.scan import scan
from vigil.synth import generate
from vigil.workspace import Workspace

FTM_CLI = Path(sys.executable).parent / "ftm"
HOLDERS = ("Person", "LegalEntity")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ftm")
    generated = generate(root / "data", senders=200, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan([generated.transactions], root / "out")
    return root / "out" / "vigil.duckdb"


def query(workspace: Path, sql: str, params: list | None = None) -> list[tuple]:
    with Workspace.open(workspace) as ws:
        return ws.con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def sender(workspace: Path) -> str:
    """The sender paying the most beneficiaries: a party with several counterparties."""
    rows = query(
        workspace,
        "SELECT sender_id FROM payments GROUP BY sender_id "
        "ORDER BY count(DISTINCT beneficiary_id) DESC, sender_id LIMIT 1",
    )
    return rows[0][0]


@pytest.fixture(scope="module")
def whole(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ftm-whole") / "all.jsonl"
    export_ftm(workspace, out, party_ids=None, case_id=None)
    return out


def read_entities(path: Path) -> list[EntityProxy]:
    with path.open(encoding="utf-8") as fh:
        return [model.get_proxy(json.loads(line)) for line in fh]


def by_schema(entities: list[EntityProxy], *schemata: str) -> list[EntityProxy]:
    return [e for e in entities if e.schema.name in schemata]


def ftm_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FTM_CLI), "validate", "-i", str(path), "-o", "/dev/null"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_sender_comes_with_its_beneficiaries_and_every_payment(
    workspace: Path, sender: str, tmp_path: Path
) -> None:
    out = tmp_path / "party.jsonl"
    count = export_ftm(workspace, out, party_ids=[sender], case_id=None)
    entities = read_entities(out)
    assert count == len(entities)

    txns = {
        t for (t,) in query(workspace, "SELECT txn_id FROM payments WHERE sender_id = ?", [sender])
    }
    beneficiaries = {
        b
        for (b,) in query(
            workspace, "SELECT DISTINCT beneficiary_id FROM payments WHERE sender_id = ?", [sender]
        )
    }
    assert len(beneficiaries) > 1

    payments = by_schema(entities, "Payment")
    assert len(payments) == len(txns)
    assert {p.first("transactionNumber") for p in payments} == txns
    assert {p.first("payer") for p in payments} == {holder_id("sender", sender)}
    assert {p.first("beneficiary") for p in payments} == {
        holder_id("beneficiary", b) for b in beneficiaries
    }

    holders = {e.id for e in by_schema(entities, *HOLDERS)}
    assert holders == {holder_id("sender", sender)} | {
        holder_id("beneficiary", b) for b in beneficiaries
    }
    accounts = by_schema(entities, "BankAccount", "UserAccount")
    assert {a.id for a in accounts} == {account_id("sender", sender)} | {
        account_id("beneficiary", b) for b in beneficiaries
    }


def test_every_account_has_its_holder(whole: Path) -> None:
    entities = read_entities(whole)
    holders = {e.id for e in by_schema(entities, *HOLDERS)}
    owned = {o.first("asset"): o.first("owner") for o in by_schema(entities, "Ownership")}
    for account in by_schema(entities, "BankAccount", "UserAccount"):
        owner = owned.get(account.id) if account.schema.name == "BankAccount" else None
        owner = owner or account.first("owner")
        assert owner in holders, f"{account.schema.name} {account.caption} has no holder"


def test_the_whole_workspace_has_one_payment_per_payment_and_one_holder_per_party(
    workspace: Path, whole: Path
) -> None:
    entities = read_entities(whole)
    [(payments, senders, beneficiaries)] = query(
        workspace,
        "SELECT count(*), count(DISTINCT sender_id), count(DISTINCT beneficiary_id) FROM payments",
    )
    schemata = Counter(e.schema.name for e in entities)
    assert schemata["Payment"] == payments
    assert schemata["Person"] + schemata["LegalEntity"] == senders + beneficiaries
    assert schemata["BankAccount"] + schemata["UserAccount"] == senders + beneficiaries
    assert schemata["Ownership"] == schemata["BankAccount"]
    assert len({e.id for e in entities}) == len(entities)


def test_payments_carry_amount_currency_date_and_channel(workspace: Path, whole: Path) -> None:
    [(txn, ts, amount, currency, channel, narrative)] = query(
        workspace,
        "SELECT txn_id, ts_utc, amount, currency, channel, narrative FROM payments "
        "WHERE narrative IS NOT NULL ORDER BY txn_id LIMIT 1",
    )
    [payment] = [e for e in read_entities(whole) if e.id == payment_id(txn)]
    assert payment.first("amount") == f"{amount.normalize():f}"
    assert payment.first("currency") == currency
    assert payment.first("date") == ts.isoformat(timespec="seconds")
    assert payment.first("purpose") == narrative
    assert payment.first("programme") == channel.replace("_", " ")
    assert payment.first("amountUsd")


def test_holders_carry_vigils_score_rank_and_indicators(workspace: Path, whole: Path) -> None:
    [(party, rank, indicators)] = query(
        workspace,
        "SELECT party_id, rank, indicators FROM alerts WHERE party_kind = 'sender' "
        "ORDER BY rank LIMIT 1",
    )
    [holder] = [e for e in read_entities(whole) if e.id == holder_id("sender", party)]
    note = holder.first("notes")
    assert note is not None
    assert f"rank {rank:,} of 200" in note
    assert f"indicators {indicators}" in note


def test_family_only_where_the_scan_inferred_relatives(workspace: Path, whole: Path) -> None:
    related = {
        (holder_id("sender", s), holder_id("beneficiary", b))
        for s, b in query(
            workspace, "SELECT sender_id, beneficiary_id FROM pair_features WHERE related"
        )
    }
    families = by_schema(read_entities(whole), "Family")
    assert families
    for family in families:
        assert (family.first("person"), family.first("relative")) in related
        assert "inferred by Vigil" in (family.first("description") or "")


def test_organisations_are_legal_entities_not_people() -> None:
    assert looks_like_organisation("Sunrise Children's Foundation Inc.")
    assert looks_like_organisation("Quick Gaming Shop")
    assert looks_like_organisation("Manila Trading")
    assert not looks_like_organisation("Maria P. Tolentino")
    assert not looks_like_organisation("Rosalie Dimaculangan")


@pytest.mark.parametrize("scope", ["party", "whole"])
def test_ftm_validate_accepts_the_file(
    workspace: Path, whole: Path, sender: str, tmp_path: Path, scope: str
) -> None:
    path = whole
    if scope == "party":
        path = tmp_path / "party.jsonl"
        export_ftm(workspace, path, party_ids=[sender], case_id=None)
    check = ftm_validate(path)
    assert check.returncode == 0, check.stderr
    # Stricter than `ftm validate`: required properties present, no value lost on cleaning.
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            data = json.loads(line)
            proxy = model.get_proxy(data, cleaned=False)
            assert proxy.to_dict()["properties"] == data["properties"], data
            for prop in proxy.schema.required:
                assert proxy.get(prop), f"{proxy.schema.name} lacks {prop}"


def test_re_exports_give_the_same_ids(
    workspace: Path, whole: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    again = tmp_path / "again.jsonl"
    monkeypatch.setattr(ftm, "BATCH_ROWS", 97)  # many small record batches: same result
    export_ftm(workspace, again, party_ids=None, case_id=None)
    assert again.read_bytes() == whole.read_bytes()


def test_an_unknown_case_is_refused(workspace: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'cases.sqlite'}"
    with pytest.raises(VigilError, match="no case CASE-1"):
        export_ftm(workspace, tmp_path / "case.jsonl", case_id="CASE-1", database_url=store)


def test_cli_writes_the_file(workspace: Path, sender: str, tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    result = CliRunner().invoke(
        app,
        ["export", "ftm", "--workspace", str(workspace), "--out", str(out), "--party-id", sender],
    )
    assert result.exit_code == 0, result.output
    assert by_schema(read_entities(out), "Payment")


def test_cli_unknown_party_is_one_line_on_stderr(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "none.jsonl"
    result = CliRunner().invoke(
        app,
        ["export", "ftm", "--workspace", str(workspace), "--out", str(out), "--party-id", "NOBODY"],
    )
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "NOBODY" in result.stderr
    assert not out.exists()


def test_cli_unknown_case_is_one_line_on_stderr(workspace: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "export",
            "ftm",
            "--workspace",
            str(workspace),
            "--out",
            str(tmp_path / "c.jsonl"),
            "--case",
            "CASE-1",
            "--database-url",
            f"sqlite:///{tmp_path / 'cases.sqlite'}",
        ],
    )
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no case CASE-1" in result.stderr
