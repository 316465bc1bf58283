"""The audit trail's hash chain: intact when untouched, broken where anyone tampered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from vigil.cases import audit
from vigil.cases.models import AuditEntry, utcnow
from vigil.cases.store import CaseStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def trail(store: CaseStore) -> CaseStore:
    """Six entries, as the web app and the workflow write them."""
    for n in range(1, 7):
        audit.record(store, f"user{n % 2}", "case.view", f"case:{n}", {"n": n})
    return store


def sql(store: CaseStore, statement: str, **params: object) -> None:
    with store.engine.begin() as con:
        con.execute(text(statement), params)


def row(store: CaseStore, seq: int) -> dict[str, object]:
    with store.engine.connect() as con:
        found = con.execute(text("SELECT * FROM audit_entries WHERE seq = :s"), {"s": seq})
        return dict(found.mappings().one())


def test_an_untouched_trail_verifies(trail: CaseStore) -> None:
    result = audit.verify(trail)
    assert (result.ok, result.entries, result.first_bad_seq) == (True, 6, None)
    assert result.last_hash == audit.entries(trail, limit=1)[0].hash
    assert result.render().startswith("audit trail intact: 6 entries")


def test_an_empty_trail_verifies(store: CaseStore) -> None:
    assert audit.verify(store) == audit.AuditVerification(True, 0, None, None, None)


def test_each_entry_hashes_its_content_and_its_predecessor(trail: CaseStore) -> None:
    first, second = sorted(audit.entries(trail, limit=2, offset=4), key=lambda e: e.seq)
    assert first.prev_hash == audit.GENESIS_HASH and second.prev_hash == first.hash
    expected = audit.entry_hash(
        first.hash, 2, second.at, second.actor, second.action, second.target, {"n": 2}
    )
    assert second.hash == expected
    assert audit.detail_of(second) == {"n": 2}


def test_an_edited_detail_is_found(trail: CaseStore) -> None:
    sql(trail, "UPDATE audit_entries SET detail = :d WHERE seq = 3", d='{"n":33}')
    result = audit.verify(trail)
    assert (result.ok, result.first_bad_seq, result.entries) == (False, 3, 2)
    assert "entry 3 does not match its hash" in result.problem


def test_an_edited_actor_or_time_is_found(trail: CaseStore) -> None:
    sql(trail, "UPDATE audit_entries SET actor = 'someone else' WHERE seq = 5")
    assert audit.verify(trail).first_bad_seq == 5


def test_a_deleted_entry_is_found(trail: CaseStore) -> None:
    sql(trail, "DELETE FROM audit_entries WHERE seq = 3")
    result = audit.verify(trail)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "entry 3 is missing" in result.problem


def test_a_deleted_first_entry_is_found(trail: CaseStore) -> None:
    sql(trail, "DELETE FROM audit_entries WHERE seq = 1")
    assert audit.verify(trail).first_bad_seq == 1


def test_reordered_entries_are_found(trail: CaseStore) -> None:
    third, fourth = row(trail, 3), row(trail, 4)
    columns = ("at", "actor", "action", "target", "detail", "prev_hash", "hash")
    sql(trail, "UPDATE audit_entries SET prev_hash = 'x3' WHERE seq = 3")
    sql(trail, "UPDATE audit_entries SET prev_hash = 'x4' WHERE seq = 4")
    for seq, content in ((3, fourth), (4, third)):
        sets = ", ".join(f"{c} = :{c}" for c in columns)
        sql(
            trail,
            f"UPDATE audit_entries SET {sets} WHERE seq = {seq}",
            **{c: content[c] for c in columns},
        )
    result = audit.verify(trail)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "does not link to entry 2" in result.problem


def test_a_forged_entry_inserted_in_the_middle_is_found(trail: CaseStore) -> None:
    """The forger renumbers entries 3.. and writes a correctly hashed entry 3 after entry
    2; the renumbered old entry 3 (now 4) no longer matches: the chain breaks there."""
    second = row(trail, 2)
    sql(trail, "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 3")
    sql(trail, "UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1003")
    forged = AuditEntry(
        seq=3,
        at=utcnow(),
        actor="user0",
        action="case.view",
        target="case:99",
        detail="{}",
        prev_hash=second["hash"],
    )
    forged.hash = audit.entry_hash(
        forged.prev_hash, 3, forged.at, forged.actor, forged.action, forged.target, {}
    )
    # the old entry 3 still claims entry 2 as predecessor: unique prev_hash refuses the
    # forgery until the forger rewrites that link too
    with pytest.raises(IntegrityError), trail.session() as session:
        session.add(forged)
    sql(trail, "UPDATE audit_entries SET prev_hash = :h WHERE seq = 4", h=forged.hash)
    with trail.session() as session:
        session.add(forged)
    result = audit.verify(trail)
    assert (result.ok, result.first_bad_seq, result.entries) == (False, 4, 3)
    assert "entry 4 does not match its hash" in result.problem


def test_an_entry_appended_by_hand_with_a_made_up_hash_is_found(trail: CaseStore) -> None:
    last = row(trail, 6)
    sql(
        trail,
        "INSERT INTO audit_entries (seq, at, actor, action, target, detail, prev_hash, hash) "
        "VALUES (7, :at, 'x', 'case.view', 'case:1', '{}', :prev, :hash)",
        at=last["at"],
        prev=last["hash"],
        hash="f" * 64,
    )
    assert audit.verify(trail).first_bad_seq == 7


def test_entries_page_newest_first_and_filter(trail: CaseStore) -> None:
    assert [e.seq for e in audit.entries(trail, limit=2)] == [6, 5]
    assert [e.seq for e in audit.entries(trail, limit=2, offset=2)] == [4, 3]
    assert [e.seq for e in audit.entries(trail, limit=10, actor="user1")] == [5, 3, 1]
    assert [e.seq for e in audit.entries(trail, limit=10, target="case:4")] == [4]
    assert audit.count_entries(trail, actor="user0") == 3


def test_an_entry_joins_the_transaction_of_the_change_it_records(store: CaseStore) -> None:
    with pytest.raises(RuntimeError), store.session() as session:
        audit.record(session, "ana", "case.note", "case:1", {"note_id": 1})
        raise RuntimeError("the change failed")
    assert audit.count_entries(store) == 0


APPENDER = """
import sys
from vigil.cases import audit
from vigil.cases.store import CaseStore
store = CaseStore.open(sys.argv[1])
for n in range(int(sys.argv[3])):
    audit.record(store, sys.argv[2], "case.view", f"case:{n}")
"""


def test_two_processes_appending_at_once_keep_one_chain(store: CaseStore) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, url, f"writer{w}", "30"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    result = audit.verify(store)
    assert (result.ok, result.entries) == (True, 60)
