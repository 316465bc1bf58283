"""A scan marks its workspace in progress, then complete: a scan killed half way leaves a
workspace that says so, readers refuse or warn, and the next scan finishes the job."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import vigil.scan as scan_module
from tests.builders import payment, write_payments_csv
from tests.web.conftest import PASSWORD, login_token
from vigil.cases.store import CaseStore
from vigil.cases.users import add_user
from vigil.pipeline.stages import SCAN_STAGES
from vigil.reports.party import load_party
from vigil.scan import scan
from vigil.workspace import Workspace
from vigil.workspace.store import IncompleteWorkspaceError


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs."""


def rows(*senders: str) -> list[dict[str, str]]:
    return [payment(s, "W1", f"2024-03-0{d}T21:00:00+00:00") for s in senders for d in (1, 2)]


@pytest.fixture
def interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace scanned once, then rescanned with a new sender and killed while scoring."""
    out = tmp_path / "out"
    scan([write_payments_csv(tmp_path / "a.csv", rows("C1"))], out)

    def killed(*_args: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        stages = [
            dataclasses.replace(s, run=killed) if s.name == "scores" else s for s in SCAN_STAGES
        ]
        patch.setattr(scan_module, "SCAN_STAGES", stages)
        with pytest.raises(Killed):
            scan([write_payments_csv(tmp_path / "b.csv", rows("C2"))], out)
    return out / "vigil.duckdb"


def test_a_scan_marks_the_workspace_complete(tmp_path: Path) -> None:
    scan([write_payments_csv(tmp_path / "a.csv", rows("C1"))], tmp_path / "out")
    with Workspace.open(tmp_path / "out" / "vigil.duckdb", read_only=True) as ws:
        assert not ws.scan_incomplete
        assert ws.meta_get("scan_state") == "complete"
        assert ws.meta_get("scan_completed_at")


def test_an_interrupted_scan_leaves_the_workspace_marked_in_progress(interrupted: Path) -> None:
    with Workspace.open(interrupted, read_only=True) as ws:
        assert ws.scan_incomplete
        assert ws.count("payments") == 4  # the new payments are in, their scores are not


def test_reports_refuse_an_incomplete_workspace(interrupted: Path) -> None:
    with pytest.raises(IncompleteWorkspaceError, match=r"did not finish.*vigil scan"):
        load_party(interrupted, "C1")


def test_the_web_app_warns_on_an_incomplete_workspace(interrupted: Path, tmp_path: Path) -> None:
    from vigil.web.app import create_app

    database_url = f"sqlite:///{tmp_path / 'cases.sqlite'}"
    store = CaseStore.open(database_url)
    add_user(store, "ana", PASSWORD, "analyst")
    store.close()
    app = create_app(interrupted, database_url, secret_key="k" * 48, secure_cookies=False)
    with TestClient(app, follow_redirects=False) as client:
        answer = client.post(
            "/login",
            data={"username": "ana", "password": PASSWORD, "csrf_token": login_token(client)},
        )
        assert answer.status_code == 303
        page = client.get("/queue")
        assert "Incomplete workspace" in page.text
        assert "workspace incomplete" in client.get("/api/alerts").headers["warning"]


def test_the_next_scan_finishes_the_job(interrupted: Path, tmp_path: Path) -> None:
    again = shutil.copy(tmp_path / "b.csv", tmp_path / "c.csv")
    scan([Path(again)], tmp_path / "out")

    with Workspace.open(interrupted, read_only=True) as ws:
        assert not ws.scan_incomplete
        scored = {r[0] for r in ws.con.execute("SELECT party_id FROM sender_scores").fetchall()}
        assert scored == {"C1", "C2"}
    assert load_party(interrupted, "C2").kind == "sender"
