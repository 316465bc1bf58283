"""The payer–beneficiary graph over resolved entities, and what it says about each party.

Built once per scan with igraph from integer-keyed edge arrays (no Python loop over payments):
- risk by association (N3): a personalised PageRank from the parties whose own behaviour is
  suspicious and from watch-listed parties, read per party as the average suspicion a short
  random walk from it meets, its own excluded;
- communities (N2): Leiden over the weighted graph, each scored by its density and by how many
  of its members show the pattern.
Both are shares, not counts, so a hub (a charity, a shop, a freelancer, a family) paid by many
ordinary people stays low however many neighbours it has.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import igraph as ig
import numpy as np
import pyarrow as pa

from vigil.indicators.catalogue import Parameters
from vigil.schema import PARTY_KINDS as KINDS
from vigil.workspace import Workspace

GRAPH_FEATURES = (
    "association",
    "community_id",
    "community_size",
    "community_senders",
    "community_beneficiaries",
    "community_density",
    "community_suspicious_others",
    "community_suspicion",
)


@dataclass(frozen=True)
class GraphSummary:
    vertices: int
    edges: int
    communities: int
    seeds: int

    def to_dict(self) -> dict[str, int]:
        return self.__dict__.copy()


def entity_of(ws: Workspace, kind: str) -> str:
    """SQL mapping each scored party of `kind` to its resolved entity (itself if unresolved)."""
    if ws.has_table(f"{kind}_entities"):
        return (
            f"SELECT s.party_id, coalesce(e.entity_id, s.party_id) AS entity_id "
            f"FROM {kind}_features s LEFT JOIN {kind}_entities e USING (party_id)"
        )
    return f"SELECT party_id, party_id AS entity_id FROM {kind}_features"


def graph_features(ws: Workspace, parameters: Parameters) -> GraphSummary:
    """Writes `sender_graph_features`, `beneficiary_graph_features` (one row per party) and
    `communities` (one row per community of two or more: size, density, members whose own
    behaviour shows the pattern, and whether it is big enough to score). Needs
    `pair_features` and the behaviour-only `{kind}_base_scores` of round one."""
    net = parameters.network
    threshold = parameters.suspicious_score
    listed = (
        "SELECT DISTINCT party_kind, party_id FROM watchlist_matches"
        if ws.has_table("watchlist_matches")
        else "SELECT NULL::VARCHAR AS party_kind, NULL::VARCHAR AS party_id WHERE false"
    )
    ws.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE graph_accounts AS
        WITH listed AS ({listed})
        SELECT 'sender' AS kind, m.party_id, m.entity_id, b.score AS base,
               l.party_id IS NOT NULL AS listed
        FROM ({entity_of(ws, "sender")}) m
        JOIN sender_base_scores b USING (party_id)
        LEFT JOIN listed l ON l.party_kind = 'sender' AND l.party_id = m.party_id
        UNION ALL
        SELECT 'beneficiary', m.party_id, m.entity_id, b.score,
               l.party_id IS NOT NULL
        FROM ({entity_of(ws, "beneficiary")}) m
        JOIN beneficiary_base_scores b USING (party_id)
        LEFT JOIN listed l ON l.party_kind = 'beneficiary' AND l.party_id = m.party_id"""
    )
    ws.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE graph_vertices AS
        SELECT (row_number() OVER (ORDER BY kind, entity_id) - 1)::BIGINT AS v, kind, entity_id,
               max(base) AS base, bool_or(listed) AS listed,
               CASE WHEN bool_or(listed) THEN 1.0
                    WHEN max(base) >= {threshold} THEN max(base) ELSE 0.0 END AS seed
        FROM graph_accounts GROUP BY kind, entity_id"""
    )
    ws.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE graph_edges AS
        WITH accounts AS (SELECT kind, party_id, entity_id FROM graph_accounts)
        SELECT sv.v AS s, bv.v AS b,
               sum(p.payments * CASE WHEN p.related THEN {net.related_weight} ELSE 1 END)
                   AS weight
        FROM pair_features p
        JOIN accounts sa ON sa.kind = 'sender' AND sa.party_id = p.sender_id
        JOIN accounts ba ON ba.kind = 'beneficiary' AND ba.party_id = p.beneficiary_id
        JOIN graph_vertices sv ON sv.kind = 'sender' AND sv.entity_id = sa.entity_id
        JOIN graph_vertices bv ON bv.kind = 'beneficiary' AND bv.entity_id = ba.entity_id
        GROUP BY 1, 2 HAVING weight > 0"""
    )
    vertices = ws.con.sql("SELECT seed, kind = 'sender' FROM graph_vertices ORDER BY v")
    seed, is_sender = (np.asarray(c) for c in vertices.fetchnumpy().values())
    edges = ws.con.sql("SELECT s, b, weight FROM graph_edges ORDER BY s, b").fetchnumpy()
    pairs = np.column_stack([edges["s"], edges["b"]]).astype(np.int64)
    weight = np.asarray(edges["weight"], dtype=np.float64)

    graph = ig.Graph(n=len(seed), edges=pairs, directed=False)
    graph.es["weight"] = weight
    association = _association(graph, pairs, weight, seed, net.damping)
    membership = _communities(graph, net.community_resolution, net.seed)
    suspicious = seed > 0
    communities = _community_table(membership, is_sender, suspicious, pairs)
    own_community = communities[membership]
    size = own_community["size"]
    others_suspicious = own_community["suspicious"] - suspicious
    scored = size >= net.community_min_size
    per_vertex = pa.table(
        {
            "v": np.arange(len(seed), dtype=np.int64),
            "association": association,
            "community_id": membership.astype(np.int64),
            "community_size": size,
            "community_senders": own_community["senders"],
            "community_beneficiaries": own_community["beneficiaries"],
            "community_density": own_community["density"],
            "community_suspicious": own_community["suspicious"],
            "community_suspicious_others": np.where(scored, others_suspicious, 0),
            "community_suspicion": np.where(
                scored, others_suspicious / np.maximum(size - 1, 1), 0.0
            ),
        }
    )
    # from_arrow, not register: registering imports pandas, seconds on a cold start.
    ws.con.execute("DROP TABLE IF EXISTS graph_per_vertex")
    ws.con.from_arrow(per_vertex).create("graph_per_vertex")
    try:
        for kind in KINDS:
            ws.con.execute(
                f"""CREATE OR REPLACE TABLE {kind}_graph_features AS
                SELECT a.party_id, a.entity_id, {", ".join(f"g.{c}" for c in GRAPH_FEATURES)}
                FROM graph_accounts a
                JOIN graph_vertices v ON v.kind = a.kind AND v.entity_id = a.entity_id
                JOIN graph_per_vertex g ON g.v = v.v
                WHERE a.kind = '{kind}'"""
            )
        ws.con.execute(
            f"""CREATE OR REPLACE TABLE communities AS
            SELECT DISTINCT community_id, community_size AS size,
                   community_senders AS senders, community_beneficiaries AS beneficiaries,
                   community_density AS density, community_suspicious AS suspicious_members,
                   community_size >= {net.community_min_size} AS scored
            FROM graph_per_vertex WHERE community_size >= 2"""
        )
    finally:
        ws.con.execute("DROP TABLE graph_per_vertex")
    return GraphSummary(
        len(seed), len(weight), int(membership.max(initial=-1) + 1), int(suspicious.sum())
    )


