"""A sender's features are its person's: one customer with ids at two institutions shows, at
each id, the pattern of all his payments (FIU mode, issue 16), under each id's own name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.network.test_resolution import _workspace
from tests.network.test_resolution_reporters import reporter_rows
from vigil.features.parties import pair_features, person_sender_features
from vigil.indicators.catalogue import load_catalogue
from vigil.network.resolution import resolve_entities
from vigil.pipeline.facts import build_payment_facts

ABERNATHY = ("Bank A:C-0077", "Remit B:884120")  # one man, 6 payments at each institution
NAMESAKES = ("Bank A:5005", "Remit B:5005")  # two strangers, 4 payments each


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    with _workspace(tmp_path_factory.mktemp("persons"), reporter_rows()) as ws:
        resolve_entities(ws)
        catalogue = load_catalogue()
        facts = build_payment_facts(ws, catalogue, ws.table("payments"))
        ws.replace_table("payment_facts", facts, temporary=True)
        facts = ws.table("payment_facts")
        ws.replace_table("pair_features", pair_features(facts))
        senders = person_sender_features(
            ws.table("payments"),
            facts,
            ws.table("pair_features"),
            list(catalogue.parameters.purpose_words),
            ws.table("sender_entities"),
        )
        rows = senders.filter(senders.party_id.isin([*ABERNATHY, *NAMESAKES])).to_pyarrow()
        yield {row["party_id"]: row for row in rows.to_pylist()}


def test_each_id_of_one_person_counts_all_his_payments(features: dict[str, dict]) -> None:
    for party_id in ABERNATHY:
        assert features[party_id]["payments"] == 12
        assert features[party_id]["hr_beneficiaries"] == 2  # the two wallets, once each


def test_each_id_keeps_its_own_name(features: dict[str, dict]) -> None:
    assert features["Bank A:C-0077"]["name"] == "J. Abernathy"
    assert features["Remit B:884120"]["name"] == "ABERNATHY, Jonathan"


def test_two_customers_with_one_id_number_keep_their_own_payments(
    features: dict[str, dict],
) -> None:
    assert [features[party_id]["payments"] for party_id in NAMESAKES] == [4, 4]
    assert features["Remit B:5005"]["name"] == "Lucy Garrow"
