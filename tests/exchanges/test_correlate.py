"""Links between a party's exchanges and its payments: the right gaps, none invented."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.builders import payment
from vigil.cli import app
from vigil.exchanges.correlate import find_links
from vigil.exchanges.imports import import_exchanges
from vigil.workspace import Workspace

WALLET = "09171234567"  # the beneficiary's wallet is her phone number


def _pay(txn_id, sender, when, amount, **kw):
    row = payment(sender, WALLET, when, amount, beneficiary_name="Rosa Dizon", **kw)
    row["txn_id"] = txn_id
    row["sender_name"] = "Gary Holt" if sender == "C1" else "Pat Other"
    row["mtcn"] = kw.get("mtcn", "")
    return row


def _pay_mtcn(txn_id, when, amount, mtcn):
    row = _pay(txn_id, "C1", when, amount)
    row["mtcn"] = mtcn
    return row


@pytest.fixture
def workspace(payments_workspace, export_file):
    path = payments_workspace(
        [
            _pay("T0001", "C1", "2023-03-04T13:15:00+00:00", 55),
            _pay("T0002", "C1", "2023-03-06T13:15:00+00:00", 40),
            _pay("T0003", "C2", "2023-03-04T13:16:00+00:00", 55),  # another payer, same amount
            _pay_mtcn("T0004", "2023-03-14T00:20:00+00:00", 60, "880-123-4567"),
        ]
    )
    with Workspace.open(path) as ws:
        import_exchanges(ws, [export_file("telegram_full_result.json")], owner="sender:C1")
        import_exchanges(
            ws,
            [export_file("whatsapp_ios_chat.txt")],
            owner="sender:C1",
            timezone="America/New_York",
        )
    return path


def _links(path, party, kind=None):
    with Workspace.open(path) as ws:
        result = find_links(ws, party, kind)
    return [(link["txn_id"], link["kind"], link["gap_seconds"]) for link in result.links], result


def test_reference_amount_and_timing_links_have_the_right_gaps(workspace):
    found, result = _links(workspace, "C1")
    assert found == [
        ("T0001", "amount", 2100),  # "ok 55 USD" 35 min before
        ("T0001", "reference", 600),  # "sent ref T0001" 10 min before
        ("T0001", "timing", -300),  # the 45-min call starting 5 min after
        ("T0004", "reference", 600),  # MTCN 880-123-4567 written as 8801234567
        ("T0004", "timing", 510),  # "ok" 8.5 min before, in the same thread
    ]
    by_kind = {link["kind"]: link for link in result.links if link["txn_id"] == "T0001"}
    assert "states '55 USD'" in by_kind["amount"]["detail"]
    assert "45 min" in by_kind["timing"]["detail"]
    assert by_kind["reference"]["source"] == "telegram_full_result.json"
    assert by_kind["reference"]["tz_source"] == "epoch"
    t4 = next(link for link in result.links if link["txn_id"] == "T0004")
    assert t4["tz_source"] == "option" and t4["message_ts_raw"] == "13/03/2023, 20:10:00"


def test_no_link_is_invented(workspace):
    found, _ = _links(workspace, "C1")
    assert not any(txn == "T0002" for txn, _, _ in found)  # no message near it
    # C2 paid the same amount a minute later, but no export ties C2 to any thread
    assert _links(workspace, "C2")[0] == []


def test_the_beneficiary_sees_the_same_links_from_her_side(workspace):
    found, _ = _links(workspace, WALLET, "beneficiary")
    assert ("T0001", "amount", 2100) in found and ("T0001", "reference", 600) in found
    assert not any(txn == "T0003" for txn, _, _ in found)  # C2 is in none of her threads


def test_cli_import_and_correlate(tmp_path, payments_workspace, export_file):
    path = payments_workspace([_pay("T0001", "C1", "2023-03-04T13:15:00+00:00", 55)])
    runner = CliRunner()
    imported = runner.invoke(
        app,
        [
            "exchanges",
            "import",
            str(export_file("ufdr_report.xml")),
            "--workspace",
            str(path),
            "--owner",
            f"beneficiary:{WALLET}",
        ],
    )
    assert imported.exit_code == 0, imported.output
    assert "2 messages, 1 calls" in imported.output
    out = tmp_path / "links.json"
    result = runner.invoke(
        app,
        ["exchanges", "correlate", "--workspace", str(path), "--party-id", "C1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["party"]["party_id"] == "C1"
    kinds = {(link["kind"], link["gap_seconds"]) for link in data["links"]}
    # "ok 55 USD" at 21:40+08:00 = 13:40Z comes after the 13:15Z payment: no amount link;
    # Gary's "sent" at 08:05-05:00 = 13:05Z is 10 min before; the call 70 min after is
    # outside the 60-min session window
    assert kinds == {("timing", 600)}


def test_bad_owner_and_unknown_zone_are_one_line_errors(payments_workspace, export_file):
    path = payments_workspace([_pay("T0001", "C1", "2023-03-04T13:15:00+00:00", 55)])
    runner = CliRunner()
    chat = str(export_file("whatsapp_ios_chat.txt"))
    for options, message in [
        (["--owner", "sender:NOPE"], "no sender 'NOPE'"),
        (["--owner", "C1"], "write KIND:ID"),
        (["--timezone", "Mars/Base"], "unknown time zone"),
    ]:
        result = runner.invoke(
            app, ["exchanges", "import", chat, "--workspace", str(path), *options]
        )
        assert result.exit_code == 2 and message in result.output


def test_a_file_failing_half_way_leaves_nothing(payments_workspace, export_file, tmp_path):
    path = payments_workspace([_pay("T0001", "C1", "2023-03-04T13:15:00+00:00", 55)])
    bad = tmp_path / "cdr.csv"
    bad.write_text(
        "CALLING_NO,CALLED_NO,Call Date/Time - (UTC),DURATION\n"
        "+12025550143,+639171234567,04/03/2023 14:20:00,60\n"
        "+12025550143,+639171234567,not a time,60\n"
    )
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "exchanges",
            "import",
            str(bad),
            "--workspace",
            str(path),
            "--format",
            "csv",
            "--layout",
            str(export_file("cdr_layout.yaml")),
        ],
    )
    assert result.exit_code == 2 and "row 3" in result.output
    with Workspace.open(path, read_only=True) as ws:
        assert not ws.has_table("exchange_messages") or ws.count("exchange_messages") == 0


def test_an_unsaved_contact_ties_by_the_digits_of_a_number_no_plan_knows(
    payments_workspace, tmp_path
):
    # Romanian mobiles have nine national digits: this record has ten, so phonenumbers
    # rejects it, yet the chat shows the very same number for the unsaved contact
    odd_number = "+409568716873"
    row = payment("C1", "B1", "2024-01-03T07:40:00+00:00", 200, beneficiary_country="RO")
    row["beneficiary_phone"] = odd_number
    stranger = payment("C2", "B2", "2024-01-03T07:40:00+00:00", 200, beneficiary_country="RO")
    stranger["beneficiary_phone"] = "+409568716874"  # one digit apart: no tie
    path = payments_workspace([row, stranger])
    chat = tmp_path / "_chat.txt"
    chat.write_text(f"\u200e[03/01/2024, 07:25:58] {odd_number}: ok 200 USD\n", encoding="utf-8")
    with Workspace.open(path) as ws:
        import_exchanges(ws, [chat], owner="sender:C1", timezone="UTC")
        ties = ws.con.execute(
            "SELECT party_id, how, evidence FROM exchange_party_links "
            "WHERE party_kind = 'beneficiary'"
        ).fetchall()
    assert [(party, how) for party, how, _ in ties] == [("B1", "phone")]
    assert "recorded phone of beneficiary B1" in ties[0][2]
