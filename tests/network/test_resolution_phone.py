"""The beneficiary's phone in entity resolution: one number under one name's spellings is
one person, even with no payer in common; one number under different names (a household's,
an agent's) is no evidence; an export without phones resolves as it did without them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.network.test_resolution import (
    START,
    Resolved,
    _paid,
    _workspace,
    link_explanation,
    population_rows,
    resolved_population,
)
from vigil.network import resolution
from vigil.network.resolution import resolve_entities
from vigil.network.resolution_config import DEFAULT_CONFIG

# (beneficiary_id, name, city, phone as the payment records it)
ONE_FACILITATOR_TWO_WALLETS = [
    ("B-KB-1", "Kristine Basa", "Cordova", "+63 917 555 0101"),
    ("B-KB-2", "Kristine V. Basa", "Cordova", "0917-555-0101"),  # dialled at home
]
ONE_HOUSEHOLD_PHONE = [
    ("B-MARIA", "Maria Santos", "Taguig", "+639175550202"),
    ("B-JOSE", "Jose Santos", "Taguig", "+639175550202"),
    ("B-MARITES", "Marites Santos", "Taguig", "+639175550202"),  # her sister: a name alike
]
TWINS = [  # one name, one city, two people: each her own phone
    ("B-TWIN-1", "Liezel Ocampo Tolentino", "Bacolod", "+639175550303"),
    ("B-TWIN-2", "Liezel Ocampo Tolentino", "Bacolod", "+639175550404"),
]
HAND_MADE = ONE_FACILITATOR_TWO_WALLETS + ONE_HOUSEHOLD_PHONE + TWINS


def phoned_population_rows() -> list[dict[str, str]]:
    """The resolution tests' population with phones: a generated person's accounts carry
    her number, except every third second account (a new SIM for a new wallet) and every
    fifth first account (no phone recorded); and the hand-made accounts above, each paid by
    a payer of its own, the household's also by one relative."""
    rows = population_rows()
    for row in rows:
        account = row["beneficiary_id"]
        if account[:1] != "W" or not account[1:5].isdigit():
            continue
        person = int(account[1:5])
        second_sim = account.endswith("b") and person % 3 == 0
        if account.endswith("a") and person % 5 == 0:
            continue
        row["beneficiary_phone"] = f"+63917{person:04d}{'9' if second_sim else '0'}00"
    for number, (account, name, city, phone) in enumerate(HAND_MADE):
        payer = (f"S-OWN-{number}", f"Gary Ownpayer{'abcdefghi'[number]}", "US")
        row = _paid(payer, (account, name, city), START + timedelta(days=2, hours=number))
        rows.append({**row, "beneficiary_phone": phone})
    # A relative abroad supports the household: each member is paid by him too.
    relative = ("S-RELATIVE", "Ramon Santos", "US")
    for number, (account, name, city, phone) in enumerate(ONE_HOUSEHOLD_PHONE):
        row = _paid(relative, (account, name, city), START + timedelta(days=3, hours=number))
        rows.append({**row, "beneficiary_phone": phone})
    return rows


@pytest.fixture(scope="module")
def phoned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resolved]:
    yield from resolved_population(tmp_path_factory, "phones", phoned_population_rows())


def test_two_wallets_of_one_facilitator_with_one_phone_are_one_person(phoned: Resolved) -> None:
    first, second = (account for account, *_ in ONE_FACILITATOR_TWO_WALLETS)
    assert phoned.entity("beneficiary", first) == phoned.entity("beneficiary", second)
    explanation = link_explanation(phoned.ws, "beneficiary", first, second)
    assert "phone: same phone number (+" in explanation
    assert "payers: no payer in common" in explanation


def test_household_members_sharing_a_phone_stay_apart(phoned: Resolved) -> None:
    members = {phoned.entity("beneficiary", account) for account, *_ in ONE_HOUSEHOLD_PHONE}
    assert len(members) == len(ONE_HOUSEHOLD_PHONE)


def test_twins_with_their_own_phones_stay_apart(phoned: Resolved) -> None:
    first, second = (account for account, *_ in TWINS)
    assert phoned.entity("beneficiary", first) != phoned.entity("beneficiary", second)


def test_a_second_sim_does_not_undo_a_merge_the_payers_make(phoned: Resolved) -> None:
    # Person 0003's second wallet is on another number, and is paid by her first payer.
    merged = [
        (a, b)
        for a, b in phoned.ws.con.execute(
            "SELECT left_id, right_id FROM entity_links WHERE party_kind = 'beneficiary' "
            "AND explanation LIKE '%phone: different phone number%'"
        ).fetchall()
    ]
    assert merged, "no account pair on two numbers was linked"
    assert all(a[:5] == b[:5] for a, b in merged)


def test_a_phone_links_only_under_one_name(phoned: Resolved) -> None:
    rows = phoned.ws.con.execute(
        "SELECT left_id, right_id FROM entity_links WHERE party_kind = 'beneficiary' "
        "AND explanation LIKE '%phone: same phone number%'"
    ).fetchall()
    assert len(rows) > 20
    # Generated persons' accounts (W0001a, W0001b) or the facilitator's two wallets.
    assert all(a[:5] == b[:5] for a, b in rows)


def test_an_export_without_phones_resolves_as_without_the_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{k: v for k, v in row.items() if k != "beneficiary_phone"} for row in population_rows()]
    query = "SELECT party_id, entity_id FROM beneficiary_entities ORDER BY ALL"
    links = "SELECT left_id, right_id, match_weight FROM entity_links ORDER BY ALL"
    with _workspace(tmp_path / "with", rows) as ws:
        resolve_entities(ws)
        with_comparison = ws.con.execute(query).fetchall(), ws.con.execute(links).fetchall()
        explanations = ws.con.execute(
            "SELECT explanation FROM entity_links WHERE party_kind = 'beneficiary'"
        ).fetchall()
    assert explanations
    assert all(
        "phone: no phone on one side, or one phone under names that differ (+0.0)" in text
        for (text,) in explanations
    )
    without_phone = dataclasses.replace(resolution.BENEFICIARY, phone_column=None)
    monkeypatch.setattr(resolution, "BENEFICIARY", without_phone)
    with _workspace(tmp_path / "without", rows) as ws:
        resolve_entities(ws)
        without_comparison = ws.con.execute(query).fetchall(), ws.con.execute(links).fetchall()
    assert with_comparison[0] == without_comparison[0]
    assert [(a, b) for a, b, _ in with_comparison[1]] == [
        (a, b) for a, b, _ in without_comparison[1]
    ]
    assert [w for *_, w in with_comparison[1]] == pytest.approx(
        [w for *_, w in without_comparison[1]]
    )


def test_one_phone_under_names_that_differ_is_no_evidence(tmp_path: Path) -> None:
    # The sisters' pair comes out at this threshold, with its explanation: names that look
    # alike (not one name written two ways), one phone and one payer, and nothing from them.
    config = tmp_path / "resolution.yaml"
    config.write_text(DEFAULT_CONFIG.read_text().replace("threshold: 0.9", "threshold: 0.0001"))
    maria, _, marites = (account for account, *_ in ONE_HOUSEHOLD_PHONE)
    with _workspace(tmp_path, phoned_population_rows()) as ws:
        resolve_entities(ws, config=config)
        explanation = link_explanation(ws, "beneficiary", maria, marites)
    assert "phone: no phone on one side, or one phone under names that differ (+0.0)" in (
        explanation
    )
    assert "payers: payers in common, under names that differ" in explanation
