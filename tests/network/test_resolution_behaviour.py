"""Entity resolution on what payments say: payers in common, one wallet replacing another.

A common name ("Ramon Cruz", six people of that name in one city) cannot tell two wallets
of one person from two namesakes; the payers can. The population of test_resolution gives
the model something to learn from.
"""

from __future__ import annotations

import re
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
from vigil.network.resolution_model import BENEFICIARY, behaviour_sql, payment_summary_sql
from vigil.workspace import Workspace

JANUARY = datetime(2024, 1, 2, 21, 0)
OFFENDERS = ("S-OFF-1", "S-OFF-2", "S-OFF-3")
TWINS = [f"W-RC-TWIN-{i}" for i in range(6)]  # six Ramon Cruz of Cebu City, one each


def _paid_weekly(
    sender: str, wallet: str, name: str, start: datetime, weeks: int
) -> list[dict[str, str]]:
    return [
        payment(
            sender,
            wallet,
            start + timedelta(weeks=week),
            beneficiary_name=name,
            city="Cebu City",
        )
        for week in range(weeks)
    ]


def behaviour_rows() -> list[dict[str, str]]:
    rows = population_rows()
    # One facilitator's wallet, used January to mid-March, then a new one under another
    # spelling, from late March, paid by the same three offenders.
    for offender in OFFENDERS:
        rows += _paid_weekly(offender, "W-RC-OLD", "Ramon Cruz", JANUARY, 10)
        rows += _paid_weekly(offender, "W-RC-NEW", "CRUZ, Ramon", JANUARY + timedelta(weeks=12), 14)
    # Namesakes in the same city, each paid by their own family all year.
    for number, twin in enumerate(TWINS):
        for member in range(2):
            rows += _paid_weekly(f"S-FAM-{number}-{member}", twin, "Ramon Cruz", JANUARY, 26)
    # One customer under two ids at one remitter (the app and an agent), paying two wallets.
    for sender_id, name, channel in (
        ("C-0077", "J. Abernathy", "online_remittance"),
        ("C-9310", "ABERNATHY, Jonathan", "agent_remittance"),
    ):
        for wallet, wallet_name in (("W-AB-1", "Lorna Quisumbing"), ("W-AB-2", "Dina Macaraeg")):
            rows += [
                payment(
                    sender_id,
                    wallet,
                    JANUARY + timedelta(days=9 * i),
                    sender_name=name,
                    beneficiary_name=wallet_name,
                    channel=channel,
                )
                for i in range(3)
            ]
    return rows


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("behaviour")
    with _workspace(folder, behaviour_rows()) as workspace:
        resolve_entities(workspace)
        yield workspace


def test_a_churned_wallet_with_the_same_payers_merges_with_the_old_one(ws: Workspace) -> None:
    assert entity_of(ws, "beneficiary", "W-RC-OLD") == entity_of(ws, "beneficiary", "W-RC-NEW")
    explanation = link_explanation(ws, "beneficiary", "W-RC-OLD", "W-RC-NEW")
    assert (
        "payers: most payers in common (two or more, at least half of one side) "
        "(3 of 3 and 3 distinctive payers) (+" in explanation
    )
    assert "timing: one account stops as the other starts (21 days from" in explanation


def test_namesakes_in_one_city_with_disjoint_payers_stay_apart(ws: Workspace) -> None:
    entities = {entity_of(ws, "beneficiary", twin) for twin in TWINS}
    entities.add(entity_of(ws, "beneficiary", "W-RC-OLD"))
    assert len(entities) == len(TWINS) + 1


def test_one_customer_under_two_ids_paying_the_same_wallets_is_one_sender(ws: Workspace) -> None:
    assert entity_of(ws, "sender", "C-0077") == entity_of(ws, "sender", "C-9310")
    explanation = link_explanation(ws, "sender", "C-0077", "C-9310")
    assert explanation.startswith("name: a name written as its initial (+")
    assert (
        "payees: most payees in common (two or more, at least half of all those of each "
        "side) (2 of 2 and 2 distinctive payees) (+" in explanation
    )


def test_every_merge_carries_each_comparison_and_its_weight(ws: Workspace) -> None:
    links = ws.con.execute("SELECT party_kind, explanation FROM entity_links").fetchall()
    assert links
    for kind, explanation in links:
        parts = explanation.split("; ")
        named = [part.split(":")[0] for part in parts[:-1]]
        expected = ["name", "city", "country", "phone", "payers", "timing"]
        if kind == "sender":
            expected = ["name", "country", "payees", "timing"]
        assert named == expected, explanation
        assert all(re.search(r" \([+-]\d+\.\d\)$", part) for part in parts), explanation
        assert parts[-1].startswith("prior (")


def test_relatives_paid_by_one_payer_stay_apart(tmp_path: Path) -> None:
    # A mother and her son, paid by one relative abroad in one city: one surname, one
    # payer; an initial that does not fit ("C. De Leon" is not "Joy De Leon") and an
    # added "Jr." (father and son) are not one name written two ways.
    rows = population_rows()
    family = [
        ("W-DL-JOY", "Joy V. De Leon"),
        ("W-DL-C", "C. De Leon"),
        ("W-DL-JUAN", "Juan De Leon"),
        ("W-DL-JUAN-JR", "Juan De Leon Jr."),
    ]
    for wallet, name in family:
        rows += _paid_weekly("S-UNCLE", wallet, name, JANUARY, 20)
        rows += _paid_weekly("S-AUNT", wallet, name, JANUARY, 20)
    with _workspace(tmp_path, rows) as workspace:
        resolve_entities(workspace)
        entities = {entity_of(workspace, "beneficiary", wallet) for wallet, _ in family}
    assert len(entities) == len(family)


def test_a_payer_of_many_wallets_is_not_evidence(tmp_path: Path) -> None:
    # A payroll paying sixty wallets says nothing about who holds them; a payer of two does.
    rows = [payment("S-PAYROLL", f"W-STAFF-{i:02d}", JANUARY) for i in range(60)]
    rows += [payment("S-AUNT", wallet, JANUARY) for wallet in ("W-STAFF-00", "W-STAFF-01")]
    summary, config = f"({payment_summary_sql('payments')})", load_resolution_config()
    with _workspace(tmp_path, rows) as workspace:
        listed = dict(
            workspace.con.execute(
                "SELECT party_id, counterparts FROM "
                f"({behaviour_sql(BENEFICIARY, summary, config)})"
            ).fetchall()
        )
    assert listed["W-STAFF-00"] == listed["W-STAFF-01"] == ["S-AUNT"]
    assert listed["W-STAFF-02"] is None
