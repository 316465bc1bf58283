"""One party's facts as the scan left them in the workspace: the source of every report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from vigil.errors import VigilError
from vigil.workspace import Workspace
from vigil.workspace.parties import resolve_kind, typology_contrast


@dataclass(frozen=True)
class PartyFacts:
    """Everything a report says about one scored party, read once from the workspace."""

    kind: str  # "sender" or "beneficiary"
    party_id: str
    name: str
    country: str
    score: float
    rank: int
    parties_of_kind: int
    reporting_currency: str
    # indicator, title, statement, sources, contribution, strength, value, figures
    contributions: pl.DataFrame
    # the party's payments, oldest first (every column of the `payments` table)
    payments: pl.DataFrame
    # party_id, name, country, payments, amount, first_ts, last_ts, score, rank, indicators
    counterparties: pl.DataFrame
    # parties of the same kind sharing counterparties: party_id, name, country, shared, score,
    # indicators
    co_parties: pl.DataFrame
    # the look-alike typologies it fits, best first, and the verdict sentence
    typologies: dict

    @property
    def counterparty_kind(self) -> str:
        return "beneficiary" if self.kind == "sender" else "sender"


def _frame(ws: Workspace, sql: str, params: list) -> pl.DataFrame:
    return pl.from_arrow(ws.con.sql(sql, params=params).to_arrow_table())


def load_party(workspace: Path | Workspace, party_id: str, kind: str | None = None) -> PartyFacts:
    """Read one party's score, explanation, payments, counterparties and co-parties."""
    if not isinstance(workspace, Workspace):
        path = Path(workspace)
        if not path.is_file():
            raise VigilError(f"{path}: no such workspace (run `vigil scan` first)")
        with Workspace.open(path, read_only=True) as ws:
            return load_party(ws, party_id, kind)
    ws = workspace
    if not ws.has_table("alerts"):
        raise VigilError(f"{ws.path}: this workspace has not been scanned yet")
    ws.require_scan_complete()
    kind = resolve_kind(ws, party_id, kind)
    other = "beneficiary" if kind == "sender" else "sender"
    own, their = f"{kind}_id", f"{other}_id"
    head = ws.con.execute(
        f"SELECT name, country, score, rank, (SELECT count(*) FROM {kind}_scores) "
        f"FROM {kind}_scores WHERE party_id = ?",
        [party_id],
    ).fetchall()[0]  # fetchall: a half-read result blocks the connection in DuckDB 2
    contributions = _frame(
        ws,
        """SELECT h.indicator, c.title, c.statement, c.sources, h.contribution, h.strength,
                  h.value, h.figures
           FROM indicator_hits h JOIN indicator_catalogue c USING (party_kind, indicator)
           WHERE h.party_kind = ? AND h.party_id = ? ORDER BY h.contribution DESC""",
        [kind, party_id],
    )
    payments = _frame(
        ws, f"SELECT * FROM payments WHERE {own} = ? ORDER BY ts_utc, txn_id", [party_id]
    )
    counterparties = _frame(
        ws,
        f"""SELECT p.{their} AS party_id, s.name, s.country, p.payments,
                   p.amount_usd AS amount, p.first_ts, p.last_ts, s.score, s.rank, a.indicators
            FROM pair_features p
            JOIN {other}_scores s ON s.party_id = p.{their}
            LEFT JOIN alerts a ON a.party_kind = ? AND a.party_id = p.{their}
            WHERE p.{own} = ? ORDER BY p.payments DESC, party_id""",
        [other, party_id],
    )
    co_parties = _frame(
        ws,
        f"""WITH mine AS (SELECT {their} FROM pair_features WHERE {own} = ?)
            SELECT p.{own} AS party_id, s.name, s.country, count(*) AS shared,
                   s.score, a.indicators
            FROM pair_features p JOIN mine USING ({their})
            JOIN {kind}_scores s ON s.party_id = p.{own}
            LEFT JOIN alerts a ON a.party_kind = ? AND a.party_id = p.{own}
            WHERE p.{own} <> ?
            GROUP BY ALL ORDER BY shared DESC, s.score DESC, party_id""",
        [party_id, kind, party_id],
    )
    return PartyFacts(
        kind=kind,
        party_id=party_id,
        name=head[0],
        country=head[1],
        score=float(head[2]),
        rank=int(head[3]),
        parties_of_kind=int(head[4]),
        reporting_currency=ws.meta_get("reporting_currency") or "USD",
        contributions=contributions,
        payments=payments,
        counterparties=counterparties,
        co_parties=co_parties,
        typologies=typology_contrast(ws, kind, party_id),
    )
