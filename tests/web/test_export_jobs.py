"""Evidence packages are made in the background, from the case page and from the API alike:
the request returns at once with a job, the job tells its progress and then its file, the
file is audited like any export, and nobody without the case sees the job."""

from __future__ import annotations

import io
import threading
import zipfile

import pytest

from vigil.cases import audit
from vigil.reports import evidence


@pytest.fixture
def held_evidence(monkeypatch):
    """The evidence writer stops after drawing the charts until the test lets it go: what the
    client sees while a package is being made, without racing a real PDF."""
    real = evidence.write_evidence_package
    reached, release = threading.Event(), threading.Event()

    def held(*args, progress=None, **kwargs):
        progress("charts", 0.1)
        reached.set()
        assert release.wait(60), "the test never released the export"
        return real(*args, progress=progress, **kwargs)

    monkeypatch.setattr(evidence, "write_evidence_package", held)
    yield reached, release
    release.set()


def _case(client, party_id: str) -> dict:
    party = {"kind": "sender", "party_id": party_id}
    made = client.api("POST", "/api/cases", json={"title": "background", "parties": [party]})
    assert made.status_code == 201, made.text
    return made.json()


def test_the_api_returns_a_job_that_shows_progress_then_the_file(
    login, site, app, held_evidence
) -> None:
    reached, release = held_evidence
    ana, ana2, sup = login("ana"), login("ana2"), login("sup")
    case = _case(ana, site.top_sender)
    party = {"kind": "sender", "party_id": site.top_sender}

    started = ana.api(
        "POST", f"/api/cases/{case['id']}/exports", json={"format": "evidence", "party": party}
    )
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] == "running" and job["url"] is None
    assert job["poll"] == f"/api/cases/{case['id']}/jobs/{job['id']}"
    assert reached.wait(30)

    # while the writer is held: progress, on the API and on the case page alike
    polled = ana.api("GET", job["poll"]).json()
    assert polled["status"] == "running" and polled["step"] == "charts"
    assert polled["share"] == pytest.approx(0.1) and polled["step_text"] == "drawing the charts"
    page = ana.get(f"/cases/{case['id']}/jobs").text
    assert "<progress" in page and "drawing the charts (10 %)" in page and "hx-trigger" in page
    listed = ana.api("GET", f"/api/cases/{case['id']}/jobs").json()["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]

    # without the case the job does not exist; with it (a supervisor), it is still not theirs
    assert ana2.api("GET", job["poll"]).status_code == 404
    assert ana2.api("GET", f"/api/cases/{case['id']}/jobs").status_code == 404
    refused = ana2.api(
        "POST", f"/api/cases/{case['id']}/exports", json={"format": "evidence", "party": party}
    )
    assert refused.status_code == 404
    assert sup.api("GET", job["poll"]).status_code == 404
    assert sup.api("GET", f"/api/cases/{case['id']}/jobs").json()["jobs"] == []

    release.set()
    app.state.vigil.jobs.wait()
    done = ana.api("GET", job["poll"]).json()
    assert done["status"] == "done" and done["share"] == 1.0 and done["error"] is None, done
    assert done["url"] == f"/cases/{case['id']}/exports/{done['name']}"
    download = ana.get(done["url"])
    assert download.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert any(n.endswith("evidence.pdf") for n in names)
    assert ana2.get(done["url"]).status_code == 404

    entries = audit.entries(site.store, actor="ana", target=f"case:{case['id']}")
    made = [audit.detail_of(e) for e in entries if e.action == "export.evidence"]
    assert len(made) == 1 and done["name"] in str(made[0])
    assert "export.download" in {e.action for e in entries}


def test_a_party_not_on_the_case_is_refused_before_any_job(login, site) -> None:
    ana = login("ana")
    case = _case(ana, site.top_sender)
    stranger = {"kind": "beneficiary", "party_id": "NOT-ON-CASE"}

    refused = ana.api(
        "POST", f"/api/cases/{case['id']}/exports", json={"format": "evidence", "party": stranger}
    )
    assert refused.status_code == 409
    assert "is not a party of case" in refused.json()["detail"]
    page = ana.post(
        f"/cases/{case['id']}/exports/evidence",
        {"party": "beneficiary:NOT-ON-CASE"},
        follow_redirects=True,
    )
    assert "is not a party of case" in page.text
    assert ana.api("GET", f"/api/cases/{case['id']}/jobs").json()["jobs"] == []


def test_the_case_page_returns_at_once_and_shows_the_progress(
    login, site, app, held_evidence
) -> None:
    reached, release = held_evidence
    ana = login("ana")
    case = _case(ana, site.top_sender)
    url = f"/cases/{case['id']}"

    # were the package made in the request, this would wait for the held writer (and fail)
    started = ana.post(f"{url}/exports/evidence", {"party": f"sender:{site.top_sender}"})
    assert started.status_code == 303
    assert reached.wait(30)
    page = ana.get(url).text
    assert "<progress" in page and "drawing the charts" in page
    assert f'hx-get="{url}/jobs"' in page  # the page polls while the job runs

    release.set()
    app.state.vigil.jobs.wait()
    assert "ready:" in ana.get(f"{url}/jobs").text
