"""`vigil users`, `vigil audit verify`, `vigil cases labels`, `vigil export ftm --case`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from tests.builders import payment, series, write_payments_csv
from tests.cases.conftest import PASSWORD
from vigil.cases import audit, users, workflow
from vigil.cases.store import CaseStore
from vigil.cli import app
from vigil.scan import scan
from vigil.workspace import Workspace


def vigil(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


def test_users_add_list_and_disable(database_url: str) -> None:
    added = vigil(
        "users", "add", "ana", "--role", "analyst", "--password-stdin",
        "--database-url", database_url, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "user ana added with role analyst" in added.stdout
    listed = vigil("users", "list", "--database-url", database_url)
    assert listed.exit_code == 0 and "ana" in listed.stdout and "yes" in listed.stdout
    disabled = vigil("users", "disable", "ana", "--database-url", database_url)
    assert disabled.exit_code == 0
    with CaseStore.open(database_url) as store:
        assert users.authenticate(store, "ana", PASSWORD) is None
        actions = [e.action for e in audit.entries(store)]
        assert [a for a in actions if not a.startswith("row.")] == ["user.disable", "user.add"]
        assert actions.count("row.users") == 2  # the row added, then changed


def test_users_add_prompts_for_a_hidden_password_twice(tmp_path: Path) -> None:
    workspace = tmp_path / "vigil.duckdb"
    result = vigil(
        "users", "add", "sam", "--role", "supervisor", "--workspace", str(workspace),
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert (tmp_path / "cases.sqlite").is_file()


def test_user_mistakes_are_one_line_on_stderr(database_url: str) -> None:
    weak = vigil(
        "users", "add", "ana", "--role", "analyst", "--password-stdin",
        "--database-url", database_url, stdin="short\n",
    )  # fmt: skip
    assert weak.exit_code == 2
    assert weak.stderr.strip().splitlines() == ["error: password too short: at least 10 characters"]
    unknown = vigil("users", "disable", "nobody", "--database-url", database_url)
    assert (unknown.exit_code, unknown.stderr.strip()) == (2, "error: no user 'nobody'")
    nowhere = vigil("users", "list")
    assert nowhere.exit_code == 2 and "--workspace" in nowhere.stderr


def test_audit_verify_exit_codes(team: CaseStore, database_url: str) -> None:
    intact = vigil("audit", "verify", "--database-url", database_url)
    assert intact.exit_code == 0
    # one entry per user added, and one for the users row it wrote
    assert f"audit trail intact: {2 * len(users.list_users(team))} entries" in intact.stdout
    with team.engine.begin() as con:
        con.execute(text("UPDATE audit_entries SET target = 'user:eve' WHERE seq = 2"))
    broken = vigil("audit", "verify", "--database-url", database_url)
    assert broken.exit_code == 1
    assert "audit trail broken at entry 2" in broken.stderr


def test_cases_labels_writes_the_csv(team: CaseStore, database_url: str, tmp_path: Path) -> None:
    case = workflow.create_case(team, "ana", "wallet", [("beneficiary", "W1")])
    workflow.transition(team, "ana", case.id, "closed", disposition="confirmed")
    out = tmp_path / "labels.csv"
    result = vigil("cases", "labels", "--out", str(out), "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[1] == f"beneficiary,W1,facilitator,{case.reference}"


EVENING = datetime(2024, 3, 1, 21, 0)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small scanned workspace for the module: two senders paying one wallet."""
    root = tmp_path_factory.mktemp("case-export")
    rows = series("gary", "hub", EVENING, 6, timedelta(days=3))
    rows += series("tom", "hub", EVENING, 4, timedelta(days=5))
    rows += [payment("gary", "shop", EVENING - timedelta(days=1), 15)]
    scan([write_payments_csv(root / "payments.csv", rows)], root / "out")
    return root / "out" / "vigil.duckdb"


def test_export_ftm_of_a_case_exports_its_parties_and_is_audited(
    team: CaseStore, database_url: str, workspace: Path, tmp_path: Path
) -> None:
    case = workflow.create_case(team, "ana", "hub", [("sender", "tom")])
    out = tmp_path / "case.jsonl"
    result = vigil(
        "export", "ftm", "--workspace", str(workspace), "--out", str(out),
        "--case", case.reference, "--database-url", database_url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    entities = [json.loads(line) for line in out.read_text().splitlines()]
    payments = [e for e in entities if e["schema"] == "Payment"]
    assert len(payments) == 4  # tom's four payments, not gary's
    assert {p["properties"]["transactionNumber"][0] for p in payments} == _txn_ids(workspace, "tom")
    latest = audit.entries(team, limit=1)[0]
    assert (latest.actor, latest.action, latest.target) == ("cli", "export.ftm", f"case:{case.id}")
    assert audit.detail_of(latest)["entities"] == len(entities)
    assert audit.verify(team).ok


def test_export_ftm_of_a_case_uses_the_store_beside_the_workspace(
    workspace: Path, tmp_path: Path
) -> None:
    with CaseStore.open(f"sqlite:///{workspace.parent / 'cases.sqlite'}") as store:
        users.add_user(store, "ana", PASSWORD, "analyst")
        case = workflow.create_case(store, "ana", "hub", [("beneficiary", "hub")])
    out = tmp_path / "hub.jsonl"
    result = vigil(
        "export", "ftm", "--workspace", str(workspace), "--out", str(out), "--case", str(case.id)
    )
    assert result.exit_code == 0, result.output
    assert sum('"Payment"' in line for line in out.read_text().splitlines()) == 10


def test_export_ftm_of_a_case_with_a_party_not_in_the_workspace_is_refused(
    team: CaseStore, database_url: str, workspace: Path, tmp_path: Path
) -> None:
    case = workflow.create_case(team, "ana", "elsewhere", [("sender", "hub")])
    out = tmp_path / "x.jsonl"
    result = vigil(
        "export", "ftm", "--workspace", str(workspace), "--out", str(out),
        "--case", case.reference, "--database-url", database_url,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "sender hub is not in the workspace" in result.stderr
    assert not out.exists()


def _txn_ids(workspace: Path, sender: str) -> set[str]:
    with Workspace.open(workspace) as ws:
        rows = ws.con.execute(
            "SELECT txn_id FROM payments WHERE sender_id = ?", [sender]
        ).fetchall()
    return {r[0] for r in rows}
