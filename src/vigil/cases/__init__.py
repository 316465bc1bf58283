"""The case store: users and roles, cases and their workflow, alert triage, the audit trail.

SQLAlchemy 2 models in one SQL database (a SQLite file beside the workspace by default,
PostgreSQL by URL), its schema kept by the Alembic migrations shipped in `migrations/`.
Every change made through this package appends a hash-chained audit entry in the same
transaction, so the change and its record are committed together or not at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vigil.cases.errors import CaseNotFound, PermissionDenied, UserAdminError, WorkflowError

if TYPE_CHECKING:
    from vigil.cases.store import CaseStore, default_database_url

__all__ = [
    "CaseNotFound",
    "CaseStore",
    "PermissionDenied",
    "UserAdminError",
    "WorkflowError",
    "default_database_url",
]


def __getattr__(name: str) -> Any:
    # SQLAlchemy is imported only when the store is used: `vigil --help` stays quick.
    if name in ("CaseStore", "default_database_url"):
        from vigil.cases import store

        return getattr(store, name)
    raise AttributeError(name)
