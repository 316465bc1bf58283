"""Resolution across reporters (FIU mode): one person with customer ids at two institutions is
one sender entity; the same customer id at two institutions is never one person by id alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.builders import payment
from tests.network.test_resolution import _workspace, entity_of, population_rows
from vigil.network.resolution import resolve_entities
from vigil.workspace import Workspace

JANUARY = datetime(2024, 1, 2, 21, 0)
WALLETS = (("W-AB-1", "Lorna Quisumbing"), ("W-AB-2", "Dina Macaraeg"))


def _reported(reporter: str, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{**row, "reporter": reporter} for row in rows]


def reporter_rows() -> list[dict[str, str]]:
    rows = _reported("Bank A", population_rows())
    # One man, a customer of two institutions under ids of their own and his name typed
    # two ways, paying the same two wallets from both.
    for reporter, customer, name in (
        ("Bank A", "C-0077", "J. Abernathy"),
        ("Remit B", "884120", "ABERNATHY, Jonathan"),
    ):
        for wallet, wallet_name in WALLETS:
            rows += _reported(
                reporter,
                [
                    payment(
                        customer,
                        wallet,
                        JANUARY + timedelta(days=9 * i),
                        sender_name=name,
                        beneficiary_name=wallet_name,
                    )
                    for i in range(3)
                ],
            )
    # Customer 5005 of each institution: two strangers with their own families abroad.
    for reporter, name, wallet in (
        ("Bank A", "Mark Ellison", "W-ELL"),
        ("Remit B", "Lucy Garrow", "W-GAR"),
    ):
        rows += _reported(
            reporter,
            [payment("5005", wallet, JANUARY + timedelta(days=7 * i), sender_name=name)
             for i in range(4)],
        )  # fmt: skip
    # One woman at two institutions, her name retyped, paying at each her mother, whom no
    # one else pays: one payee in common, but a rare one.
    for reporter, customer, name, day in (
        ("Bank A", "C-0312", "Dolores Fitzwilliam", 0),
        ("Remit B", "771203", "FITZWILLIAM, Dolores", 40),
    ):
        rows += _reported(
            reporter,
            [
                payment(
                    customer,
                    "W-FITZ-MOTHER",
                    JANUARY + timedelta(days=day + 10 * i),
                    sender_name=name,
                    beneficiary_name="Remedios Sarmiento",
                )
                for i in range(3)
            ],
        )
    # Namesakes at two institutions, each paying a family of their own.
    for reporter, customer, wallet in (
        ("Bank A", "C-0450", "W-FER-1"),
        ("Remit B", "660450", "W-FER-2"),
    ):
        rows += _reported(
            reporter,
            [payment(customer, wallet, JANUARY + timedelta(days=8 * i), sender_name="Colin Ferris")
             for i in range(3)],
        )  # fmt: skip
    # Namesakes at two institutions who both tip a popular performer, paid by a dozen
    # customers: sharing her says little about who they are.
    fans = [("Bank A", f"C-FAN-{i}", f"Fan{chr(97 + i)} Viewer{chr(97 + i)}") for i in range(12)]
    fans += [("Bank A", "C-0777", "Keith Brannigan"), ("Remit B", "557700", "Keith Brannigan")]
    for reporter, customer, name in fans:
        rows += _reported(
            reporter,
            [payment(customer, "W-STAR", JANUARY + timedelta(days=5 * i), sender_name=name,
                     beneficiary_name="Star Angeline") for i in range(2)],
        )  # fmt: skip
    rows += _wallets_of_one_facilitator()
    return rows


def _wallets_of_one_facilitator() -> list[dict[str, str]]:
    """One facilitator's two wallets, the second opened as the first closed, her one
    regular payer moving with them; one offender at two institutions, paying from each the
    wallet open at the time: no account in common, but one person (and one few pay)."""
    wallet = {"W-DUM-1": JANUARY, "W-DUM-2": JANUARY + timedelta(days=60)}
    rows = []
    for account, opened in wallet.items():
        rows += _reported(
            "Bank A",
            [payment("C-0901", account, opened + timedelta(days=7 * i),
                     sender_name="Ivor Penhallow", beneficiary_name="Analyn Dumaguing")
             for i in range(8)],
        )  # fmt: skip
    for reporter, customer, name, account, day in (
        ("Bank A", "C-0930", "Trevor Ashcombe", "W-DUM-1", 10),
        ("Remit B", "990317", "ASHCOMBE, Trevor", "W-DUM-2", 75),
    ):
        rows += _reported(
            reporter,
            [payment(customer, account, JANUARY + timedelta(days=day + 3 * i), sender_name=name,
                     beneficiary_name="Analyn Dumaguing") for i in range(2)],
        )  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    with _workspace(tmp_path_factory.mktemp("reporters"), reporter_rows()) as workspace:
        resolve_entities(workspace)
        yield workspace


def sender_link_explanation(ws: Workspace, left_id: str, right_id: str) -> str:
    """The merge's explanation in words; fails when the two ids were not linked."""
    rows = ws.con.execute(
        "SELECT explanation FROM entity_links WHERE party_kind = 'sender' "
        "AND left_id = ? AND right_id = ?",
        [left_id, right_id],
    ).fetchall()
    assert rows, f"{left_id} and {right_id} are not linked"
    return rows[0][0]


