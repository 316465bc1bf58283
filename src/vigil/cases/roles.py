"""Roles and what each may do. The service checks these itself; the web app only hides."""

from __future__ import annotations

ROLES = ("analyst", "supervisor", "auditor", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset(ROLES),
    "triage": frozenset({"analyst", "supervisor"}),
    "edit_case": frozenset({"analyst", "supervisor"}),
    "approve": frozenset({"supervisor"}),
    "file": frozenset({"supervisor"}),
    "export": frozenset({"analyst", "supervisor"}),
    "view_audit": frozenset({"auditor", "admin", "supervisor"}),
    "manage_users": frozenset({"admin"}),
}


def can(role: str, permission: str) -> bool:
    """True when `role` holds `permission`. An unknown role holds nothing; an unknown
    permission is a programming mistake and raises KeyError (never a silent yes or no)."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}; known: {', '.join(PERMISSIONS)}")
    return role in PERMISSIONS[permission]
