"""Every route needs a login; roles and CSRF tokens are enforced; sessions are safe."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, export_and_draft, login_token
from vigil.cases import audit

PUBLIC = {"/login", "/vendor/{name}"}


def _concrete(path: str, site) -> str:
    return (
        path.replace("{kind}", "sender")
        .replace("{party_id}", site.top_sender)
        .replace("{case_id}", "1")
        .replace("{fmt}", "goaml")
        .replace("{name}", "x.xml")
    )


def test_every_route_refuses_a_stranger(app, site) -> None:
    from vigil.web import api, pages

    client = TestClient(app, follow_redirects=False)
    checked = 0
    for route in [*api.router.routes, *pages.router.routes]:
        if not isinstance(route, APIRoute) or route.path in PUBLIC:
            continue
        for method in route.methods - {"HEAD"}:
            answer = client.request(method, _concrete(route.path, site))
            checked += 1
            if route.path.startswith("/api/") and route.path != "/api/docs":
                assert answer.status_code == 401, (method, route.path)
                assert answer.json() == {"detail": "login required"}
            else:
                assert answer.status_code == 303, (method, route.path)
                assert answer.headers["location"].startswith("/login?next=")
    assert checked >= 35


def test_login_page_and_static_files_are_public(app) -> None:
    client = TestClient(app)
    assert client.get("/login").status_code == 200
    assert client.get("/static/vigil.css").status_code == 200
    script = client.get("/vendor/htmx.min.js")
    assert script.status_code == 200 and "htmx" in script.text[:2000]
    assert client.get("/vendor/../package.json").status_code == 404


def test_login_records_success_and_failure_and_keeps_next_on_site(app, site) -> None:
    client = TestClient(app, follow_redirects=False)
    wrong = client.post(
        "/login",
        data={"username": "ana", "password": "nope", "csrf_token": login_token(client)},
    )
    assert wrong.status_code == 401
    assert "Wrong username or password" in wrong.text
    failed = audit.entries(site.store, actor="anonymous", target="user:ana")
    assert failed and failed[0].action == "login.failed"

    right = client.post(
        "/login",
        data={
            "username": "ana",
            "password": PASSWORD,
            "csrf_token": login_token(client),
            "next": "//evil.example/phish",
        },
    )
    assert right.status_code == 303 and right.headers["location"] == "/queue"
    assert audit.entries(site.store, actor="ana", limit=1)[0].action == "login"

    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_login_without_csrf_token_is_refused(app) -> None:
    client = TestClient(app, follow_redirects=False)
    client.get("/login")
    answer = client.post("/login", data={"username": "ana", "password": PASSWORD})
    assert answer.status_code == 403


def test_session_cookie_is_secure_by_default(site, tmp_path) -> None:
    from vigil.web.app import create_app

    app = create_app(site.workspace, site.database_url, secret_key="k" * 40)
    try:
        client = TestClient(app, base_url="https://testserver")
        cookie = client.get("/login").headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie
    finally:
        app.state.vigil.reader.close()
        app.state.vigil.store.close()


def test_logout_ends_the_session(login) -> None:
    ana = login("ana2")
    assert ana.get("/").headers["location"] == "/queue"
    assert ana.get("/login").headers["location"] == "/queue"  # already logged in
    assert ana.get("/queue").status_code == 200
    assert ana.post("/logout").headers["location"] == "/login"
    assert ana.get("/queue").status_code == 303
    assert ana.api("GET", "/api/me").status_code == 401


def test_state_changes_need_the_csrf_token(login, site) -> None:
    ana = login("ana")
    url = f"/parties/sender/{site.top_sender}/triage"
    without = ana.client.post(url, data={"status": "in_review"})
    assert without.status_code == 403 and "CSRF" in without.text
    wrong = ana.client.post(url, data={"status": "in_review", "csrf_token": "forged"})
    assert wrong.status_code == 403
    api = ana.client.put(f"/api/parties/sender/{site.top_sender}/triage", json={"status": "new"})
    assert api.status_code == 403 and "CSRF" in api.json()["detail"]
    assert (
        ana.api(
            "PUT", f"/api/parties/sender/{site.top_sender}/triage", json={"status": "new"}
        ).status_code
        == 200
    )


@pytest.mark.parametrize("username", ["aud", "adm"])
def test_auditor_and_admin_cannot_triage_open_or_move_cases(login, site, username) -> None:
    reader = login(username)
    party = f"/parties/sender/{site.top_sender}"
    assert reader.get(party).status_code == 200  # they may look
    assert reader.post(f"{party}/triage", {"status": "dismissed"}).status_code == 403
    assert (
        reader.api("PUT", f"/api/{party[1:]}/triage", json={"status": "dismissed"}).status_code
        == 403
    )
    assert reader.post(f"{party}/cases", {"title": "mine"}).status_code == 403
    assert reader.api("POST", "/api/cases", json={"title": "mine"}).status_code == 403

    sup = login("sup")
    case_id = sup.api("POST", "/api/cases", json={"title": "for the auditor"}).json()["id"]
    assert (
        reader.post(f"/cases/{case_id}/transition", {"to_status": "in_review"}).status_code == 403
    )
    refused = reader.api(
        "POST", f"/api/cases/{case_id}/transitions", json={"to_status": "in_review"}
    )
    assert refused.status_code == 403
    assert reader.post(f"/cases/{case_id}/notes", {"text": "hello"}).status_code == 403
    assert (
        reader.post(
            f"/cases/{case_id}/exports/goaml", {"party": f"sender:{site.top_sender}"}
        ).status_code
        == 403
    )
    assert sup.api("GET", f"/api/cases/{case_id}").json()["status"] == "new"


def test_analyst_cannot_approve_or_see_the_audit_trail(login, site) -> None:
    ana, sup = login("ana"), login("sup")
    party = {"kind": "sender", "party_id": site.top_sender}
    made = ana.api("POST", "/api/cases", json={"title": "analyst's case", "parties": [party]})
    case_id = made.json()["id"]
    for status in ("in_review", "escalated"):
        assert (
            ana.api(
                "POST", f"/api/cases/{case_id}/transitions", json={"to_status": status}
            ).status_code
            == 200
        )
    export_and_draft(sup, case_id, f"sender:{site.top_sender}")
    refused = ana.api("POST", f"/api/cases/{case_id}/transitions", json={"to_status": "approved"})
    assert refused.status_code == 403
    page = ana.post(
        f"/cases/{case_id}/transition", {"to_status": "approved"}, follow_redirects=True
    )
    assert re.search(r"may not move case .* to approved", page.text)
    assert ana.api("GET", f"/api/cases/{case_id}").json()["status"] == "report_drafted"
    assert ana.get("/audit").status_code == 403
    assert ana.api("GET", "/api/audit").status_code == 403
    assert ana.api("POST", "/api/audit/verify").status_code == 403


def test_security_headers(login) -> None:
    answer = login("ana").get("/queue")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in answer.headers["permissions-policy"]
    assert "strict-transport-security" not in answer.headers  # plain http in the tests


def test_hsts_when_cookies_are_secure(site) -> None:
    from fastapi.testclient import TestClient

    from vigil.web.app import create_app

    secure = create_app(site.workspace, site.database_url, secret_key="s" * 48)
    with TestClient(secure, base_url="https://testserver") as client:
        answer = client.get("/login")
    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


def test_a_cookie_copied_before_logout_is_refused_after_it(app, login) -> None:
    ana = login("ana2")
    copied = dict(ana.client.cookies)
    assert ana.post("/logout").status_code == 303
    replay = TestClient(app, follow_redirects=False, cookies=copied)
    assert replay.get("/api/me").status_code == 401
    assert replay.get("/queue").status_code == 303
    again = login("ana2")  # a new login after the logout works
    assert again.get("/queue").status_code == 200


def test_page_numbers_past_the_database_integers_are_refused_not_crashed(login, site) -> None:
    huge = "99999999999999999999"
    sup = login("sup")
    party = f"/parties/sender/{site.top_sender}"
    assert sup.get(f"/queue?page={huge}").status_code == 400
    assert sup.get(f"{party}?payments_page={huge}").status_code == 400
    assert sup.api("GET", f"/api/alerts?page={huge}").status_code == 400
    assert sup.api("GET", f"/api{party}/payments?page={huge}").status_code == 400
    assert sup.get(f"/audit?page={huge}").status_code == 200
    assert sup.api("GET", f"/api/audit?offset={huge}").status_code == 422