def test_one_person_at_two_reporters_is_one_sender_entity(ws: Workspace) -> None:
    assert entity_of(ws, "sender", "Bank A:C-0077") == entity_of(ws, "sender", "Remit B:884120")
    explanation = sender_link_explanation(ws, "Bank A:C-0077", "Remit B:884120")
    assert "(2 of 2 and 2 distinctive payees)" in explanation


def test_the_same_customer_id_at_two_reporters_stays_two_senders(ws: Workspace) -> None:
    assert entity_of(ws, "sender", "Bank A:5005") != entity_of(ws, "sender", "Remit B:5005")


def test_each_reported_sender_keeps_its_reporter_and_own_id(ws: Workspace) -> None:
    rows = ws.con.execute(
        "SELECT DISTINCT reporter, reporter_sender_id FROM payments "
        "WHERE sender_id IN ('Bank A:5005', 'Remit B:5005') ORDER BY 1"
    ).fetchall()
    assert rows == [("Bank A", "5005"), ("Remit B", "5005")]


def test_a_retyped_name_and_a_rare_payee_in_common_are_one_person(ws: Workspace) -> None:
    assert entity_of(ws, "sender", "Bank A:C-0312") == entity_of(ws, "sender", "Remit B:771203")
    explanation = sender_link_explanation(ws, "Bank A:C-0312", "Remit B:771203")
    # The payee they share is the evidence: one few others pay, or, where one id stops as
    # the other starts, a payee handed over from the one to the other.
    payees = explanation.split("payees: ")[1]
    assert payees.startswith(
        ("a payee in common whom few others pay", "payees in common, and one account stops")
    )


def test_namesakes_at_two_reporters_paying_their_own_families_stay_apart(ws: Workspace) -> None:
    assert entity_of(ws, "sender", "Bank A:C-0450") != entity_of(ws, "sender", "Remit B:660450")


def test_namesakes_sharing_only_a_popular_payee_stay_apart(ws: Workspace) -> None:
    assert entity_of(ws, "sender", "Bank A:C-0777") != entity_of(ws, "sender", "Remit B:557700")


def test_ids_paying_two_wallets_of_one_person_at_two_reporters_are_one_person(
    ws: Workspace,
) -> None:
    # The wallets are one person (resolved first); the payee the two ids share is her.
    assert entity_of(ws, "beneficiary", "W-DUM-1") == entity_of(ws, "beneficiary", "W-DUM-2")
    assert entity_of(ws, "sender", "Bank A:C-0930") == entity_of(ws, "sender", "Remit B:990317")
    explanation = sender_link_explanation(ws, "Bank A:C-0930", "Remit B:990317")
    assert "a payee in common whom few others pay" in explanation
