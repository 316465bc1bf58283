"""Starting the app: secret key file, front-end libraries, demo logins, `vigil serve`,
and logs that never carry personal data."""

from __future__ import annotations

import logging
import stat

import pytest
from typer.testing import CliRunner

from vigil.cases.store import CaseStore
from vigil.cases.users import authenticate
from vigil.cli import app as cli
from vigil.errors import VigilError
from vigil.web.cli import is_loopback
from vigil.web.demo_users import ensure_demo_users
from vigil.web.frontend import NODE_MODULES_ENV, find_node_modules
from vigil.web.secret_key import resolve_secret_key, secret_key_path


def test_secret_key_is_made_once_and_kept_private(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("VIGIL_SECRET_KEY", raising=False)
    key_file = secret_key_path(tmp_path / "ws.duckdb", f"sqlite:///{tmp_path / 'cases.sqlite'}")
    assert key_file == tmp_path / "vigil-web.key"
    first = resolve_secret_key(None, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert resolve_secret_key(None, key_file) == first and len(first) >= 32
    monkeypatch.setenv("VIGIL_SECRET_KEY", "e" * 40)
    assert resolve_secret_key(None, key_file) == "e" * 40
    assert resolve_secret_key("g" * 40, key_file) == "g" * 40
    with pytest.raises(VigilError, match="at least 32"):
        resolve_secret_key("short", key_file)
    key_file.chmod(0o644)
    monkeypatch.delenv("VIGIL_SECRET_KEY")
    with pytest.raises(VigilError, match="readable by other users"):
        resolve_secret_key(None, key_file)
    server_store = secret_key_path(tmp_path / "ws.duckdb", "postgresql://u@db/vigil")
    assert server_store == tmp_path / "vigil-web.key"


def test_missing_front_end_libraries_fail_clearly(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(NODE_MODULES_ENV, str(tmp_path))
    with pytest.raises(VigilError, match="npm ci"):
        find_node_modules()


def test_demo_users_one_per_role_reused_on_a_second_run(tmp_path) -> None:
    store = CaseStore.open(f"sqlite:///{tmp_path / 'cases.sqlite'}")
    logins = tmp_path / "demo-logins.txt"
    try:
        users = ensure_demo_users(store, logins)
        assert {role for _, _, role in users} == {"analyst", "supervisor", "auditor", "admin"}
        assert [u for u, _, r in users if r == "supervisor"] == ["supervisor", "supervisor2"]
        assert stat.S_IMODE(logins.stat().st_mode) == 0o600
        for username, password, _ in users:
            assert authenticate(store, username, password) is not None
            assert f"{username} {password}" in logins.read_text()
        assert ensure_demo_users(store, logins) == users
        logins.unlink()
        with pytest.raises(VigilError, match="does not hold its password"):
            ensure_demo_users(store, logins)
    finally:
        store.close()


def test_serve_command_and_cookie_rule() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "--database-url" in result.output
    missing = CliRunner().invoke(cli, ["serve", "--workspace", "/nonexistent/vigil.duckdb"])
    assert missing.exit_code == 2 and "no such workspace" in missing.output


def test_request_log_names_routes_not_parties(login, site, caplog) -> None:
    ana = login("ana")
    with caplog.at_level(logging.INFO, logger="vigil.web"):
        ana.get(f"/parties/sender/{site.top_sender}")
        ana.get("/queue?country=PH&kind=beneficiary")
    lines = [r.getMessage() for r in caplog.records if r.name == "vigil.web"]
    assert any("GET /parties/{kind}/{party_id} 200" in line for line in lines), lines
    text = "\n".join(lines)
    assert site.top_sender not in text and "country=PH" not in text
