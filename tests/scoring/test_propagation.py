"""Propagation between senders and beneficiaries counts resolved people, not accounts."""

from __future__ import annotations

import ibis
import pandas as pd

from vigil.scoring.propagation import beneficiary_network_features, sender_network_features

THRESHOLD = 0.5


def pair(sender: str, person: str, wallet: str, facilitator: str, **flags) -> dict:
    return {
        "sender_id": sender,
        "sender_entity": person,
        "beneficiary_id": wallet,
        "beneficiary_entity": facilitator,
        "payments": flags.get("payments", 5),
        "related": flags.get("related", False),
        "hr": True,
        "foreign": True,
    }


def network(pairs: list[dict], scores: dict[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = ibis.memtable(pd.DataFrame(pairs))
    scored = ibis.memtable(pd.DataFrame({"party_id": list(scores), "score": list(scores.values())}))
    senders = sender_network_features(table, scored, THRESHOLD).to_pandas()
    beneficiaries = beneficiary_network_features(table, scored, THRESHOLD).to_pandas()
    return senders.set_index("party_id"), beneficiaries.set_index("party_id")


def test_a_payer_of_a_facilitators_new_wallet_is_a_co_payer_of_those_who_paid_the_old_ones():
    # Two offenders paid the old wallet; the facilitator churned to a new one, which a
    # newcomer pays: resolution made both wallets one person.
    pairs = [
        pair("c1", "p1", "old", "F"),
        pair("c2", "p2", "old", "F"),
        pair("new1", "p3", "new", "F"),
    ]
    senders, beneficiaries = network(pairs, {"c1": 0.9, "c2": 0.9, "new1": 0.1})
    assert senders.loc["new1", "suspicious_co_payers"] == 2
    assert senders.loc["new1", "co_payer_suspicion"] == 1.0
    # Each wallet carries its person's payers: the new wallet's one payer is not all it has.
    assert beneficiaries.loc["new", "suspicious_payers"] == 2
    assert (
        beneficiaries.loc["new", "shared_payer_suspicion"]
        == beneficiaries.loc["old", "shared_payer_suspicion"]
    )


def test_an_offender_under_two_customer_ids_is_not_his_own_co_payer():
    pairs = [
        pair("id-a", "same-man", "w", "F"),
        pair("id-b", "same-man", "w", "F"),
        pair("other", "p2", "w", "F"),
    ]
    senders, beneficiaries = network(pairs, {"id-a": 0.9, "id-b": 0.8, "other": 0.2})
    assert senders.loc["id-a", "co_payer_links"] == 1  # the other customer, not his second id
    assert senders.loc["id-a", "suspicious_co_payers"] == 0
    assert beneficiaries.loc["w", "suspicious_payers"] == 1  # one man, two ids


def test_relatives_stay_out_of_the_payers_of_a_household():
    pairs = [
        pair("c1", "p1", "w", "F"),
        pair("kin", "p2", "w", "F", related=True),
    ]
    senders, beneficiaries = network(pairs, {"c1": 0.9, "kin": 0.9})
    assert beneficiaries.loc["w", "suspicious_payers"] == 1
    assert "kin" not in senders.index  # family money makes no co-payer links
    assert senders.loc["c1", "co_payer_links"] == 0


def test_each_id_of_an_offender_carries_the_co_offenders_of_all_his_ids():
    # One man at two institutions: at the first he pays a wallet nobody else pays, at the
    # second a facilitator two offenders pay too.
    pairs = [
        pair("bank:a", "same-man", "lone", "L"),
        pair("remit:b", "same-man", "fac", "F"),
        pair("x1", "p1", "fac", "F"),
        pair("x2", "p2", "fac", "F"),
    ]
    senders, _ = network(pairs, {"bank:a": 0.2, "remit:b": 0.3, "x1": 0.9, "x2": 0.8})
    for account in ("bank:a", "remit:b"):
        assert senders.loc[account, "suspicious_co_payers"] == 2
        assert senders.loc[account, "co_payer_links"] == 2
