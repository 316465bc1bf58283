"""Propagation between senders and beneficiaries counts resolved people, not accounts."""

from __future__ import annotations

import ibis
import pandas as pd

from vigil.scoring.propagation import (
    beneficiary_network_features,
    reporter_network_features,
    sender_network_features,
)

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


def pooled(pairs: list[dict], scores: dict[str, float], reporters: dict[str, str]) -> pd.DataFrame:
    """The FIU's cross-reporter figures (N6) per sender id."""
    table = ibis.memtable(pd.DataFrame(pairs))
    scored = ibis.memtable(pd.DataFrame({"party_id": list(scores), "score": list(scores.values())}))
    reported = ibis.memtable(
        pd.DataFrame({"sender_id": list(reporters), "reporter": list(reporters.values())})
    )
    return (
        reporter_network_features(table, reported, scored, THRESHOLD)
        .to_pandas()
        .set_index("party_id")
    )


def test_a_light_payer_learns_of_a_suspicious_co_payer_at_another_reporter():
    # A light offender's one id at a bank pays a facilitator whom a remitter's customer,
    # suspicious once his own network counted, pays too; a bank customer just as suspicious
    # is the bank's own co-payer (N1 counts him); a relative and the light man's own id at
    # the remitter count for nothing.
    pairs = [
        pair("bank:light", "light", "w", "F"),
        pair("remit:heavy", "heavy", "w", "F"),
        pair("bank:other", "other", "w", "F"),
        pair("remit:kin", "kin", "w", "F", related=True),
        pair("remit:light", "light", "w2", "F"),
    ]
    scores = {
        "bank:light": 0.0,
        "remit:heavy": 0.8,
        "bank:other": 0.9,
        "remit:kin": 0.9,
        "remit:light": 0.9,
    }
    reporters = {sender: sender.split(":")[0] for sender in scores}
    figures = pooled(pairs, scores, reporters)
    assert figures.loc["bank:light", "elsewhere_flagged_beneficiaries"] == 1
    assert figures.loc["bank:light", "elsewhere_suspicious_co_payers"] == 1
    # At the remitter, the suspicious bank customer is the one co-payer from elsewhere.
    assert figures.loc["remit:heavy", "elsewhere_suspicious_co_payers"] == 1


def test_no_cross_reporter_figures_for_family_money_or_a_payer_below_the_threshold():
    pairs = [
        pair("bank:mum", "mum", "w", "F", related=True),
        pair("remit:heavy", "heavy", "w", "F"),
        pair("bank:light", "light", "w", "F"),
        pair("remit:faint", "faint", "w", "F"),
    ]
    scores = {"bank:mum": 0.0, "remit:heavy": 0.8, "bank:light": 0.1, "remit:faint": 0.4}
    figures = pooled(pairs, scores, {sender: sender.split(":")[0] for sender in scores})
    assert "bank:mum" not in figures.index  # she pays her own daughter
    assert figures.loc["bank:light", "elsewhere_suspicious_co_payers"] == 1  # not the faint one
    assert "remit:heavy" not in figures.index  # his co-payers at the bank are below it
