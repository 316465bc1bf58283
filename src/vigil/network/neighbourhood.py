"""A party's neighbourhood in the payer–beneficiary graph: what `vigil network` writes and the
web app draws. Reads the scanned workspace only; bounded, so a hub cannot flood the view."""

from __future__ import annotations

from typing import Any

from vigil.errors import VigilError
from vigil.workspace import Workspace
from vigil.workspace.parties import KINDS, resolve_kind

OTHER = {"sender": "beneficiary", "beneficiary": "sender"}


def node_id(kind: str, party_id: str) -> str:
    return f"{kind}:{party_id}"


def neighbourhood(
    ws: Workspace,
    party_id: str,
    *,
    kind: str | None = None,
    hops: int = 1,
    max_nodes: int = 200,
) -> dict[str, Any]:
    """Nodes within `hops` payments of the party, with scores and roles, and the edges among
    them with payment counts and totals. Past `max_nodes`, each hop keeps its riskiest and
    most-paid parties first and the answer says it was truncated."""
    if hops < 1:
        raise VigilError(f"--hops must be at least 1, not {hops}")
    if not ws.has_table("pair_features"):
        raise VigilError(f"{ws.path}: this workspace has not been scanned yet")
    kind = resolve_kind(ws, party_id, kind)
    chosen: dict[str, set[str]] = {"sender": set(), "beneficiary": set()}
    chosen[kind].add(party_id)
    frontier, frontier_kind, truncated = [party_id], kind, False
    for _ in range(hops):
        room = max_nodes - sum(len(ids) for ids in chosen.values())
        if not frontier or room <= 0:
            truncated = truncated or bool(frontier)
            break
        seen = chosen[OTHER[frontier_kind]]
        reached = _counterparties(ws, frontier_kind, frontier, seen, limit=room + 1)
        truncated = truncated or len(reached) > room
        frontier, frontier_kind = reached[:room], OTHER[frontier_kind]
        chosen[frontier_kind].update(frontier)
    nodes = _nodes(ws, chosen, kind, party_id)
    return {
        "party": {"kind": kind, "id": party_id},
        "hops": hops,
        "truncated": truncated,
        "nodes": nodes,
        "edges": _edges(ws, chosen),
    }


def _counterparties(
    ws: Workspace, kind: str, ids: list[str], seen: set[str], *, limit: int
) -> list[str]:
    """Up to `limit` parties of the other kind paid by / paying `ids` and not in `seen`,
    riskiest and busiest first (the database cuts a hub's thousands, not Python)."""
    other = OTHER[kind]
    rows = ws.con.execute(
        f"""SELECT p.{other}_id, max(s.score) AS score, sum(p.payments) AS payments
            FROM pair_features p JOIN {other}_scores s ON s.party_id = p.{other}_id
            WHERE p.{kind}_id IN (SELECT unnest(?::VARCHAR[]))
              AND p.{other}_id NOT IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY 1 ORDER BY score DESC, payments DESC, 1
            LIMIT ?""",
        [ids, sorted(seen), limit],
    ).fetchall()
    return [row[0] for row in rows]


def _nodes(
    ws: Workspace, chosen: dict[str, set[str]], focus_kind: str, focus_id: str
) -> list[dict[str, Any]]:
    nodes = []
    for kind in KINDS:
        if not chosen[kind]:
            continue
        entity = (
            f"(SELECT entity_id FROM {kind}_entities e WHERE e.party_id = s.party_id)"
            if ws.has_table(f"{kind}_entities")
            else "NULL"
        )
        listed = (
            "(SELECT count(*) > 0 FROM watchlist_matches w "
            f"WHERE w.party_kind = '{kind}' AND w.party_id = s.party_id)"
            if ws.has_table("watchlist_matches")
            else "false"
        )
        rows = ws.con.execute(
            f"""SELECT s.party_id, s.name, s.country, s.score, s.rank, s.payments, s.total_usd,
                       {entity} AS entity_id, {listed} AS watchlisted,
                       coalesce(a.indicators, '') AS indicators
                FROM {kind}_scores s
                LEFT JOIN alerts a ON a.party_kind = ? AND a.party_id = s.party_id
                WHERE s.party_id IN (SELECT unnest(?::VARCHAR[]))
                ORDER BY s.rank""",
            [kind, sorted(chosen[kind])],
        ).fetchall()
        for pid, name, country, score, rank, payments, total, entity_id, watched, fired in rows:
            role = "focus" if (kind, pid) == (focus_kind, focus_id) else _role(kind)
            nodes.append(
                {
                    "id": node_id(kind, pid),
                    "kind": kind,
                    "party_id": pid,
                    "name": name,
                    "country": country,
                    "score": round(float(score), 6),
                    "rank": int(rank),
                    "payments": int(payments),
                    "total_usd": round(float(total), 2),
                    "role": role,
                    "entity_id": entity_id,
                    "watchlisted": bool(watched),
                    "indicators": fired,
                }
            )
    return nodes


def _role(kind: str) -> str:
    return "payer" if kind == "sender" else "beneficiary"


def _edges(ws: Workspace, chosen: dict[str, set[str]]) -> list[dict[str, Any]]:
    if not chosen["sender"] or not chosen["beneficiary"]:
        return []
    rows = ws.con.execute(
        """SELECT sender_id, beneficiary_id, payments, amount_usd,
                  strftime(first_ts, '%Y-%m-%d'), strftime(last_ts, '%Y-%m-%d')
           FROM pair_features
           WHERE sender_id IN (SELECT unnest(?::VARCHAR[]))
             AND beneficiary_id IN (SELECT unnest(?::VARCHAR[]))
           ORDER BY sender_id, beneficiary_id""",
        [sorted(chosen["sender"]), sorted(chosen["beneficiary"])],
    ).fetchall()
    return [
        {
            "source": node_id("sender", s),
            "target": node_id("beneficiary", b),
            "payments": int(n),
            "total_usd": round(float(total), 2),
            "first": first,
            "last": last,
        }
        for s, b, n, total, first, last in rows
    ]
