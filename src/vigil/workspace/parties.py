"""Which scored party an id names: shared by every reader of a scanned workspace."""

from __future__ import annotations

from vigil.errors import VigilError
from vigil.schema import PARTY_KINDS as KINDS
from vigil.workspace.store import Workspace


def resolve_kind(ws: Workspace, party_id: str, kind: str | None = None) -> str:
    """The kind of `party_id`; a clear error when it is unknown or both a sender and a
    beneficiary (then the caller must say which)."""
    if kind is not None and kind not in KINDS:
        raise VigilError(f"party kind must be sender or beneficiary, not {kind!r}")
    kinds = [kind] if kind else list(KINDS)
    found = [
        k
        for k in kinds
        if ws.con.execute(f"SELECT 1 FROM {k}_scores WHERE party_id = ?", [party_id]).fetchall()
    ]
    if not found:
        what = f"{kind} " if kind else ""
        raise VigilError(f"{ws.path}: no scored {what}party with id {party_id!r}")
    if len(found) > 1:
        raise VigilError(
            f"{party_id!r} is both a sender and a beneficiary: say which with --party-kind"
        )
    return found[0]
