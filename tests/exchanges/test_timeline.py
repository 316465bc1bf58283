"""The evidence timeline: messages, calls and payments on one UTC axis, links marked."""

from __future__ import annotations

import csv
import json

from vigil.exchanges.timeline import party_timeline
from vigil.reports.evidence import write_evidence_package
from vigil.reports.ftm import export_ftm
from vigil.workspace import Workspace


def test_timeline_orders_everything_in_utc_and_marks_the_links(scanned_with_exchanges):
    with Workspace.open(scanned_with_exchanges, read_only=True) as ws:
        rows = party_timeline(ws, "sender", "C1")
    assert [(r.ts_utc.strftime("%d %H:%M"), r.kind, r.linked) for r in rows] == [
        ("04 12:40", "message", True),  # "ok 55 USD": amount link
        ("04 13:05", "message", True),  # "sent ref T0001": reference link
        ("04 13:15", "payment", True),
        ("04 13:20", "call", True),  # the call after it: timing link
        ("06 13:15", "payment", False),
    ]
    payment = rows[2]
    assert payment.local_times[0] == "sender 2023-03-04 13:15 (UTC+00:00)"
    assert payment.local_times[1] == "beneficiary 2023-03-04 21:15 (UTC+08:00, Asia/Manila)"
    assert sorted(payment.link_kinds) == ["amount", "reference", "timing"]
    assert rows[0].source == "telegram_full_result.json, chats[0].messages[0]"
    assert rows[0].tz_note == "zone from epoch"


def test_no_timeline_for_a_party_without_exchanges(scanned_with_exchanges):
    with Workspace.open(scanned_with_exchanges, read_only=True) as ws:
        assert party_timeline(ws, "sender", "C9") == []


def test_evidence_package_carries_the_timeline(scanned_with_exchanges, tmp_path):
    package = write_evidence_package(scanned_with_exchanges, "C1", tmp_path / "pkg")
    names = set(package.manifest["files"])
    assert {"timeline.csv", "charts/exchanges.png"} <= names
    html = (tmp_path / "pkg" / "evidence.html").read_text()
    assert "Exchanges and payments on one UTC axis" in html
    assert 'class="linked"' in html and "sent ref T0001" in html
    with (tmp_path / "pkg" / "timeline.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [r["kind"] for r in table] == ["message", "message", "payment", "call", "payment"]
    other = write_evidence_package(scanned_with_exchanges, "C9", tmp_path / "other")
    assert "timeline.csv" not in other.manifest["files"]


def test_ftm_export_has_messages_calls_and_accounts(scanned_with_exchanges, tmp_path):
    out = tmp_path / "entities.jsonl"
    export_ftm(scanned_with_exchanges, out, party_ids=["C1"])
    entities = [json.loads(line) for line in out.read_text().splitlines()]
    by_schema: dict[str, list[dict]] = {}
    for e in entities:
        by_schema.setdefault(e["schema"], []).append(e)
    messages = by_schema["Message"]
    assert sorted(m["properties"]["bodyText"][0] for m in messages) == [
        "ok 55 USD",
        "sent ref T0001",
    ]
    ok = next(m for m in messages if m["properties"]["bodyText"] == ["ok 55 USD"])
    assert ok["properties"]["date"] == ["2023-03-04T12:40:00"]
    meta = json.loads(ok["properties"]["metadata"][0])
    assert meta["tz_source"] == "epoch" and meta["ts_raw"] == "1677933600"
    # Rosa's account is owned by the beneficiary's holder entity: Aleph joins them
    holders = {e["id"] for e in entities if e["schema"] in {"Person", "LegalEntity"}}
    rosa = next(
        a for a in by_schema["UserAccount"] if a["properties"].get("name") == ["Rosa Dizon"]
    )
    assert rosa["properties"]["owner"][0] in holders
    assert rosa["properties"]["phone"] == ["+639171234567"]
    (call,) = by_schema["Call"]
    assert call["properties"]["duration"] == ["2700"]
    assert ok["properties"]["sender"][0] in holders
