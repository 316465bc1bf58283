"""Entity resolution shown to the analyst: a party page lists the accounts merged with it into
one person, and why (the match probability and each comparison's weight)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.builders import series, write_payments_csv
from tests.web.conftest import PASSWORD, USERS, WebSite
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
