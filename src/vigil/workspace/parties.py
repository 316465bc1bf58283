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


def typology_contrast(ws: Workspace, kind: str, party_id: str) -> dict:
    """Which look-alike typology fits the party best and why, beside the crime's pattern:
    `fits` (typology, title, statement, sources, fit, figures, discount, best first),
    `best` (the first of them, or None) and `verdict`, one sentence for the analyst."""
    fits: list[dict] = []
    if ws.has_table("typology_fits"):
        cursor = ws.con.execute(
            """SELECT f.typology, k.title, k.statement, k.sources, f.fit, f.figures,
                      CAST(k.discount AS DOUBLE) AS discount
               FROM typology_fits f JOIN typology_catalogue k USING (party_kind, typology)
               WHERE f.party_kind = ? AND f.party_id = ? ORDER BY f.fit DESC, f.typology""",
            [kind, party_id],
        )
        columns = [d[0] for d in cursor.description]
        fits = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    best = fits[0] if fits else None
    if best is None:
        verdict = (
            "No look-alike typology fits: adult content, a romance scam, business payments, "
            "living abroad and family support do not explain these payments."
        )
    elif best["discount"] > 0:
        verdict = (
            f"Pattern of a {best['title'].lower()} (fit {best['fit']:.2f}): {best['figures']}. "
            f"That explains the same payments, so the crime's pattern counts "
            f"{max(f['fit'] * f['discount'] for f in fits):.0%} less."
        )
    else:
        verdict = (
            f"Also {best['title'].lower()} (fit {best['fit']:.2f}): {best['figures']}. "
            "Family money to relatives is left out of the crime's pattern."
        )
    return {"fits": fits, "best": best, "verdict": verdict}
