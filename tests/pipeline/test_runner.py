"""The scan as declared stages: order checked before work, a new stage is one entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import write_payments_csv
from vigil.pipeline import stages as declared
from vigil.pipeline.runner import ScanContext, Stage, run_stages
from vigil.scan import scan
from vigil.workspace import Workspace


def _nothing(_ctx: ScanContext) -> None:
    return None


def test_a_stage_reading_what_no_earlier_stage_writes_is_refused() -> None:
    reads_scores = Stage("late", "Late", ("sender_scores",), (), (), _nothing)
    writes_scores = Stage("scores", "Scoring", ("payments",), ("sender_scores",), (), _nothing)
    with pytest.raises(ValueError, match="reads \\['sender_scores'\\] before"):
        run_stages([reads_scores, writes_scores], None)  # type: ignore[arg-type]


def test_the_shipped_declaration_is_in_order() -> None:
    names = [s.name for s in declared.SCAN_STAGES]
    assert names[0] == "ingest" and len(set(names)) == len(names)
    run_stages([], None)  # type: ignore[arg-type]  # an empty list runs nothing
    declared_reads = {t for s in declared.SCAN_STAGES for t in s.reads}
    written = {t for s in declared.SCAN_STAGES for t in s.writes} | {"payments"}
    assert declared_reads <= written


def test_a_new_stage_is_one_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def top_senders(ctx: ScanContext) -> int:
        ctx.ws.con.execute(
            "CREATE OR REPLACE TABLE top_senders AS SELECT party_id FROM sender_scores "
            "WHERE rank <= 1"
        )
        return ctx.ws.count("top_senders")

    extra = Stage("top", "Picking the top", ("sender_scores",), ("top_senders",), (), top_senders)
    monkeypatch.setattr("vigil.scan.SCAN_STAGES", [*declared.SCAN_STAGES, extra])
    rows = [
        {"txn_id": "T1", "sender_id": "A", "beneficiary_id": "W1"},
        {"txn_id": "T2", "sender_id": "B", "beneficiary_id": "W1"},
    ]
    result = scan([write_payments_csv(tmp_path / "p.csv", rows)], tmp_path / "out")
    assert "picking the top" in result.summary["stage_seconds"]
    with Workspace.open(tmp_path / "out" / "vigil.duckdb", read_only=True) as ws:
        assert ws.count("top_senders") == 1
