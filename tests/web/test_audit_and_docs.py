"""The audit page and its verify button, the API's schema and documentation page."""

from __future__ import annotations

from sqlalchemy import text


def test_audit_page_lists_entries_and_verifies_the_chain(login, site) -> None:
    sup = login("sup")
    sup.get(f"/parties/sender/{site.top_sender}")
    page = sup.get("/audit?actor=sup")
    assert page.status_code == 200 and "party.view" in page.text
    verified = sup.post("/audit/verify", headers={"HX-Request": "true"})
    assert "audit trail intact" in verified.text
    body = sup.api("POST", "/api/audit/verify").json()
    assert body["ok"] and body["entries"] > 0
    entries = sup.api("GET", "/api/audit?actor=sup&limit=5").json()
    assert entries["entries"][0]["actor"] == "sup"

    with site.store.engine.begin() as connection:  # someone edits the trail behind our back
        connection.execute(text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2"))
    try:
        broken = sup.post("/audit/verify", follow_redirects=True)
        assert "audit trail broken at entry 2" in broken.text
        assert sup.api("POST", "/api/audit/verify").json()["first_bad_seq"] == 2
    finally:
        with site.store.engine.begin() as connection:
            connection.execute(text("UPDATE audit_entries SET actor = 'cli' WHERE seq = 2"))
    assert login("aud").get("/audit").status_code == 200


def test_openapi_schema_and_docs_after_login(login) -> None:
    ana = login("ana")
    schema = ana.api("GET", "/api/openapi.json").json()
    paths = schema["paths"]
    assert "/api/alerts" in paths and "/api/parties/{kind}/{party_id}/network" in paths
    assert "/queue" not in paths  # pages are not part of the API
    docs = ana.get("/api/docs")
    assert docs.status_code == 200 and "/api/cases/{case_id}/transitions" in docs.text
    me = ana.api("GET", "/api/me").json()
    assert me["role"] == "analyst" and "approve" not in me["permissions"]
