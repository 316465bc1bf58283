"""The graph stage on small hand-made graphs: association (N3), communities (N2), hubs."""

from __future__ import annotations

import pytest

from vigil.indicators.catalogue import load_catalogue
from vigil.network.graph import graph_features
from vigil.workspace import Workspace

PARAMETERS = load_catalogue().parameters


def build(
    edges: list[tuple[str, str, int, bool]],
    base: dict[str, float],
    *,
    listed: list[tuple[str, str]] = (),
    entities: dict[str, str] | None = None,
) -> Workspace:
    """A workspace holding just what the graph stage reads: pairs (sender, beneficiary,
    payments, related), behaviour scores (0 when not given) and optional watchlist hits."""
    ws = Workspace.open(":memory:")
    senders = sorted({s for s, *_ in edges})
    beneficiaries = sorted({b for _, b, *_ in edges})
    ws.replace_table_rows(
        "pair_features",
        {"sender_id": "VARCHAR", "beneficiary_id": "VARCHAR", "payments": "BIGINT"}
        | {"related": "BOOLEAN"},
        edges,
    )
    for kind, ids in (("sender", senders), ("beneficiary", beneficiaries)):
        ws.replace_table_rows(f"{kind}_features", {"party_id": "VARCHAR"}, [(i,) for i in ids])
        ws.replace_table_rows(
            f"{kind}_base_scores",
            {"party_id": "VARCHAR", "score": "DOUBLE"},
            [(i, base.get(i, 0.0)) for i in ids],
        )
    ws.replace_table_rows(
        "watchlist_matches",
        {"party_kind": "VARCHAR", "party_id": "VARCHAR", "source": "VARCHAR", "how": "VARCHAR"},
        [(kind, pid, "test list", "id") for kind, pid in listed],
    )
    if entities is not None:
        ws.replace_table_rows(
            "beneficiary_entities",
            {"party_id": "VARCHAR", "entity_id": "VARCHAR"},
            [(b, entities.get(b, b)) for b in beneficiaries],
        )
    return ws


def features(ws: Workspace, kind: str) -> dict[str, dict]:
    rows = ws.con.sql(f"SELECT * FROM {kind}_graph_features").fetchall()
    columns = [c for c, *_ in ws.con.sql(f"DESCRIBE {kind}_graph_features").fetchall()]
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


def test_a_light_payer_of_a_shared_facilitator_is_close_to_the_strong_payers():
    edges = [("strong1", "fac", 40, False), ("strong2", "fac", 30, False)]
    edges += [("light", "fac", 3, False), ("plain", "shop", 10, False)]
    ws = build(edges, {"strong1": 0.9, "strong2": 0.85})
    graph_features(ws, PARAMETERS)
    senders = features(ws, "sender")
    assert senders["light"]["association"] > 0.3
    assert senders["plain"]["association"] == 0
    assert features(ws, "beneficiary")["fac"]["association"] > 0.5


def test_a_party_does_not_meet_itself():
    """A suspicious sender with one exclusive beneficiary: the walk only goes back and forth,
    and what it meets besides the sender is the beneficiary, which shows nothing."""
    ws = build([("lone", "partner", 50, False)], {"lone": 0.9})
    graph_features(ws, PARAMETERS)
    assert features(ws, "sender")["lone"]["association"] == pytest.approx(0, abs=1e-6)
    assert features(ws, "beneficiary")["partner"]["association"] == pytest.approx(0.9, abs=1e-6)


def test_a_hub_does_not_light_up_its_neighbourhood():
    """A charity paid by sixty ordinary donors and one offender: the donors stay far below a
    co-payer of a real facilitator, and so does the charity."""
    edges = [(f"donor{i}", "charity", 6, False) for i in range(60)]
    edges += [("offender", "charity", 6, False), ("offender", "fac", 40, False)]
    edges += [("other_offender", "fac", 30, False), ("light", "fac", 3, False)]
    ws = build(edges, {"offender": 0.9, "other_offender": 0.9})
    graph_features(ws, PARAMETERS)
    senders, beneficiaries = features(ws, "sender"), features(ws, "beneficiary")
    donors = [senders[f"donor{i}"]["association"] for i in range(60)]
    assert max(donors) < 0.05 < senders["light"]["association"]
    assert beneficiaries["charity"]["association"] < 0.05 < beneficiaries["fac"]["association"]
    assert beneficiaries["charity"]["community_suspicion"] < 0.1


