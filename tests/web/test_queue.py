"""The alert queue: what DuckDB says, filtered, sorted and paged, with triage states."""

from __future__ import annotations

import itertools

from tests.web.conftest import query
from vigil.cases.workflow import set_alert_state


def _alerts(site, sql: str, params: list | None = None) -> list[tuple]:
    return query(site.workspace, sql, params)


def test_queue_ranks_every_party_by_score(login, site) -> None:
    ana = login("ana")
    body = ana.api("GET", "/api/alerts?per_page=10").json()
    expected = _alerts(site, "SELECT count(*) FROM alerts")[0][0]
    assert body["total"] == expected
    scores = [a["score"] for a in body["alerts"]]
    assert scores == sorted(scores, reverse=True)
    top = _alerts(
        site, "SELECT party_id FROM alerts ORDER BY score DESC, rank, party_kind, party_id LIMIT 1"
    )
    assert body["alerts"][0]["party_id"] == top[0][0]


def test_queue_filters_combine(login, site) -> None:
    ana = login("ana")
    body = ana.api(
        "GET", "/api/alerts?kind=beneficiary&country=ph&indicator=B7&min_score=0.2&max_score=0.9"
    ).json()
    expected = _alerts(
        site,
        """SELECT count(*) FROM alerts WHERE party_kind = 'beneficiary' AND country = 'PH'
           AND list_contains(string_split(indicators, ';'), 'B7') AND score BETWEEN 0.2 AND 0.9""",
    )[0][0]
    assert expected > 0 and body["total"] == expected
    for row in body["alerts"]:
        assert row["party_kind"] == "beneficiary" and row["country"] == "PH"
        assert "B7" in row["indicators"].split(";") and 0.2 <= row["score"] <= 0.9


def test_queue_sorts_and_pages_without_overlap(login) -> None:
    ana = login("ana")
    first = ana.api("GET", "/api/alerts?sort=payments&order=asc&per_page=20&page=1").json()
    second = ana.api("GET", "/api/alerts?sort=payments&order=asc&per_page=20&page=2").json()
    rows = first["alerts"] + second["alerts"]
    payments = [r["payments"] for r in rows]
    assert payments == sorted(payments)
    keys = {(r["party_kind"], r["party_id"]) for r in rows}
    assert len(keys) == 40
    assert ana.api("GET", "/api/alerts?sort=nonsense").status_code == 400
    assert ana.api("GET", "/api/alerts?per_page=100000").status_code == 422


def test_queue_shows_triage_status_and_assignee(login, site) -> None:
    set_alert_state(site.store, "sup", "beneficiary", site.top_beneficiary, "in_review", "ana2")
    ana = login("ana")
    body = ana.api("GET", "/api/alerts?status=in_review&assignee=ana2").json()
    assert [(a["party_kind"], a["party_id"]) for a in body["alerts"]] == [
        ("beneficiary", site.top_beneficiary)
    ]
    untouched = ana.api("GET", "/api/alerts?status=new&per_page=200").json()
    assert site.top_beneficiary not in {a["party_id"] for a in untouched["alerts"]}
    page = ana.get("/queue?status=in_review&assignee=ana2")
    assert page.status_code == 200 and site.top_beneficiary in page.text
    assert "1 parties match" in page.text


def test_queue_page_filters_and_htmx_partial(login, site) -> None:
    ana = login("ana")
    page = ana.get("/queue?kind=sender&sort=score&order=desc&min_score=&country=")
    assert page.status_code == 200
    assert 'id="queue-filters"' in page.text and site.top_sender in page.text
    assert "kind-beneficiary" not in page.text.split('id="queue-results"')[1]
    partial = ana.get("/queue?kind=beneficiary&page=2&per_page=25", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<section id="queue-results"')
    assert "page 2 of" in partial.text
    bad = ana.get("/queue?min_score=high")
    assert bad.status_code == 400 and "min_score must be a number" in bad.text


def test_equal_scores_follow_the_rank(login) -> None:
    ana = login("ana")
    rows = ana.api("GET", "/api/alerts?kind=sender&sort=score&per_page=200").json()["alerts"]
    pairs = itertools.pairwise(rows)
    ties = [(a["rank"], b["rank"]) for a, b in pairs if a["score"] == b["score"]]
    assert ties and all(first < second for first, second in ties)


def test_each_indicator_is_offered_once_with_its_statement(login) -> None:
    import re

    page = login("ana").get("/queue").text
    offered = re.findall(r'<option value="([A-Z][0-9]+)"', page)
    assert "N1" in offered and len(offered) == len(set(offered))
    assert re.search(r'<span class="chip" title="[^"]+: [^"]+">', page)
