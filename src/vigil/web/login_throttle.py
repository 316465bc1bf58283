"""Back-off for failed logins, per account and per address, and a cap on what anonymous
callers can write to the audit trail.

After a few free failures, each further one doubles the wait before the next attempt is even
looked at (no argon2 verification, no audit entry during the wait): guessing passwords
becomes slow without locking anyone out for long. An attacker who knows a username could
still keep that account in back-off; so a browser in which the user logged in before carries
a signed "known device" cookie, and the account's back-off does not apply to it (the
address's back-off still does). The state is in memory: one app process, which is how
`vigil serve` runs. The address is the TCP peer's; behind a proxy, that is the proxy's.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner

FREE_FAILURES = 5
BASE_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 15 * 60.0
FORGET_AFTER_SECONDS = 24 * 3600.0
MAX_TRACKED = 10_000  # accounts and addresses remembered (the oldest go first)
ANONYMOUS_AUDIT_PER_MINUTE = 30
DEVICE_COOKIE = "vigil_device"
DEVICE_MAX_AGE = 90 * 24 * 3600


@dataclass
class _Failures:
    count: int
    last: float
    until: float


class LoginThrottle:
    """Failed logins per account and per address, and when each may try again."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._audit_budget = float(ANONYMOUS_AUDIT_PER_MINUTE)
        self._audit_refilled = clock()
        self.unaudited = 0  # anonymous entries left out since the last one written

    def wait_seconds(self, username: str, address: str, *, known_device: bool) -> float:
        """How long before this attempt may be checked; 0 when it may be now."""
        keys = [_address(address)] if known_device else [_account(username), _address(address)]
        now = self.clock()
        with self._lock:
            waits = [f.until - now for k in keys if (f := self._failures.get(k)) is not None]
        return max([0.0, *waits])

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (_account(username), _address(address)):
                entry = self._failures.pop(key, None)
                if entry is None or now - entry.last > FORGET_AFTER_SECONDS:
                    entry = _Failures(0, now, now)
                entry.count += 1
                entry.last = now
                beyond = entry.count - FREE_FAILURES
                if beyond >= 0:
                    entry.until = now + min(BASE_DELAY_SECONDS * 2.0**beyond, MAX_DELAY_SECONDS)
                self._failures[key] = entry
            while len(self._failures) > MAX_TRACKED:
                self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop(_account(username), None)
            self._failures.pop(_address(address), None)

    def may_audit_anonymous(self) -> bool:
        """True when an anonymous caller's entry may be written now (a token bucket of
        ANONYMOUS_AUDIT_PER_MINUTE); False counts it in `unaudited`."""
        now = self.clock()
        with self._lock:
            rate = ANONYMOUS_AUDIT_PER_MINUTE / 60.0
            self._audit_budget = min(
                float(ANONYMOUS_AUDIT_PER_MINUTE),
                self._audit_budget + (now - self._audit_refilled) * rate,
            )
            self._audit_refilled = now
            if self._audit_budget >= 1.0:
                self._audit_budget -= 1.0
                return True
            self.unaudited += 1
            return False

    def take_unaudited(self) -> int:
        with self._lock:
            count, self.unaudited = self.unaudited, 0
            return count


def _account(username: str) -> str:
    return "user:" + username.casefold()


def _address(address: str) -> str:
    return "addr:" + address


class KnownDevices:
    """The signed cookie that marks a browser in which a user logged in before."""

    def __init__(self, secret_key: str) -> None:
        self.signer = TimestampSigner(secret_key, salt="vigil.known-device")

    def token(self, username: str) -> str:
        return self.signer.sign(username.casefold()).decode()

    def is_known(self, cookie: str | None, username: str) -> bool:
        if not cookie:
            return False
        try:
            value = self.signer.unsign(cookie, max_age=DEVICE_MAX_AGE).decode()
        except (BadSignature, UnicodeDecodeError):
            return False
        return value == username.casefold()
