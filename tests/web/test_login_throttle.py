"""Guessing passwords is slow (back-off per account and per address), cannot lock a user
out of a browser they used before, and cannot grow the audit trail without bound."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import PASSWORD, login_token
from vigil.cases.models import AuditEntry
from vigil.web.login_throttle import ANONYMOUS_AUDIT_PER_MINUTE, FREE_FAILURES, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_beyond_the_free_ones_double_the_wait() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for _ in range(FREE_FAILURES):
        assert throttle.wait_seconds("ana", "10.0.0.1", known_device=False) == 0
        throttle.failed("ana", "10.0.0.1")
    waits = []
    for _ in range(4):
        throttle.failed("ana", "10.0.0.1")
        waits.append(throttle.wait_seconds("ana", "10.0.0.1", known_device=False))
    assert waits == [2.0, 4.0, 8.0, 16.0]
    # the account's back-off follows it to any address, the address's to any account
    assert throttle.wait_seconds("ana", "10.9.9.9", known_device=False) == 16.0
    assert throttle.wait_seconds("ben", "10.0.0.1", known_device=False) == 16.0
    # a browser ana used before is spared the account's back-off, not the address's
    assert throttle.wait_seconds("ana", "10.9.9.9", known_device=True) == 0
    assert throttle.wait_seconds("ana", "10.0.0.1", known_device=True) == 16.0
    clock.now += 16
    assert throttle.wait_seconds("ana", "10.0.0.1", known_device=False) == 0


def test_a_success_clears_the_back_off() -> None:
    throttle = LoginThrottle(Clock())
    for _ in range(FREE_FAILURES + 3):
        throttle.failed("ana", "10.0.0.1")
    throttle.succeeded("ana", "10.0.0.1")
    assert throttle.wait_seconds("ana", "10.0.0.1", known_device=False) == 0


def _client(app, address: str) -> TestClient:
    return TestClient(app, follow_redirects=False, client=(address, 50000))


def _log_in(client: TestClient, password: str, username: str = "ana"):
    token = login_token(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_the_right_password_waits_after_many_wrong_ones_except_in_a_known_browser(app) -> None:
    with _client(app, "10.1.0.1") as usual:
        assert _log_in(usual, PASSWORD, "ana2").status_code == 303  # ana2's own browser
    with _client(app, "10.1.0.2") as attacker:
        answers = [_log_in(attacker, "guess-" + str(i), "ana2") for i in range(12)]
    assert [a.status_code for a in answers[:FREE_FAILURES]] == [401] * FREE_FAILURES
    assert answers[-1].status_code == 429
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert "Too many failed logins" in answers[-1].text

    with _client(app, "10.1.0.3") as stranger:  # the right password, straight after
        assert _log_in(stranger, PASSWORD, "ana2").status_code == 429
    with _client(app, "10.1.0.1") as usual:
        assert _log_in(usual, PASSWORD, "ana2").status_code == 429  # cookie jar is new
    with _client(app, "10.1.0.4") as known:
        # a browser that logged in as ana2 before the attack keeps its device cookie
        known.cookies.set("vigil_device", app.state.vigil.known_devices.token("ana2"))
        assert _log_in(known, PASSWORD, "ana2").status_code == 303


def test_anonymous_callers_cannot_grow_the_audit_trail_without_bound(app, site) -> None:
    def anonymous_entries() -> list[AuditEntry]:
        with site.store.session() as session:
            query = select(AuditEntry).where(AuditEntry.actor == "anonymous")
            return list(session.execute(query.order_by(AuditEntry.seq)).scalars())

    clock = Clock()  # time stands still: the cap's budget does not refill
    app.state.vigil.login_throttle = LoginThrottle(clock)
    before = len(anonymous_entries())
    attempts = ANONYMOUS_AUDIT_PER_MINUTE + 15
    for i in range(attempts):  # many addresses and made-up accounts: no back-off applies
        with _client(app, f"10.2.0.{i}") as client:
            assert _log_in(client, "wrong", f"nobody{i}").status_code == 401
    assert len(anonymous_entries()) - before == ANONYMOUS_AUDIT_PER_MINUTE

    clock.now += 60  # a minute later the next entry says how many were left out
    with _client(app, "10.2.1.1") as client:
        assert _log_in(client, "wrong", "nobody").status_code == 401
    latest = anonymous_entries()[-1]
    assert latest.action == "login.failed"
    assert json.loads(latest.detail) == {"left_out": 15}
