"""The web app's fixtures: one small scanned population shared by every web test, a SQLite
case store per test module with a user of every role, and a logged-in test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vigil.cases.store import CaseStore
from vigil.cases.users import add_user
from vigil.reports.fiu_config import example_config_path
from vigil.scan import scan
from vigil.synth import generate
from vigil.workspace import Workspace

PASSWORD = "correct-horse-battery"
USERS = {
    "ana": "analyst",
    "ana2": "analyst",
    "sup": "supervisor",
    "sup2": "supervisor",
    "aud": "auditor",
    "adm": "admin",
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class WebSite:
    workspace: Path
    database_url: str
    store: CaseStore
    exports: Path
    top_sender: str
    top_beneficiary: str


@pytest.fixture(scope="session")
def scanned_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 synthetic senders (with offenders and facilitators), scanned: read-only after."""
    root = tmp_path_factory.mktemp("web-population")
    generated = generate(root / "data", senders=300, seed=11)
    scan([generated.transactions], root / "results")
    return root / "results" / "vigil.duckdb"


def query(workspace: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows straight from the workspace, to check what the app shows (opened as the app
    opens it: DuckDB refuses one file under two configurations in one process)."""
    with Workspace.open(workspace, read_only=True) as ws:
        return ws.con.execute(sql, params or []).fetchall()


def _top(workspace: Path, kind: str) -> str:
    sql = "SELECT party_id FROM alerts WHERE party_kind = ? ORDER BY rank LIMIT 1"
    return query(workspace, sql, [kind])[0][0]


@pytest.fixture(scope="module")
def site(scanned_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebSite]:
    folder = tmp_path_factory.mktemp("web-cases")
    database_url = f"sqlite:///{folder / 'cases.sqlite'}"
    store = CaseStore.open(database_url)
    for username, role in USERS.items():
        add_user(store, username, PASSWORD, role)
    yield WebSite(
        workspace=scanned_workspace,
        database_url=database_url,
        store=store,
        exports=folder / "exports",
        top_sender=_top(scanned_workspace, "sender"),
        top_beneficiary=_top(scanned_workspace, "beneficiary"),
    )
    store.close()


@pytest.fixture(scope="module")
def app(site: WebSite):
    from vigil.web.app import create_app

    app = create_app(
        site.workspace,
        site.database_url,
        secret_key="test-secret-key-" + "x" * 32,
        secure_cookies=False,  # the test client talks plain http
        exports_dir=site.exports,
        fiu_config=example_config_path(),  # goAML drafts need one (the app refuses without)
    )
    yield app
    app.state.vigil.reader.close()
    app.state.vigil.store.close()


def export_and_draft(client: Browser, case_id: int, party: str) -> tuple[str, str]:
    """Write the case's goAML draft for `party` ("sender:ID"), move the case to
    report_drafted, and return the export's (file, sha256) an approver signs off."""
    kind, _, party_id = party.partition(":")
    made = client.api(
        "POST",
        f"/api/cases/{case_id}/exports",
        json={"format": "goaml", "party": {"kind": kind, "party_id": party_id}},
    )
    assert made.status_code == 201, made.text
    moved = client.api(
        "POST", f"/api/cases/{case_id}/transitions", json={"to_status": "report_drafted"}
    )
    assert moved.status_code == 200, moved.text
    export = client.api("GET", f"/api/cases/{case_id}").json()["recorded_exports"][0]
    return export["file"], export["sha256"]


class Browser:
    """A test client logged in as one user, sending the session's CSRF token."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, **kwargs):
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf}, **kwargs)

    def api(self, method: str, url: str, **kwargs):
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)


def login_token(client: TestClient) -> str:
    return TOKEN.search(client.get("/login").text).group(1)


@pytest.fixture(scope="module")
def login(app):
    clients: list[TestClient] = []

    def log_in(username: str) -> Browser:
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        answer = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": login_token(client)},
        )
        assert answer.status_code == 303, answer.text
        return Browser(client, client.get("/api/me").json()["csrf_token"])

    yield log_in
    for client in clients:
        client.close()