def _association(
    graph: ig.Graph, pairs: np.ndarray, weight: np.ndarray, seed: np.ndarray, damping: float
) -> np.ndarray:
    """For each vertex, the seed value a random walk from it meets on average (restart chance
    1 - damping per hop), its own visits excluded. On an undirected graph one personalised
    PageRank serves every start at once: reset ∝ seed × strength, then the walk from v meets
    E[v] = Z · π(v) / strength(v) in expectation, Z = Σ seed × strength. The start's own share
    (the walk sitting on it, or coming straight back through a counterparty) is estimated from
    the two-hop return chance and taken out, or a sender with one exclusive beneficiary would
    only ever meet itself."""
    n = len(seed)
    strength = np.bincount(pairs.ravel(), weights=np.repeat(weight, 2), minlength=n)
    mass = seed * strength
    total = mass.sum()
    if total <= 0 or len(weight) == 0:
        return np.zeros(n)
    pagerank = np.asarray(
        graph.personalized_pagerank(
            directed=False, damping=damping, reset=(mass / total).tolist(), weights="weight"
        )
    )
    met = np.divide(total * pagerank, strength, out=np.zeros(n), where=strength > 0)
    # Chance of standing on v again two hops later: Σ over its edges of P(v→u) · P(u→v).
    a, b = pairs[:, 0], pairs[:, 1]
    both_ways = weight**2 / (strength[a] * strength[b])
    back = np.bincount(a, weights=both_ways, minlength=n) + np.bincount(
        b, weights=both_ways, minlength=n
    )
    on_self = (1 - damping) / (1 - damping**2 * np.minimum(back, 1.0))
    elsewhere = np.divide(met - seed * on_self, 1 - on_self, out=np.zeros(n), where=on_self < 1)
    return np.clip(elsewhere, 0.0, 1.0)


def _communities(graph: ig.Graph, resolution: float, seed: int) -> np.ndarray:
    if graph.vcount() == 0:
        return np.zeros(0, dtype=np.int64)
    random.seed(seed)  # igraph draws from Python's generator: same graph, same communities
    clusters = graph.community_leiden(
        objective_function="modularity", weights="weight", resolution=resolution, n_iterations=2
    )
    return np.asarray(clusters.membership, dtype=np.int64)


def _community_table(
    membership: np.ndarray, is_sender: np.ndarray, suspicious: np.ndarray, pairs: np.ndarray
) -> np.ndarray:
    """Per community: size, senders, beneficiaries, suspicious members, bipartite density."""
    count = int(membership.max(initial=-1)) + 1
    senders = np.bincount(membership, weights=is_sender, minlength=count).astype(np.int64)
    size = np.bincount(membership, minlength=count).astype(np.int64)
    beneficiaries = size - senders
    flagged = np.bincount(membership, weights=suspicious, minlength=count).astype(np.int64)
    inside = membership[pairs[:, 0]] == membership[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
    internal = np.bincount(membership[pairs[inside, 0]], minlength=count) if len(pairs) else 0
    possible = senders * beneficiaries
    density = np.divide(internal, possible, out=np.zeros(count), where=possible > 0)
    table = np.zeros(
        count,
        dtype=[
            ("size", np.int64),
            ("senders", np.int64),
            ("beneficiaries", np.int64),
            ("suspicious", np.int64),
            ("density", np.float64),
        ],
    )
    table["size"], table["senders"], table["beneficiaries"] = size, senders, beneficiaries
    table["suspicious"], table["density"] = flagged, density
    return table
