"""Analysts' decisions on entity resolution's merges: "not the same person".

A rejection is stored in the case store (with an audit entry in the same transaction) and
read by every later scan, which keeps the two parties apart (vigil.network.resolution).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vigil.cases import audit
from vigil.cases.errors import WorkflowError
from vigil.cases.models import PARTY_KINDS, EntityDecision, utcnow
from vigil.cases.store import CASE_STORE_FILE, CaseStore, default_database_url

NOT_SAME_PERSON = "not_same_person"
MAX_REASON = 500


@dataclass(frozen=True)
class RejectedPair:
    party_kind: str
    left_id: str
    right_id: str


def reject_merge(
    store: CaseStore, actor: str, kind: str, party_id: str, other_id: str, reason: str = ""
) -> RejectedPair:
    """Record that `party_id` and `other_id` are not the same person (audited)."""
    if kind not in PARTY_KINDS:
        raise WorkflowError(f"unknown party kind {kind!r}")
    if party_id == other_id:
        raise WorkflowError("a party is always the same person as itself")
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise WorkflowError(f"the reason is longer than {MAX_REASON} characters")
    left, right = sorted((party_id, other_id))
    with store.session() as session:
        decision = session.get(EntityDecision, (kind, left, right))
        if decision is None:
            decision = EntityDecision(party_kind=kind, left_id=left, right_id=right)
            session.add(decision)
        decision.decision = NOT_SAME_PERSON
        decision.reason = reason
        decision.decided_by = actor
        decision.decided_at = utcnow()
        audit.record(
            session,
            actor,
            "entity.not_same_person",
            f"{kind}:{left}",
            {"other": right, "reason_given": bool(reason)},
        )
    return RejectedPair(kind, left, right)


def rejected_pairs(store: CaseStore) -> list[RejectedPair]:
    """Every pair an analyst said is not one person, in a stable order."""
    query = (
        select(EntityDecision.party_kind, EntityDecision.left_id, EntityDecision.right_id)
        .where(EntityDecision.decision == NOT_SAME_PERSON)
        .order_by(EntityDecision.party_kind, EntityDecision.left_id, EntityDecision.right_id)
    )
    with store.session() as session:
        return [RejectedPair(*row) for row in session.execute(query).all()]


def rejected_pairs_beside(workspace: Path) -> list[RejectedPair]:
    """The rejections in the SQLite case store beside a workspace; none if it has none."""
    if not (Path(workspace).resolve().parent / CASE_STORE_FILE).is_file():
        return []
    store = CaseStore.open(default_database_url(workspace))
    try:
        return rejected_pairs(store)
    finally:
        store.close()


def rejected_with(store: CaseStore, kind: str, party_id: str) -> set[str]:
    """The parties an analyst said `party_id` is not the same person as."""
    query = select(EntityDecision.left_id, EntityDecision.right_id).where(
        EntityDecision.party_kind == kind,
        EntityDecision.decision == NOT_SAME_PERSON,
        (EntityDecision.left_id == party_id) | (EntityDecision.right_id == party_id),
    )
    with store.session() as session:
        return {right if left == party_id else left for left, right in session.execute(query)}


def without_rejected(
    store: CaseStore, kind: str, party_id: str, links: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A party page's "same person as" links less those an analyst rejected since the
    last scan (the next scan drops them from the workspace too)."""
    rejected = rejected_with(store, kind, party_id)
    return [link for link in links if link["party_id"] not in rejected]
