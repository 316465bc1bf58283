"""The party page and its API: score explained, charts' data, payments, network."""

from __future__ import annotations

import json
import re

from tests.web.conftest import query
from vigil.cases import audit


def _one(site, sql: str, params: list) -> tuple:
    return query(site.workspace, sql, params)[0]


def test_party_page_explains_the_score_and_is_audited(login, site) -> None:
    ana = login("ana")
    page = ana.get(f"/parties/sender/{site.top_sender}")
    assert page.status_code == 200
    name, score = _one(site, "SELECT name, score FROM alerts WHERE party_id = ?", [site.top_sender])
    assert name in page.text and f"{score:.3f}" in page.text
    data = json.loads(
        re.search(
            r'<script type="application/json" id="party-data">(.*?)</script>', page.text, re.S
        ).group(1)
    )
    payments = _one(site, "SELECT count(*) FROM payments WHERE sender_id = ?", [site.top_sender])[0]
    assert sum(data["hours_sender"]) == payments
    assert sum(data["monthly_payments"]) == payments
    assert sum(data["amount_counts"]) == payments
    assert len(data["hours_sender"]) == len(data["hours_beneficiary"]) == 24
    contributions = sum(c["value"] for c in data["contributions"])
    assert abs(contributions - score) < 1e-3  # contributions add up to the score
    assert "Sources:" in page.text and "https://" in page.text
    entry = audit.entries(site.store, actor="ana", target=f"sender:{site.top_sender}", limit=1)[0]
    assert entry.action == "party.view"


def test_beneficiary_hours_are_in_the_beneficiary_local_time(login, site) -> None:
    ana = login("ana")
    (filipino,) = _one(
        site,
        "SELECT party_id FROM alerts WHERE party_kind = ? AND country = 'PH' ORDER BY rank",
        ["beneficiary"],
    )
    body = ana.api("GET", f"/api/parties/beneficiary/{filipino}").json()
    # Manila is UTC+8 all year: count the payments by (UTC hour + 8) mod 24 by hand
    rows = query(
        site.workspace,
        "SELECT (hour(ts_utc) + 8) % 24, count(*) FROM payments WHERE beneficiary_id = ? "
        "GROUP BY 1",
        [filipino],
    )
    expected = [0] * 24
    for hour, count in rows:
        expected[hour] = count
    assert body["profile"]["hours_beneficiary"] == expected


def test_payments_are_paged_newest_first(login, site) -> None:
    ana = login("ana")
    first = ana.api("GET", f"/api/parties/sender/{site.top_sender}/payments?per_page=5").json()
    assert first["total"] > 5 and len(first["rows"]) == 5
    times = [r["ts_utc"] for r in first["rows"]]
    assert times == sorted(times, reverse=True)
    second = ana.api(
        "GET", f"/api/parties/sender/{site.top_sender}/payments?per_page=5&page=2"
    ).json()
    assert not {r["txn_id"] for r in first["rows"]} & {r["txn_id"] for r in second["rows"]}
    fragment = ana.get(
        f"/parties/sender/{site.top_sender}/payments?page=2", headers={"HX-Request": "true"}
    )
    assert fragment.text.lstrip().startswith('<section id="payments"')
    plain = ana.get(f"/parties/sender/{site.top_sender}/payments?page=2")
    assert plain.status_code == 303 and "payments_page=2" in plain.headers["location"]
    assert "page 2 of" in ana.get(plain.headers["location"]).text


def test_unknown_party_is_404(login) -> None:
    ana = login("ana")
    assert ana.get("/parties/sender/NO-SUCH").status_code == 404
    assert ana.api("GET", "/api/parties/sender/NO-SUCH").status_code == 404
    assert ana.api("GET", "/api/parties/nobody/X").status_code == 422


def test_network_of_a_party(login, site) -> None:
    ana = login("ana")
    graph = ana.api("GET", f"/api/parties/sender/{site.top_sender}/network?hops=2").json()
    focus = [n for n in graph["nodes"] if n["role"] == "focus"]
    assert focus and focus[0]["party_id"] == site.top_sender
    ids = {n["id"] for n in graph["nodes"]}
    assert graph["edges"] and all(e["source"] in ids and e["target"] in ids for e in graph["edges"])
    assert any(n["kind"] == "sender" and n["role"] != "focus" for n in graph["nodes"])  # 2 hops
    assert (
        ana.api("GET", f"/api/parties/sender/{site.top_sender}/network?hops=9").status_code == 422
    )
    page = ana.get(f"/parties/sender/{site.top_sender}/network?hops=1")
    assert page.status_code == 200 and 'id="network-data"' in page.text
    entry = audit.entries(site.store, actor="ana", target=f"sender:{site.top_sender}", limit=1)[0]
    assert entry.action == "party.network"


def test_triage_from_the_party_page(login, site) -> None:
    sup = login("sup")
    party = f"/parties/sender/{site.top_sender}"
    swapped = sup.post(
        f"{party}/triage",
        {"status": "dismissed", "assignee": "ana"},
        headers={"HX-Request": "true"},
    )
    assert swapped.status_code == 200 and swapped.text.lstrip().startswith('<form id="triage"')
    assert "Alert marked dismissed" in swapped.text
    state = sup.api("GET", f"/api/{party[1:]}").json()["triage"]
    assert state == {"status": "dismissed", "assignee": "ana"}
    refused = sup.post(f"{party}/triage", {"status": "nonsense"}, follow_redirects=True)
    assert "unknown alert status" in refused.text
    api = sup.api("PUT", f"/api/{party[1:]}/triage", json={"status": "new"})
    assert api.json()["status"] == "new"
    assert sup.api("PUT", f"/api/{party[1:]}/triage", json={"status": "bad"}).status_code == 409
