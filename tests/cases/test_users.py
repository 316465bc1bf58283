"""Users: argon2 hashes, wrong or disabled logins refused, clear errors, audited changes."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tests.cases.conftest import PASSWORD
from vigil.cases import audit, users
from vigil.cases.errors import PermissionDenied, UserAdminError
from vigil.cases.store import CaseStore


def test_the_password_is_stored_as_an_argon2id_hash(store: CaseStore) -> None:
    user = users.add_user(store, "ana", PASSWORD, "analyst")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert users.authenticate(store, "ana", PASSWORD).username == "ana"


def test_a_wrong_password_or_unknown_user_is_refused(team: CaseStore) -> None:
    assert users.authenticate(team, "ana", PASSWORD + "!") is None
    assert users.authenticate(team, "nobody", PASSWORD) is None


def test_a_disabled_user_is_refused_and_listed_inactive(team: CaseStore) -> None:
    users.disable_user(team, "ana", actor="adm")
    assert users.authenticate(team, "ana", PASSWORD) is None
    listed = {u.username: u.active for u in users.list_users(team)}
    assert listed["ana"] is False and listed["ben"] is True
    assert users.get_user(team, "ana").active is False


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("ana", PASSWORD, "analyst", "user 'ana' already exists"),
        ("newbie", PASSWORD, "boss", "unknown role 'boss'"),
        ("newbie", "short-pw", "analyst", "password too short: at least 10"),
        ("new user", PASSWORD, "analyst", "invalid username"),
    ],
)
def test_bad_user_changes_are_refused_in_one_line(
    team: CaseStore, username: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(UserAdminError, match=message) as raised:
        users.add_user(team, username, password, role)
    assert "\n" not in str(raised.value)


def test_only_an_admin_manages_users(team: CaseStore) -> None:
    with pytest.raises(PermissionDenied, match="admin role required"):
        users.add_user(team, "eve", PASSWORD, "admin", actor="sam")
    with pytest.raises(PermissionDenied):
        users.disable_user(team, "ana", actor="aud")
    with pytest.raises(UserAdminError, match="their own account"):
        users.disable_user(team, "adm", actor="adm")
    users.add_user(team, "eve", PASSWORD, "auditor", actor="adm")
    assert users.get_user(team, "eve").role == "auditor"


def test_user_changes_are_audited(team: CaseStore) -> None:
    users.disable_user(team, "ben", actor="adm")
    change, row = audit.entries(team, limit=2)[::-1]
    assert (change.actor, change.action, change.target) == ("adm", "user.disable", "user:ben")
    assert (row.actor, row.action) == ("adm", "row.users")
    added = audit.entries(team, target="user:ana")
    assert [(e.actor, e.action, audit.detail_of(e)) for e in added] == [
        ("cli", "user.add", {"role": "analyst"})
    ]


def test_an_outdated_hash_is_upgraded_at_login(
    store: CaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    users.add_user(store, "ana", PASSWORD, "analyst")  # made with the cheap test parameters
    before = users.get_user(store, "ana").password_hash
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(users, "PASSWORD_HASHER", stronger)
    assert users.authenticate(store, "ana", PASSWORD) is not None
    after = users.get_user(store, "ana").password_hash
    assert after != before and "m=2048,t=2" in after
    assert users.authenticate(store, "ana", PASSWORD) is not None


def test_the_production_hasher_is_argon2id_with_its_recommended_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.undo()  # the module's own hasher, not the tests' cheap one
    hashed = users.PASSWORD_HASHER.hash(PASSWORD)
    assert hashed.startswith("$argon2id$") and "m=65536,t=3,p=4" in hashed
