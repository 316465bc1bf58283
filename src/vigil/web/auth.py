"""Who is asking, and may they: the session's user, role checks, CSRF tokens.

The session lives in a signed cookie (Starlette's SessionMiddleware: http-only, SameSite=Lax,
Secure unless told otherwise). It holds only the username, the audit entry of its login, a
CSRF token and flash messages; the user is read from the case store on every request, so a
disabled account or a changed role takes effect at once. The cookie is not kept on the
server, so a logout (an audit entry) ends every session of that user that began before it:
a copy of the cookie taken before the logout is refused. Every state-changing request
carries the session's CSRF token, in the `X-CSRF-Token` header (htmx and API clients) or the
`csrf_token` form field.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from vigil.cases import audit
from vigil.cases.roles import can
from vigil.cases.store import CaseStore
from vigil.cases.users import get_user

SESSION_USER = "user"
SESSION_LOGIN = "login"  # seq of the audit entry of this session's login
SESSION_CSRF = "csrf"
SESSION_FLASH = "flash"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PATH = "/login"


class LoginRequired(Exception):
    """No valid session: pages redirect to the login page, the API answers 401."""


class Forbidden(Exception):
    """The user's role does not allow this (403)."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token (403)."""


@dataclass(frozen=True)
class CurrentUser:
    username: str
    role: str

    def can(self, permission: str) -> bool:
        return can(self.role, permission)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def start_session(request: Request, username: str, login_seq: int) -> None:
    """A fresh session for a user who just logged in (new CSRF token, nothing carried over);
    `login_seq` is the audit entry of the login."""
    request.session.clear()
    request.session[SESSION_USER] = username
    request.session[SESSION_LOGIN] = login_seq
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def flash(request: Request, level: str, text: str) -> None:
    """A message shown once, on the next page rendered."""
    request.session.setdefault(SESSION_FLASH, [])
    request.session[SESSION_FLASH] = [*request.session[SESSION_FLASH], [level, text]]


def take_flashes(request: Request) -> list[list[str]]:
    return request.session.pop(SESSION_FLASH, [])


def current_user(request: Request) -> CurrentUser:
    username = request.session.get(SESSION_USER)
    if not username:
        raise LoginRequired()
    store = request.app.state.vigil.store
    user = get_user(store, username)
    if user is None or not user.active or _logged_out_since(store, username, request.session):
        request.session.clear()
        raise LoginRequired()
    return CurrentUser(username=user.username, role=user.role)


def _logged_out_since(store: CaseStore, username: str, session: dict) -> bool:
    """True when the user logged out after this session's login (or it has no login)."""
    login_seq = session.get(SESSION_LOGIN)
    if not isinstance(login_seq, int):
        return True
    logout_seq = audit.latest_seq(store, action="logout", target=f"user:{username}")
    return logout_seq is not None and logout_seq > login_seq


def require(permission: str) -> Callable[..., CurrentUser]:
    """A dependency: the current user, when their role holds `permission`."""

    def dependency(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
        if not user.can(permission):
            raise Forbidden(f"{user.username} ({user.role}) may not do this ({permission})")
        return user

    dependency.__name__ = f"require_{permission}"
    return dependency


LoggedIn = Annotated[CurrentUser, Depends(current_user)]
MayTriage = Annotated[CurrentUser, Depends(require("triage"))]
MayEditCases = Annotated[CurrentUser, Depends(require("edit_case"))]
MayExport = Annotated[CurrentUser, Depends(require("export"))]
MayAudit = Annotated[CurrentUser, Depends(require("view_audit"))]


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request that does not carry the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    if not request.session.get(SESSION_USER) and request.url.path != LOGIN_PATH:
        raise LoginRequired()  # say "log in" rather than "bad token" to a stranger
    expected = request.session.get(SESSION_CSRF)
    given = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if not given and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise CsrfRejected("missing or wrong CSRF token: reload the page and try again")
