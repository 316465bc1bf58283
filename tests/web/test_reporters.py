"""FIU mode in the web app: the queue filtered by reporter, and a person's page showing what
each reporting institution saw of them (two reporters, offenders customers of both)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from tests.web.conftest import query
from tests.web.test_browser import _log_in, _page, browser, server  # noqa: F401 (fixtures)
from vigil.scan import scan
from vigil.synth import generate

REPORTERS = ("Bank A", "Remit B")


@pytest.fixture(scope="module")
def scanned_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 synthetic senders split over two institutions by customer; each offender is a
    customer of both, under the same name, paying from both."""
    root = tmp_path_factory.mktemp("web-fiu")
    generated = generate(root / "data", senders=300, seed=11)
    labels = pl.read_csv(generated.labels, infer_schema=False)
    offenders = labels.filter(pl.col("role") == "offender")["party_id"]
    payments = pl.read_csv(generated.transactions, infer_schema=False)
    by_customer = pl.col("sender_id").hash(seed=1) % 2 == 0
    alternate = pl.int_range(pl.len()).over("sender_id") % 2 == 0
    both = pl.col("sender_id").is_in(offenders.implode())
    payments = payments.with_columns(
        reporter=pl.when(pl.when(both).then(alternate).otherwise(by_customer))
        .then(pl.lit(REPORTERS[0]))
        .otherwise(pl.lit(REPORTERS[1]))
    )
    source = root / "fiu.csv"
    payments.write_csv(source)
    scan([source], root / "results")
    return root / "results" / "vigil.duckdb"


def _offender_at_both(site) -> str:
    """The workspace key of an offender's id at Bank A whose person is also at Remit B."""
    rows = query(
        site.workspace,
        """SELECT a.party_id FROM sender_entities a JOIN sender_entities b USING (entity_id)
           JOIN alerts s ON s.party_kind = 'sender' AND s.party_id = a.party_id
           WHERE a.party_id LIKE 'Bank A:%' AND b.party_id LIKE 'Remit B:%'
           ORDER BY s.rank LIMIT 1""",
    )
    assert rows, "no person resolved across the two reporters"
    return rows[0][0]


def test_queue_filters_senders_and_their_beneficiaries_by_reporter(login, site) -> None:
    ana = login("ana")
    body = ana.api("GET", "/api/alerts?kind=sender&reporter=Remit B&per_page=200").json()
    expected = query(
        site.workspace,
        "SELECT count(*) FROM alerts WHERE party_kind = 'sender' AND reporter = 'Remit B'",
    )[0][0]
    assert 0 < body["total"] == expected
    assert {row["reporter"] for row in body["alerts"]} == {"Remit B"}
    paid = ana.api("GET", "/api/alerts?kind=beneficiary&reporter=Remit B").json()["total"]
    expected = query(
        site.workspace,
        "SELECT count(DISTINCT beneficiary_id) FROM payments WHERE reporter = 'Remit B'",
    )[0][0]
    assert 0 < paid == expected
    nobody = ana.api("GET", "/api/alerts?reporter=Bank Z").json()
    assert nobody["total"] == 0


def test_party_page_shows_each_reporters_view_of_the_person(login, site) -> None:
    ana = login("ana")
    party = _offender_at_both(site)
    views = ana.api("GET", f"/api/parties/sender/{party}").json()["reporters"]
    assert {view["reporter"] for view in views} == set(REPORTERS)
    assert views[0]["this_party"] and views[0]["party_id"] == party
    customer = party.removeprefix("Bank A:")
    counted = query(
        site.workspace,
        "SELECT reporter, count(*) FROM payments WHERE reporter_sender_id = ? GROUP BY 1",
        [customer],
    )
    assert {(v["reporter"], v["payments"]) for v in views} >= set(counted)
    page = ana.get(f"/parties/sender/{party}").text
    assert 'id="reporters"' in page and "Remit B" in page
    assert f"{customer} at Bank A" in page


def test_beneficiary_page_lists_the_reporters_whose_customers_paid_it(login, site) -> None:
    ana = login("ana")
    wallet, reporters = query(
        site.workspace,
        """SELECT beneficiary_id, count(DISTINCT reporter) AS n FROM payments
           GROUP BY 1 ORDER BY n DESC, count(*) DESC, 1 LIMIT 1""",
    )[0]
    views = ana.api("GET", f"/api/parties/beneficiary/{wallet}").json()["reporters"]
    assert len(views) == reporters == 2
    assert (
        sum(v["payments"] for v in views)
        == query(
            site.workspace, "SELECT count(*) FROM payments WHERE beneficiary_id = ?", [wallet]
        )[0][0]
    )


def test_analyst_picks_a_reporter_in_the_browser(browser, server, site) -> None:  # noqa: F811
    page = _page(browser, server)
    _log_in(page, "ana")
    page.select_option("select[name=kind]", "sender")
    page.wait_for_url(re.compile(r"kind=sender"))
    page.select_option("select[name=reporter]", "Remit B")
    page.wait_for_url(re.compile(r"reporter=Remit(%20|\+)B"))
    shown = page.locator("#queue-results tbody .reporter").all_inner_texts()
    assert shown and set(shown) == {"at Remit B"}
    party = _offender_at_both(site)
    page.goto(f"/parties/sender/{party}")
    assert page.locator("#reporters tbody tr").count() >= 2
