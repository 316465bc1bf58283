"""Refusals of the case store: one clear line each, shown to the user as they are."""

from __future__ import annotations

from vigil.errors import VigilError


class CaseStoreError(VigilError):
    """The case store cannot be opened or used (bad URL, server down, newer schema)."""


class UserAdminError(VigilError):
    """A user change is refused: duplicate or unknown user, unknown role, weak password."""


class WorkflowError(VigilError):
    """A case or triage action is refused by the workflow's rules."""


class PermissionDenied(WorkflowError):
    """The acting user's role does not allow the action (the web app answers 403)."""


class CaseNotFound(WorkflowError):
    """No case with that id or reference (the web app answers 404)."""
