"""Cases from the case page and the API: workflow with four eyes, notes, parties,
assignment, and the goAML draft and evidence package produced from the case."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from tests.web.conftest import export_and_draft
from vigil.cases import audit


def _flash(page) -> list[str]:
    return re.findall(r'class="flash flash-\w+"[^>]*>([^<]+)<', page.text)


def test_a_case_from_a_party_through_four_eyes_to_filed(login, site) -> None:
    sup, sup2 = login("sup"), login("sup2")
    opened = sup.post(f"/parties/sender/{site.top_sender}/cases", {"title": "Payer of PH wallets"})
    assert opened.status_code == 303
    case_url = opened.headers["location"]
    case_id = int(case_url.rsplit("/", 1)[1])
    page = sup.get(case_url)
    assert "Payer of PH wallets" in page.text and site.top_sender in page.text
    assert (
        audit.entries(site.store, actor="sup", target=f"case:{case_id}", limit=1)[0].action
        == "case.view"
    )

    for status in ("in_review", "escalated"):
        moved = sup.post(f"{case_url}/transition", {"to_status": status}, follow_redirects=True)
        assert f"is now {status.replace('_', ' ')}" in moved.text
    no_export = sup.post(
        f"{case_url}/transition", {"to_status": "report_drafted"}, follow_redirects=True
    )
    assert any("has no export yet" in m for m in _flash(no_export))
    assert re.search(r'data-to="report_drafted"\s+disabled', no_export.text)
    sup.post(f"{case_url}/exports/goaml", {"party": f"sender:{site.top_sender}"})
    moved = sup.post(
        f"{case_url}/transition", {"to_status": "report_drafted"}, follow_redirects=True
    )
    assert "is now report drafted" in moved.text
    # The drafter's Approve is disabled; forcing it is refused all the same.
    assert re.search(r'data-to="approved"\s+disabled', moved.text)
    refused = sup.post(f"{case_url}/transition", {"to_status": "approved"}, follow_redirects=True)
    assert any("four eyes" in m for m in _flash(refused))
    assert 'id="case-status">report drafted<' in refused.text

    filed_too_early = sup2.post(
        f"{case_url}/transition", {"to_status": "filed"}, follow_redirects=True
    )
    assert "cannot move to filed" in filed_too_early.text
    page = sup2.get(case_url).text
    export = re.search(r'<select name="export"[^>]*>\s*<option value="([^"]+)"', page).group(1)
    unnamed = sup2.post(f"{case_url}/transition", {"to_status": "approved"}, follow_redirects=True)
    assert any("names the exported file and its SHA-256" in m for m in _flash(unnamed))
    approved = sup2.post(
        f"{case_url}/transition",
        {"to_status": "approved", "export": export},
        follow_redirects=True,
    )
    assert "is now approved" in approved.text
    assert export.split(" ")[1] in approved.text  # the signed-off file's hash is shown
    filed = sup2.post(f"{case_url}/transition", {"to_status": "filed"}, follow_redirects=True)
    assert 'id="case-status">filed<' in filed.text
    # A filed case is final: no more drafts, parties or closing; its alert is reported.
    assert "Draft STR (goAML)" not in filed.text and "Add party" not in filed.text
    assert "Close case" not in filed.text and "data-to=" not in filed.text
    triage = sup.api("GET", f"/api/parties/sender/{site.top_sender}").json()["triage"]
    assert triage["status"] == "reported"
    history = [e["to_status"] for e in sup.api("GET", f"/api/cases/{case_id}").json()["events"]]
    assert history == ["new", "in_review", "escalated", "report_drafted", "approved", "filed"]


def test_case_buttons_follow_the_role(login, site) -> None:
    ana, sup, aud = login("ana"), login("sup"), login("aud")
    party = {"kind": "sender", "party_id": site.top_sender}
    made = ana.api("POST", "/api/cases", json={"title": "buttons", "parties": [party]})
    case_id = made.json()["id"]
    for status in ("in_review", "escalated"):
        ana.api("POST", f"/api/cases/{case_id}/transitions", json={"to_status": status})
    export_and_draft(ana, case_id, f"sender:{site.top_sender}")
    assert 'data-to="approved"' not in ana.get(f"/cases/{case_id}").text
    assert 'data-to="approved"' in sup.get(f"/cases/{case_id}").text
    auditor_view = aud.get(f"/cases/{case_id}").text
    assert "data-to=" not in auditor_view and "Close case" not in auditor_view
    assert sup.api("GET", f"/api/cases/{case_id}").json()["transitions"] == [
        "approved",
        "escalated",
        "closed",
    ]


def test_close_needs_a_disposition(login) -> None:
    ana = login("ana")
    case_id = ana.api("POST", "/api/cases", json={"title": "to close"}).json()["id"]
    url = f"/cases/{case_id}/transition"
    refused = ana.post(
        url, {"to_status": "closed", "disposition": "false_positive"}, follow_redirects=True
    )
    assert "a false positive needs a reason" in refused.text
    closed = ana.post(
        url,
        {
            "to_status": "closed",
            "disposition": "legitimate",
            "legitimate_population": "overseas worker family support",
        },
        follow_redirects=True,
    )
    assert (
        'id="case-status">closed<' in closed.text
        and "overseas worker family support" in closed.text
    )
    api = ana.api("POST", f"/api/cases/{case_id}/transitions", json={"to_status": "in_review"})
    assert api.status_code == 409


def test_notes_parties_and_assignment(login, site) -> None:
    ana = login("ana")
    case_id = ana.api("POST", "/api/cases", json={"title": "notes"}).json()["id"]
    url = f"/cases/{case_id}"
    ana.post(f"{url}/notes", {"text": "Evenings in Manila, <b>every</b> week."})
    ana.post(f"{url}/parties", {"party_kind": "beneficiary", "party_id": site.top_beneficiary})
    missing = ana.post(
        f"{url}/parties", {"party_kind": "sender", "party_id": "NOBODY"}, follow_redirects=True
    )
    assert "no scored sender" in missing.text
    ana.post(f"{url}/assignee", {"assignee": "sup"})
    page = ana.get(url).text
    assert "Evenings in Manila, &lt;b&gt;every&lt;/b&gt; week." in page  # escaped, with author
    assert re.search(r"<strong>ana</strong> · \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    body = ana.api("GET", f"/api/cases/{case_id}").json()
    assert body["assignee"] == "sup"
    assert [(p["kind"], p["party_id"]) for p in body["parties"]] == [
        ("beneficiary", site.top_beneficiary)
    ]
    assert (
        ana.api("POST", f"/api/cases/{case_id}/notes", json={"text": "api note"}).status_code == 201
    )
    assert (
        ana.api(
            "POST",
            f"/api/cases/{case_id}/parties",
            json={"kind": "sender", "party_id": site.top_sender},
        ).status_code
        == 201
    )
    assert (
        ana.api("PUT", f"/api/cases/{case_id}/assignee", json={"assignee": "aud"}).status_code
        == 409
    )
    assert (
        ana.api("PUT", f"/api/cases/{case_id}/assignee", json={"assignee": None}).json()["assignee"]
        is None
    )
    listed = ana.api("GET", f"/api/cases?party_kind=sender&party_id={site.top_sender}").json()[
        "cases"
    ]
    assert case_id in {c["id"] for c in listed}
    assert ana.get("/cases?status=new").status_code == 200
    assert f"/cases/{case_id}" in ana.get("/cases").text
    assert ana.get("/cases/99999").status_code == 404
    assert ana.api("GET", "/api/cases/99999").status_code == 404


def test_new_case_from_the_cases_page(login) -> None:
    ana = login("ana")
    made = ana.post("/cases", {"title": "From the list"})
    assert made.status_code == 303 and made.headers["location"].startswith("/cases/")
    empty = ana.post("/cases", {"title": "   "}, follow_redirects=True)
    assert "a case needs a title" in empty.text


GOAML_XSD = Path(__file__).parents[3] / "shared" / "goaml" / "goAMLSchema-5.0.1.xsd"


@pytest.mark.skipif(not GOAML_XSD.is_file(), reason=f"goAML XSD not found at {GOAML_XSD}")
def test_case_exports_goaml_and_evidence_for_download(login, site, app) -> None:
    ana = login("ana")
    case = ana.api(
        "POST",
        "/api/cases",
        json={"title": "exports", "parties": [{"kind": "sender", "party_id": site.top_sender}]},
    ).json()
    url = f"/cases/{case['id']}"
    done = ana.post(
        f"{url}/exports/goaml", {"party": f"sender:{site.top_sender}"}, follow_redirects=True
    )
    assert any("goaml" in m for m in _flash(done)), _flash(done)
    link = re.search(rf'href="({url}/exports/[^"]+\.xml)"', done.text).group(1)
    xml = ana.get(link)
    assert xml.status_code == 200 and b"<report" in xml.content
    assert xml.headers["content-type"].startswith("application/xml")

    made = ana.api(
        "POST",
        f"/api/cases/{case['id']}/exports",
        json={"format": "evidence", "party": {"kind": "sender", "party_id": site.top_sender}},
    )
    assert made.status_code == 202, made.text  # a job: the package is made in the background
    app.state.vigil.jobs.wait()
    job = ana.api("GET", made.json()["poll"]).json()
    assert job["status"] == "done", job
    archive = zipfile.ZipFile(io.BytesIO(ana.get(job["url"]).content))
    names = archive.namelist()
    assert any(n.endswith("evidence.pdf") for n in names) and any(
        n.endswith("manifest.sha256") for n in names
    )

    actions = [
        e.action for e in audit.entries(site.store, actor="ana", target=f"case:{case['id']}")
    ]
    assert {"export.goaml", "export.evidence", "export.download"} <= set(actions)
    other = ana.post(
        f"{url}/exports/goaml", {"party": "beneficiary:NOT-ON-CASE"}, follow_redirects=True
    )
    assert "is not a party of case" in other.text
    assert ana.get(f"{url}/exports/..%2F..%2Fcases.sqlite").status_code == 404
    assert ana.get(f"{url}/exports/20990101T000000Z-abcdef-goaml-sender-X.xml").status_code == 404
    assert len(ana.api("GET", f"/api/cases/{case['id']}").json()["exports"]) == 2
    aud = login("aud")
    assert aud.get(link).status_code == 403


def test_goaml_drafts_are_refused_until_the_fiu_config_is_set(site) -> None:
    from fastapi.testclient import TestClient

    from tests.web.conftest import PASSWORD, Browser, login_token
    from vigil.web.app import create_app

    app = create_app(
        site.workspace,
        site.database_url,
        secret_key="test-secret-key-" + "y" * 32,
        secure_cookies=False,
        exports_dir=site.exports,
    )
    try:
        with TestClient(app, follow_redirects=False) as client:
            client.post(
                "/login",
                data={"username": "ana", "password": PASSWORD, "csrf_token": login_token(client)},
            )
            ana = Browser(client, client.get("/api/me").json()["csrf_token"])
            party = {"kind": "sender", "party_id": site.top_sender}
            case_id = ana.api("POST", "/api/cases", json={"title": "fiu", "parties": [party]})
            url = f"/cases/{case_id.json()['id']}"
            page = ana.get(url).text
            assert 'id="fiu-config-missing"' in page and "vigil serve --fiu-config" in page
            assert re.search(r'class="export-goaml"\s+disabled', page)
            refused = ana.post(
                f"{url}/exports/goaml",
                {"party": f"sender:{site.top_sender}"},
                follow_redirects=True,
            )
            assert any("FIU config" in m for m in _flash(refused))
            assert not list(Path(site.exports).glob(f"case-{case_id.json()['id']}/*goaml*"))
    finally:
        app.state.vigil.reader.close()
        app.state.vigil.store.close()


def test_evidence_package_is_made_in_the_background_and_names_case_and_user(
    login, site, app
) -> None:
    import csv
    import json

    ana = login("ana")
    party = {"kind": "sender", "party_id": site.top_sender}
    case = ana.api("POST", "/api/cases", json={"title": "evidence", "parties": [party]}).json()
    url = f"/cases/{case['id']}"

    started = ana.post(f"{url}/exports/evidence", {"party": f"sender:{site.top_sender}"})
    assert started.status_code == 303  # back at once, not after the PDF
    assert 'id="export-jobs"' in ana.get(url).text
    app.state.vigil.jobs.wait()
    jobs = ana.get(f"{url}/jobs").text
    assert "ready:" in jobs, jobs
    assert "hx-trigger" not in jobs  # polling stops once every job is finished
    link = re.search(r'href="([^"]+\.zip)"', jobs).group(1)

    archive = zipfile.ZipFile(io.BytesIO(ana.get(link).content))
    [manifest_name] = [n for n in archive.namelist() if n.endswith("manifest.json")]
    manifest = json.loads(archive.read(manifest_name))
    assert manifest["case"] == case["reference"] and manifest["prepared_by"] == "ana"
    assert manifest["workspace"] == Path(site.workspace).name  # no server path
    [html_name] = [n for n in archive.namelist() if n.endswith("evidence.html")]
    header = re.search(
        r'<p class="generated" id="prepared">([^<]+)', archive.read(html_name).decode()
    )
    assert f"Case {case['reference']}" in header.group(1) and "by ana" in header.group(1)
    [csv_name] = [n for n in archive.namelist() if n.endswith("payments.csv")]
    rows = list(csv.DictReader(io.StringIO(archive.read(csv_name).decode("utf-8"))))
    assert rows and all(re.fullmatch(r"[0-9]+\.[0-9]{2}", r["amount_reporting"]) for r in rows)
