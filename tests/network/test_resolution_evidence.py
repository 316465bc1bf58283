"""Entity resolution on a payer or two: a facilitator's wallets with one offender in common,
a wallet handed over to a new one, two shops of one name with a customer in common.

A facilitator paid by one offender shows one payer on each wallet: "one payer in common"
is what namesakes also show now and then, but that the one payer is each wallet's only
one, or that the payer moved from the old wallet to the new as one stopped and the other
started, is what one person's wallets show. One customer in common among many on each
side is what two shops of one name show. The population of test_resolution gives the
model something to learn from.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.builders import payment
from tests.network.test_resolution import (
    _workspace,
    entity_of,
    link_explanation,
    population_rows,
)
from vigil.network.resolution import resolve_entities
from vigil.network.resolution_config import load_resolution_config
from vigil.network.resolution_model import (
    BENEFICIARY,
    PAIR_COLUMNS,
    SENDER,
    PartyKind,
    behaviour_sql,
    counterparts_comparison,
    parties_sql,
    party_records_sql,
    payment_summary_sql,
)
from vigil.network.resolution_training import _monotone
from vigil.workspace import Workspace

JANUARY = datetime(2024, 1, 2, 21, 0)
# One facilitator's two wallets, the second under a middle initial, each paid by her one
# offender and by no one else, side by side.
SOLE_PAYER_WALLETS = (
    ("W-LD-1", "Liza Dimaculangan", "Cebu City"),
    ("W-LD-2", "Liza M. Dimaculangan", "Cebu City"),
)
# A wallet used January to March, then a new one under a typo from the end of March; one
# of the old wallet's three payers moves to the new one, where two others join him.
OLD_WALLET = ("W-JM-OLD", "Jocelyn Macaraeg", "Iloilo City")
NEW_WALLET = ("W-JM-NEW", "Jocelyn Macareag", "Iloilo City")
# Two load shops of one name in one city, each with its own dozen customers, one customer
# buying from both.
SHOPS = (("W-LOAD-1", "Gadget Hub Load", "Bacolod"), ("W-LOAD-2", "Gadget Hub Load", "Bacolod"))


def _weekly(
    sender: str, wallet: tuple[str, str, str], start: datetime, weeks: int
) -> list[dict[str, str]]:
    wallet_id, name, city = wallet
    return [
        payment(sender, wallet_id, start + timedelta(weeks=week), beneficiary_name=name, city=city)
        for week in range(weeks)
    ]


def evidence_rows() -> list[dict[str, str]]:
    rows = population_rows()
    for wallet in SOLE_PAYER_WALLETS:
        rows += _weekly("S-OFF-LD", wallet, JANUARY, 20)
    for sender in ("S-OFF-JM", "S-JM-OLD-1", "S-JM-OLD-2"):
        rows += _weekly(sender, OLD_WALLET, JANUARY, 11)
    for sender in ("S-OFF-JM", "S-JM-NEW-1", "S-JM-NEW-2"):
        rows += _weekly(sender, NEW_WALLET, JANUARY + timedelta(weeks=12), 12)
    for number, shop in enumerate(SHOPS):
        for customer in range(12):
            rows += _weekly(f"S-SHOP-{number}-{customer}", shop, JANUARY, 3)
        rows += _weekly("S-SHOP-BOTH", shop, JANUARY + timedelta(days=number), 2)
    return rows


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("evidence")
    with _workspace(folder, evidence_rows()) as workspace:
        resolve_entities(workspace)
        yield workspace


def test_two_wallets_whose_only_payer_is_one_offender_merge(ws: Workspace) -> None:
    (first, _, _), (second, _, _) = SOLE_PAYER_WALLETS
    assert entity_of(ws, "beneficiary", first) == entity_of(ws, "beneficiary", second)
    explanation = link_explanation(ws, "beneficiary", first, second)
    assert "name: same name apart from a middle initial (+" in explanation
    assert (
        "payers: one payer in common, the only one of each (1 of 1 and 1 distinctive payers)"
        in explanation
    )


def test_a_wallet_handed_over_to_a_new_one_with_one_payer_merges(ws: Workspace) -> None:
    old, new = OLD_WALLET[0], NEW_WALLET[0]
    assert entity_of(ws, "beneficiary", old) == entity_of(ws, "beneficiary", new)
    explanation = link_explanation(ws, "beneficiary", old, new)
    assert "name: one letter dropped, added, changed or swapped (+" in explanation
    assert (
        "payers: payers in common, and one account stops as the other starts "
        "(1 of 3 and 3 distinctive payers) (+" in explanation
    )


def _levels_of(
    rows: list[dict[str, str]], kind: PartyKind, pairs: list[tuple[str, str]], folder: Path
) -> list[str]:
    """The payers (payees) level of each pair of parties, by the comparison's own SQL."""
    config = load_resolution_config()
    comparison = counterparts_comparison(kind)
    cases = " ".join(f"WHEN {level.sql} THEN '{level.key}'" for level in comparison.levels[:-1])
    columns = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in PAIR_COLUMNS)
    with _workspace(folder, rows) as workspace:
        con = workspace.con
        con.execute(f"CREATE TEMP TABLE summary AS {payment_summary_sql('payments')}")
        con.execute(f"CREATE TEMP TABLE names AS {parties_sql(kind, 'summary')}")
        con.execute(f"CREATE TEMP TABLE behaviour AS {behaviour_sql(kind, 'summary', config)}")
        con.execute(
            f"CREATE TEMP TABLE records AS {party_records_sql(kind, 'names', 'behaviour', config)}"
        )
        return [
            con.execute(
                f"SELECT CASE {cases} ELSE '{comparison.levels[-1].key}' END FROM ("
                f"SELECT {columns} FROM records l, records r "
                "WHERE l.party_id = ? AND r.party_id = ?)",
                [left, right],
            ).fetchall()[0][0]
            for left, right in pairs
        ]