def test_family_money_carries_little_association():
    """Relatives (shared surname) paying one household: a suspicious cousin does not make the
    rest of the family look like co-payers."""
    edges = [(f"relative{i}", "home", 12, True) for i in range(5)]
    edges += [("cousin", "home", 12, True), ("cousin", "fac", 30, False)]
    edges += [("other_offender", "fac", 30, False)]
    ws = build(edges, {"cousin": 0.9, "other_offender": 0.9})
    unrelated = build(
        [(s, b, n, False) for s, b, n, _ in edges], {"cousin": 0.9, "other_offender": 0.9}
    )
    graph_features(ws, PARAMETERS)
    graph_features(unrelated, PARAMETERS)
    assert features(ws, "sender")["relative0"]["association"] == 0
    assert features(unrelated, "sender")["relative0"]["association"] > 0.05


def test_watchlisted_parties_seed_the_walk():
    edges = [("known", "fac", 20, False), ("light", "fac", 2, False)]
    plain = build(edges, {})
    listed = build(edges, {}, listed=[("sender", "known")])
    graph_features(plain, PARAMETERS)
    graph_features(listed, PARAMETERS)
    assert features(plain, "sender")["light"]["association"] == 0
    assert features(listed, "sender")["light"]["association"] > 0.3


def test_communities_are_scored_by_the_share_of_suspicious_members():
    ring = [(f"o{i}", f"f{j}", 10, False) for i in range(4) for j in range(2)]
    shop = [(f"c{i}", "shop", 3, False) for i in range(20)]
    ws = build(ring + shop, {"o0": 0.9, "o1": 0.8, "o2": 0.7})
    summary = graph_features(ws, PARAMETERS)
    senders = features(ws, "sender")
    assert senders["o3"]["community_id"] == senders["o0"]["community_id"]
    assert senders["o3"]["community_suspicious_others"] == 3
    assert senders["o3"]["community_suspicion"] == pytest.approx(3 / 5)
    assert senders["o3"]["community_density"] == pytest.approx(1.0)
    assert senders["c0"]["community_suspicion"] == 0
    assert summary.communities >= 2 and summary.seeds == 3
    ring_row = ws.con.sql(
        "SELECT size, suspicious_members, scored FROM communities WHERE community_id = ?",
        params=[senders["o0"]["community_id"]],
    ).fetchall()
    assert ring_row == [(6, 3, True)]


def test_communities_are_reproducible():
    edges = [(f"s{i}", f"b{(i * 7) % 11}", 1 + i % 5, False) for i in range(60)]
    edges += [(f"s{i}", f"b{(i * 3) % 11}", 2, False) for i in range(60)]
    first, second = build(edges, {"s1": 0.9}), build(edges, {"s1": 0.9})
    graph_features(first, PARAMETERS)
    graph_features(second, PARAMETERS)
    assert features(first, "sender") == features(second, "sender")


def test_wallets_of_one_person_share_one_vertex():
    """Two wallets resolved to one facilitator: each light payer of one wallet now shares a
    facilitator with the strong payers of the other."""
    edges = [("strong1", "wallet_a", 40, False), ("strong2", "wallet_a", 40, False)]
    edges += [("light", "wallet_b", 3, False)]
    apart = build(edges, {"strong1": 0.9, "strong2": 0.9})
    merged = build(
        edges, {"strong1": 0.9, "strong2": 0.9}, entities={"wallet_a": "E1", "wallet_b": "E1"}
    )
    graph_features(apart, PARAMETERS)
    graph_features(merged, PARAMETERS)
    assert features(apart, "sender")["light"]["association"] == 0
    assert features(merged, "sender")["light"]["association"] > 0.3
    wallets = features(merged, "beneficiary")
    assert wallets["wallet_a"]["entity_id"] == wallets["wallet_b"]["entity_id"] == "E1"
    assert wallets["wallet_a"]["association"] == wallets["wallet_b"]["association"]
