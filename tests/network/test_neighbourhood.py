"""`vigil network`: a party's neighbourhood as nodes and edges, bounded, from a workspace."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.builders import series, write_payments_csv
from vigil.cli import app
from vigil.errors import VigilError
from vigil.network.neighbourhood import neighbourhood
from vigil.scan import scan
from vigil.workspace import Workspace

EVENING = datetime(2024, 3, 1, 12, 0)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    rows = []
    for sender in ("alice", "bob", "carol"):
        rows += series(sender, "fac", EVENING, 6, timedelta(days=3), narrative="gift")
    rows += series("carol", "fac2", EVENING, 4, timedelta(days=5))
    rows += series("dave", "fac2", EVENING, 3, timedelta(days=6))
    rows += [p for i in range(30) for p in series(f"fan{i}", "shop", EVENING, 1, timedelta(1))]
    rows += series("alice", "shop", EVENING, 2, timedelta(days=9))
    tmp = tmp_path_factory.mktemp("nb")
    data = write_payments_csv(tmp / "payments.csv", rows)
    return Path(scan([data], tmp / "out").summary["workspace"])


def test_one_hop_holds_the_payers_and_their_payments(workspace):
    with Workspace.open(workspace, read_only=True) as ws:
        graph = neighbourhood(ws, "fac")
    ids = {n["id"] for n in graph["nodes"]}
    assert ids == {"beneficiary:fac", "sender:alice", "sender:bob", "sender:carol"}
    focus = [n for n in graph["nodes"] if n["role"] == "focus"]
    assert [n["party_id"] for n in focus] == ["fac"]
    assert {n["role"] for n in graph["nodes"] if n["kind"] == "sender"} == {"payer"}
    edge = next(e for e in graph["edges"] if e["source"] == "sender:alice")
    assert edge == {
        "source": "sender:alice",
        "target": "beneficiary:fac",
        "payments": 6,
        "total_usd": 240.0,
        "first": "2024-03-01",
        "last": "2024-03-16",
    }
    for node in graph["nodes"]:
        assert 0 <= node["score"] <= 1 and node["rank"] >= 1


def test_two_hops_reach_the_other_facilitators_of_the_payers(workspace):
    with Workspace.open(workspace, read_only=True) as ws:
        graph = neighbourhood(ws, "fac", hops=2)
    ids = {n["id"] for n in graph["nodes"]}
    assert {"beneficiary:fac2", "beneficiary:shop"} <= ids
    assert "sender:dave" not in ids  # three hops away
    assert not graph["truncated"]


def test_a_hub_is_cut_to_the_riskiest_parties(workspace):
    with Workspace.open(workspace, read_only=True) as ws:
        graph = neighbourhood(ws, "shop", max_nodes=10)
    assert graph["truncated"] and len(graph["nodes"]) == 10
    assert "sender:alice" in {n["id"] for n in graph["nodes"]}  # the riskiest payer is kept


def test_unknown_party_is_a_clear_error(workspace):
    with Workspace.open(workspace, read_only=True) as ws, pytest.raises(VigilError, match="nope"):
        neighbourhood(ws, "nope")


def test_the_command_writes_the_json(workspace, tmp_path):
    out = tmp_path / "fac.json"
    args = ["network", "--workspace", str(workspace), "--party-id", "fac", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--hops", "2"])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert graph["party"] == {"kind": "beneficiary", "id": "fac"} and graph["hops"] == 2
    missing = CliRunner().invoke(
        app,
        [
            "network",
            "--workspace",
            str(tmp_path / "no.duckdb"),
            "--party-id",
            "fac",
            "--out",
            str(out),
        ],
    )
    assert missing.exit_code == 2
