"""Entity resolution shown to the analyst: a party page lists the accounts merged with it into
one person, and why (the match probability and each comparison's weight)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.builders import series, write_payments_csv
from tests.web.conftest import PASSWORD, USERS, WebSite
from vigil.cases import audit
from vigil.cases.entity_decisions import RejectedPair, rejected_pairs
from vigil.cases.store import CaseStore
from vigil.cases.users import add_user
from vigil.scan import scan

WALLETS = [
    ("w1", "Maria Cristina Dimaculangan"),
    ("w2", "DIMACULANGAN, Maria Cristina"),
    ("w3", "Maria Cristna Dimaculangan"),
]
EVENING = datetime(2024, 3, 1, 12, 0)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebSite]:
    """Three wallets of one facilitator, a different person, and a payer of each."""
    folder = tmp_path_factory.mktemp("same-person")
    rows = []
    for payer, (wallet, name) in zip(("alice", "bob", "carl"), WALLETS, strict=True):
        rows += series(
            payer, wallet, EVENING, 5, timedelta(days=4), beneficiary_name=name, city="Angeles City"
        )
    rows += series("dave", "other", EVENING, 5, timedelta(days=4), beneficiary_name="Rodel Yap")
    data = write_payments_csv(folder / "payments.csv", rows)
    workspace = folder / "results" / "vigil.duckdb"
    scan([data], folder / "results")
    database_url = f"sqlite:///{folder / 'cases.sqlite'}"
    store = CaseStore.open(database_url)
    for username, role in USERS.items():
        add_user(store, username, PASSWORD, role)
    yield WebSite(workspace, database_url, store, folder / "exports", "alice", "w1")
    store.close()


def test_the_party_page_lists_the_accounts_of_the_same_person_and_why(login) -> None:
    ana = login("ana")
    page = ana.get("/parties/beneficiary/w1")
    assert page.status_code == 200
    section = page.text.split('id="same-person"')[1].split("</section>")[0]
    assert "/parties/beneficiary/w2" in section and "/parties/beneficiary/w3" in section
    assert "DIMACULANGAN, Maria Cristina" in section
    assert "name:" in section and "city: same city" in section
    party = ana.api("GET", "/api/parties/beneficiary/w1").json()
    linked = {link["party_id"]: link for link in party["same_person"]}
    assert set(linked) == {"w2", "w3"}
    assert all(0.9 <= link["match_probability"] <= 1 for link in linked.values())
    assert 'id="same-person"' not in ana.get("/parties/beneficiary/other").text


def test_an_analyst_rejects_a_merge_on_the_party_page(login, site: WebSite) -> None:
    ana = login("ana")
    answer = ana.post("/parties/beneficiary/w1/not-same-person", {"other_id": "w3"})
    assert answer.status_code == 303
    page = ana.get(answer.headers["location"]).text
    assert "are not the same person" in page
    section = page.split('id="same-person"')[1].split("</section>")[0]
    assert "/parties/beneficiary/w2" in section and "/parties/beneficiary/w3" not in section
    linked = ana.api("GET", "/api/parties/beneficiary/w1").json()["same_person"]
    assert {link["party_id"] for link in linked} == {"w2"}
    assert rejected_pairs(site.store) == [RejectedPair("beneficiary", "w1", "w3")]
    actions = [(e.actor, e.action, e.target) for e in audit.entries(site.store)]
    assert ("ana", "entity.not_same_person", "beneficiary:w1") in actions


def test_an_auditor_cannot_reject_a_merge(login, site: WebSite) -> None:
    answer = login("aud").post("/parties/beneficiary/w1/not-same-person", {"other_id": "w2"})
    assert answer.status_code == 403
    assert RejectedPair("beneficiary", "w1", "w2") not in rejected_pairs(site.store)
