"""A merge an analyst rejected stays rejected: stored, audited, and kept by every rescan."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.builders import series, write_payments_csv
from vigil.cases import audit
from vigil.cases.entity_decisions import (
    RejectedPair,
    reject_merge,
    rejected_pairs,
    rejected_pairs_beside,
)
from vigil.cases.errors import WorkflowError
from vigil.cases.store import CaseStore, default_database_url
from vigil.scan import scan

EVENING = datetime(2024, 3, 1, 12, 0)
WALLETS = [  # one facilitator's three wallets, paid by the same two payers
    ("w1", "Maria Cristina Dimaculangan"),
    ("w2", "DIMACULANGAN, Maria Cristina"),
    ("w3", "Maria Cristna Dimaculangan"),
]


def _entities(workspace: Path) -> dict[str, str]:
    with duckdb.connect(str(workspace), read_only=True) as con:
        return dict(con.execute("SELECT party_id, entity_id FROM beneficiary_entities").fetchall())


def _links(workspace: Path) -> set[tuple[str, str]]:
    with duckdb.connect(str(workspace), read_only=True) as con:
        return set(con.execute("SELECT left_id, right_id FROM entity_links").fetchall())


def test_a_rejected_merge_stays_rejected_after_a_rescan(tmp_path: Path) -> None:
    rows = []
    for payer in ("alice", "bob"):
        for wallet, name in WALLETS:
            rows += series(payer, wallet, EVENING, 3, timedelta(days=4), beneficiary_name=name)
    data = write_payments_csv(tmp_path / "payments.csv", rows)
    out = tmp_path / "results"
    workspace = out / "vigil.duckdb"
    scan([data], out)
    assert len(set(_entities(workspace).values())) == 1  # the three wallets: one person
    store = CaseStore.open(default_database_url(workspace))
    try:
        reject_merge(store, "ana", "beneficiary", "w3", "w1", "different date of birth")
        assert rejected_pairs(store) == [RejectedPair("beneficiary", "w1", "w3")]
        (entry,) = audit.entries(store, actor="ana")
        assert (entry.action, entry.target) == ("entity.not_same_person", "beneficiary:w1")
        assert "different date of birth" not in entry.detail  # free text stays out of audit
    finally:
        store.close()
    assert rejected_pairs_beside(workspace) == [RejectedPair("beneficiary", "w1", "w3")]

    result = scan([data], out)  # the same payments again, into the same workspace
    entities = _entities(workspace)
    assert entities["w1"] != entities["w3"]
    assert ("w1", "w3") not in _links(workspace)
    # w3 met w1 through w2 as well: w3 stands alone rather than join w1's entity.
    assert entities["w1"] == entities["w2"]
    assert ("w1", "w2") in _links(workspace)
    assert result.summary["entities"]["beneficiary"]["rejected_links"] >= 1


def test_a_party_cannot_be_rejected_from_itself(tmp_path: Path) -> None:
    store = CaseStore.open(f"sqlite:///{tmp_path / 'cases.sqlite'}")
    try:
        with pytest.raises(WorkflowError, match="same person as itself"):
            reject_merge(store, "ana", "beneficiary", "w1", "w1")
        with pytest.raises(WorkflowError, match="unknown party kind"):
            reject_merge(store, "ana", "wallet", "w1", "w2")
    finally:
        store.close()


def test_no_case_store_beside_a_workspace_means_no_rejections(tmp_path: Path) -> None:
    assert rejected_pairs_beside(tmp_path / "vigil.duckdb") == []
    assert not (tmp_path / "cases.sqlite").exists()
