"""`vigil generate --exchanges`: an export in each format, neutral words, offenders linked."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.exchanges.clock import zone
from vigil.exchanges.csv_layout import load_layout
from vigil.exchanges.formats import parse_file
from vigil.exchanges.imports import import_manifest
from vigil.scan import scan
from vigil.workspace import Workspace

NEUTRAL = re.compile(
    r"^(ok|sent|sent, ref T\d+|ok [A-Z]{3} [\d.]+|ok [\d.]+ [A-Z]{3}|.* started a call\.)$"
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen-exchanges")
    result = CliRunner().invoke(
        app, ["generate", "--out", str(out), "--senders", "1000", "--seed", "3", "--exchanges"]
    )
    assert result.exit_code == 0, result.output
    return out


def _manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "exchanges" / "manifest.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_every_format_is_written_and_reads_back_with_neutral_words(generated):
    rows = _manifest(generated)
    assert {r["format"] for r in rows} == {"telegram", "whatsapp", "ufdr", "meta", "csv"}
    assert {r["role"] for r in rows} >= {"offender", "overseas_worker", "partner_abroad"}
    for row in rows:
        path = generated / "exchanges" / row["file"]
        layout = load_layout(generated / "exchanges" / row["layout"]) if row["layout"] else None
        _, exchanges = parse_file(path, row["format"], zone(row["timezone"] or None), layout)
        exchanges = list(exchanges)
        assert exchanges, row
        for e in exchanges:
            assert e.kind == "call" or NEUTRAL.match(e.body), (row["file"], e.body)


def test_same_seed_same_exports(generated, tmp_path):
    CliRunner().invoke(
        app, ["generate", "--out", str(tmp_path), "--senders", "1000", "--seed", "3", "--exchanges"]
    )
    for row in _manifest(generated):
        a = (generated / "exchanges" / row["file"]).read_bytes()
        assert a == (tmp_path / "exchanges" / row["file"]).read_bytes()


def test_offenders_show_reference_and_amount_links_and_look_alikes_do_not(generated, tmp_path):
    out = tmp_path / "scan"
    scan([generated / "transactions.csv"], out)
    with Workspace.open(out / "vigil.duckdb") as ws:
        import_manifest(ws, generated / "exchanges" / "manifest.csv")
    scan([generated / "transactions.csv"], out)
    roles = {r["owner"].split(":")[1]: r["role"] for r in _manifest(generated)}
    formats = {r["owner"].split(":")[1]: r["format"] for r in _manifest(generated)}
    with Workspace.open(out / "vigil.duckdb", read_only=True) as ws:
        fired = ws.con.execute(
            "SELECT party_id, list(indicator) FROM indicator_hits WHERE party_kind = 'sender' "
            "AND party_id IN (SELECT unnest(?)) GROUP BY ALL",
            [list(roles)],
        ).fetchall()
    fired = {party: set(indicators) for party, indicators in fired}
    offenders = [p for p, role in roles.items() if role == "offender"]
    look_alikes = [p for p, role in roles.items() if role != "offender"]
    # every offender's export ties to its facilitator (E1): by the facilitator's phone as
    # recorded on any payment to her (a call log of an account paid by bank transfer too),
    # her name, or her raw number as an unsaved contact
    assert len(offenders) == 10
    assert [p for p in offenders if "E1" not in fired.get(p, set())] == []
    # price stated before, reference written: E2 or E3 for every export but the call logs,
    # including a US WhatsApp export whose dates (1/5/24 ... 1/12/24) read forward both ways
    texts = [p for p in offenders if formats[p] != "csv"]
    assert {formats[p] for p in texts} == {"telegram", "whatsapp", "ufdr", "meta"}
    assert [p for p in texts if not {"E2", "E3"} & fired.get(p, set())] == []
    # look-alikes: "sent" hours after, amounts days ahead: never an amount or reference link
    assert not any({"E2", "E3"} & fired.get(p, set()) for p in look_alikes)