def test_the_pattern_of_the_payers_in_common_sets_the_level(tmp_path: Path) -> None:
    levels = _levels_of(
        evidence_rows(),
        BENEFICIARY,
        [
            (SOLE_PAYER_WALLETS[0][0], SOLE_PAYER_WALLETS[1][0]),
            (OLD_WALLET[0], NEW_WALLET[0]),
            (SHOPS[0][0], SHOPS[1][0]),
        ],
        tmp_path,
    )
    assert levels == ["sole", "handover", "one_among_many"]


def test_a_senders_only_payee_in_common_is_one_payee_in_common(tmp_path: Path) -> None:
    # Two customers of one name each paying one performer and no one else: namesakes
    # among a performer's customers are common, so no "only one of each" level for senders
    # (nor "a payee few others pay": twenty other customers pay her too).
    customers = [("S-BM-1", "Bas Meijer"), ("S-BM-2", "Bas Meijer")]
    customers += [(f"S-FAN-{n}", f"Customer{n} Other") for n in range(20)]
    rows = [
        payment(customer, "W-PERFORMER", JANUARY + timedelta(days=7 * week), sender_name=name)
        for customer, name in customers
        for week in range(4)
    ]
    assert _levels_of(rows, SENDER, [("S-BM-1", "S-BM-2")], tmp_path) == ["one"]


def test_most_payees_in_common_means_most_of_each_customers_payees(tmp_path: Path) -> None:
    # One customer's two ids (each payment under one or the other) pay the same people;
    # two namesake customers of one performer do not: one of them also pays four others.
    def paid(customer: str, wallets: tuple[str, ...], name: str) -> list[dict[str, str]]:
        return [
            payment(customer, wallet, JANUARY + timedelta(days=7 * week), sender_name=name)
            for wallet in wallets
            for week in range(3)
        ]

    performer = ("W-STAN-1", "W-STAN-2")
    rows = paid("S-KM-1", (*performer, "W-A", "W-B", "W-C", "W-D"), "Karen Morgan")
    rows += paid("S-KM-2", performer, "Karen Morgan")
    rows += paid("S-JS-APP", (*performer, "W-A"), "John Smith")
    rows += paid("S-JS-AGENT", (*performer, "W-A"), "SMITH, John")
    pairs = [("S-KM-1", "S-KM-2"), ("S-JS-AGENT", "S-JS-APP")]
    assert _levels_of(rows, SENDER, pairs, tmp_path) == ["several", "most"]


def test_a_payer_pattern_never_weighs_less_than_one_payer_in_common() -> None:
    # Trained apart on few pairs, "the only one of each" or "handed over" could come out
    # weaker than "one payer in common", and one among many stronger: not so after training.
    config = load_resolution_config()
    trained = {
        ("payers", "one"): (0.3, 0.001),
        ("payers", "sole"): (0.0001, 0.0001),
        ("payers", "handover"): (0.002, 0.0001),
        ("payers", "one_among_many"): (0.3, 0.0001),
    }
    levels = _monotone(trained, BENEFICIARY, config)

    def weight(level: str) -> float:
        m, u = levels[("payers", level)]
        return m / u

    assert weight("one") >= weight("one_among_many")
    assert weight("sole") >= weight("one")
    assert weight("handover") >= weight("one")
    assert weight("several") >= weight("one")
