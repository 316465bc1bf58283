"""Edits to the case store's tables behind Vigil's back are caught: every change to a case,
a note or a user is an audit entry with the row's hash, and `verify` checks the tables."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from vigil.cases import audit, workflow
from vigil.cases.models import Case
from vigil.cases.row_audit import row_hash
from vigil.cases.store import CaseStore
from vigil.cli import app


def _case_with_note(store: CaseStore) -> int:
    case = workflow.create_case(store, "ana", "wallet", [("beneficiary", "W1")])
    workflow.add_note(store, "ana", case.id, "Payments start after 21:00 Manila.")
    return case.id


def test_each_change_to_a_case_is_an_entry_with_the_rows_new_hash(team: CaseStore) -> None:
    case_id = _case_with_note(team)
    workflow.transition(team, "ana", case_id, "in_review")

    rows = [e for e in audit.entries(team, target=f"cases:{case_id}") if e.action == "row.cases"]
    assert len(rows) == 3  # created, note added (updated_at), moved to in review
    assert {e.actor for e in rows} == {"ana"}
    with team.session() as session:
        assert audit.detail_of(rows[0]) == {"hash": row_hash(session.get(Case, case_id))}
    assert audit.verify(team).ok


@pytest.mark.parametrize(
    ("tampering", "named"),
    [
        ("UPDATE cases SET status = 'filed'", "cases row"),
        ("UPDATE case_notes SET text = 'rewritten'", "case_notes row"),
        ("UPDATE users SET role = 'supervisor' WHERE username = 'ben'", "users row"),
        ("UPDATE users SET password_hash = 'swapped' WHERE username = 'ana'", "users row"),
        ("DELETE FROM case_notes", "case_notes row"),
        (
            "INSERT INTO users (username, password_hash, role, active, created_at) "
            "VALUES ('eve', 'x', 'admin', true, '2026-01-01 00:00:00')",
            "users row",
        ),
    ],
)
def test_verify_catches_an_edit_of_the_tables(team: CaseStore, tampering: str, named: str) -> None:
    _case_with_note(team)
    assert audit.verify(team).ok
    with team.engine.begin() as con:
        con.execute(text(tampering))

    result = audit.verify(team)
    assert not result.ok
    assert named in result.problem
    assert "chain of" in result.render()


def test_audit_verify_prints_the_head_hash_and_fails_on_a_table_edit(
    team: CaseStore, database_url: str
) -> None:
    _case_with_note(team)
    runner = CliRunner()
    intact = runner.invoke(app, ["audit", "verify", "--database-url", database_url])
    assert intact.exit_code == 0
    assert f"last hash {audit.entries(team, limit=1)[0].hash}" in intact.stdout
    with team.engine.begin() as con:
        con.execute(text("UPDATE cases SET status = 'filed'"))
    broken = runner.invoke(app, ["audit", "verify", "--database-url", database_url])
    assert broken.exit_code == 1
    assert "cases row" in broken.stderr
