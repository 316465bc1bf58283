"""Nobody sees what is not theirs: a case is seen by whoever opened it or works it, and by
supervisors and auditors; to anyone else it does not exist (404), and the try is audited."""

from __future__ import annotations

from sqlalchemy import select

from vigil.cases.models import AuditEntry


def _refusals(site, actor: str) -> int:
    with site.store.session() as session:
        entries = session.execute(
            select(AuditEntry).where(AuditEntry.actor == actor, AuditEntry.action == "case.refused")
        ).scalars()
        return len(list(entries))


def test_another_analyst_gets_404_for_a_case_and_its_exports(login, site) -> None:
    ana, ana2 = login("ana"), login("ana2")
    case = ana.api(
        "POST",
        "/api/cases",
        json={"title": "private", "parties": [{"kind": "sender", "party_id": site.top_sender}]},
    ).json()
    url = f"/cases/{case['id']}"
    made = ana.api(
        "POST",
        f"/api/cases/{case['id']}/exports",
        json={"format": "goaml", "party": {"kind": "sender", "party_id": site.top_sender}},
    )
    assert made.status_code == 201, made.text
    download = made.json()["url"]
    assert ana.get(download).status_code == 200
    # the export is the owner's alone on disk too
    folder = site.exports / f"case-{case['id']}"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / made.json()["name"]).stat().st_mode & 0o777 == 0o600
    before = _refusals(site, "ana2")

    assert ana2.api("GET", f"/api/cases/{case['id']}").status_code == 404
    assert ana2.get(url).status_code == 404
    assert ana2.get(download).status_code == 404
    assert ana2.post(f"{url}/notes", {"text": "not mine"}).status_code in (303, 404)
    assert ana2.api("POST", f"/api/cases/{case['id']}/notes", json={"text": "x"}).status_code == 404
    listed = ana2.api("GET", "/api/cases").json()["cases"]
    assert case["id"] not in {c["id"] for c in listed}
    assert case["reference"] not in ana2.get("/cases").text
    assert _refusals(site, "ana2") > before
    # the case is unchanged: no note got in
    assert ana.api("GET", f"/api/cases/{case['id']}").json()["notes"] == []


def test_the_assignee_and_supervisors_see_the_case(login, site) -> None:
    ana, ana2, sup, aud = login("ana"), login("ana2"), login("sup"), login("aud")
    case_id = ana.api("POST", "/api/cases", json={"title": "shared"}).json()["id"]
    assert ana2.api("GET", f"/api/cases/{case_id}").status_code == 404

    assert sup.api("GET", f"/api/cases/{case_id}").status_code == 200
    assert aud.api("GET", f"/api/cases/{case_id}").status_code == 200
    assigned = ana.api("PUT", f"/api/cases/{case_id}/assignee", json={"assignee": "ana2"})
    assert assigned.status_code == 200, assigned.text
    assert ana2.api("GET", f"/api/cases/{case_id}").status_code == 200
    assert case_id in {c["id"] for c in ana2.api("GET", "/api/cases").json()["cases"]}


def test_a_case_id_beyond_any_integer_is_404_not_500(login) -> None:
    ana = login("ana")
    for case_id in ("99999999999999999999", str(2**63), "0", "-1"):
        assert ana.api("GET", f"/api/cases/{case_id}").status_code == 404, case_id
        assert ana.get(f"/cases/{case_id}").status_code == 404, case_id
