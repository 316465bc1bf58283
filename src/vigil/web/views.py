"""What pages and the API both need: the case store's records as plain data, the queue's
filters from a query string, the triage states in the shape the queue query joins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from vigil.cases.models import AlertState as AlertStateRow
from vigil.cases.models import Case
from vigil.cases.roles import can
from vigil.cases.store import CaseStore
from vigil.cases.users import list_users
from vigil.cases.workflow import TRANSITIONS
from vigil.errors import VigilError
from vigil.web.queries import AlertState, QueueFilters


def triage_states(store: CaseStore) -> dict[tuple[str, str], AlertState]:
    """Every triaged alert's state (the queue joins them); read as plain rows, not ORM
    objects, so that a hundred thousand states still cost little."""
    query = select(
        AlertStateRow.party_kind,
        AlertStateRow.party_id,
        AlertStateRow.status,
        AlertStateRow.assignee,
    )
    with store.read_session() as session:
        return {
            (kind, party_id): AlertState(status=status, assignee=assignee)
            for kind, party_id, status, assignee in session.execute(query)
        }


def triage_state(store: CaseStore, kind: str, party_id: str) -> AlertState | None:
    """One alert's triage state (None: new)."""
    with store.read_session() as session:
        row = session.get(AlertStateRow, (kind, party_id))
        return None if row is None else AlertState(status=row.status, assignee=row.assignee)


def assignable_users(store: CaseStore) -> list[str]:
    """Active users who can work alerts and cases (the assignee choices)."""
    return [u.username for u in list_users(store) if u.active and can(u.role, "edit_case")]


def role_transitions(case: Case, role: str) -> list[str]:
    """The statuses the case can move to that this role may ask for (the service decides,
    four eyes included: a button shown may still be refused)."""
    return [
        to
        for (frm, to), permission in TRANSITIONS.items()
        if frm == case.status and can(role, permission)
    ]


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def case_summary(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "reference": case.reference,
        "title": case.title,
        "status": case.status,
        "created_by": case.created_by,
        "assignee": case.assignee,
        "created_at": _time(case.created_at),
        "updated_at": _time(case.updated_at),
        "disposition": case.disposition,
        "disposition_reason": case.disposition_reason,
        "legitimate_population": case.legitimate_population,
        "parties": [
            {
                "kind": p.party_kind,
                "party_id": p.party_id,
                "added_by": p.added_by,
                "added_at": _time(p.added_at),
            }
            for p in case.parties
        ],
    }


def case_detail(case: Case) -> dict[str, Any]:
    return {
        **case_summary(case),
        "notes": [
            {"id": n.id, "author": n.author, "text": n.text, "created_at": _time(n.created_at)}
            for n in case.notes
        ],
        "events": [
            {
                "actor": e.actor,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "at": _time(e.at),
            }
            for e in case.events
        ],
    }


def _optional_float(params: Mapping[str, str], key: str) -> float | None:
    text = (params.get(key) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise VigilError(f"{key} must be a number, not {text!r}") from None


def _positive_int(params: Mapping[str, str], key: str, default: int) -> int:
    text = (params.get(key) or "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise VigilError(f"{key} must be a whole number from 1, not {text!r}")
    return int(text)


def queue_filters(params: Mapping[str, str]) -> QueueFilters:
    """The queue's filters from a query string (a form's empty fields mean no filter)."""

    def text(key: str) -> str | None:
        return (params.get(key) or "").strip() or None

    order = text("order") or "desc"
    if order not in ("asc", "desc"):
        raise VigilError(f"order must be asc or desc, not {order!r}")
    return QueueFilters(
        kind=text("kind"),
        min_score=_optional_float(params, "min_score"),
        max_score=_optional_float(params, "max_score"),
        indicator=text("indicator"),
        status=text("status"),
        assignee=text("assignee"),
        country=text("country"),
        reporter=text("reporter"),
        sort=text("sort") or "score",
        descending=order == "desc",
        page=_positive_int(params, "page", 1),
        per_page=_positive_int(params, "per_page", 50),
    )
