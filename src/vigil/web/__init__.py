"""The investigator web app (`vigil serve`): alert queue, party pages, network view, cases,
audit trail, and the JSON API. `create_app(workspace)` builds it; `ensure_demo_users` makes
the demo's logins."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "ensure_demo_users"]


def __getattr__(name: str) -> Any:
    # FastAPI and SQLAlchemy load only when the app is used: `vigil --help` stays quick.
    if name == "create_app":
        from vigil.web.app import create_app

        return create_app
    if name == "ensure_demo_users":
        from vigil.web.demo_users import ensure_demo_users

        return ensure_demo_users
    raise AttributeError(name)
