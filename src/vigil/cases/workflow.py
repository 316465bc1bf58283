"""Cases and alert triage, with the workflow's rules enforced here (not only in the UI).

new → in_review → escalated → report_drafted → approved → filed; any status but closed →
closed with a disposition (a filed case is final). A supervisor may send a case back:
report_drafted → escalated ("changes requested") and escalated → in_review. A case is
report_drafted only once an export of it exists (goAML STR or evidence package), and an
approval names the exported file and its SHA-256: the approver signs off that file. Four
eyes: a case is approved by a supervisor who neither created it nor moved it to
report_drafted; only a supervisor files, and only an approved case; filing marks the
parties' alerts `reported`. Each function takes the acting username and appends the audit
entry itself, in the same transaction as the change.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from vigil.cases import audit
from vigil.cases.errors import CaseNotFound, PermissionDenied, WorkflowError
from vigil.cases.models import (
    PARTY_KINDS,
    AlertState,
    AuditEntry,
    Case,
    CaseEvent,
    CaseNote,
    CaseParty,
    User,
    utcnow,
)
from vigil.cases.roles import can
from vigil.cases.store import CaseStore

__all__ = [
    "ALERT_STATUSES",
    "DISPOSITIONS",
    "OPEN_STATUSES",
    "STATUSES",
    "TRANSITIONS",
    "CaseNotFound",
    "PermissionDenied",
    "WorkflowError",
    "add_note",
    "add_party",
    "alert_states",
    "allowed_transitions",
    "approved_export",
    "assign",
    "case_exports",
    "create_case",
    "get_case",
    "list_cases",
    "may_see_case",
    "record_export",
    "require_case_access",
    "set_alert_state",
    "transition",
]

STATUSES = ("new", "in_review", "escalated", "report_drafted", "approved", "filed", "closed")
OPEN_STATUSES = STATUSES[:-1]
DISPOSITIONS = ("false_positive", "legitimate", "confirmed", "duplicate")
ALERT_STATUSES = ("new", "in_review", "dismissed", "case_opened", "reported")
EXPORT_ACTIONS = ("export.goaml", "export.evidence")  # what a report is drafted and approved on
RECORDED_EXPORTS = (*EXPORT_ACTIONS, "export.cooperation")  # and the partner-police package
APPROVED_STATUSES = ("approved", "filed")  # a second supervisor has signed the parties off
F = TypeVar("F", bound=Callable[..., Any])

# Who sees a case: whoever opened it or works it, and these roles (supervisors approve and
# file, auditors read everything). Anyone else is told there is no such case.
CASE_READER_ROLES = frozenset({"supervisor", "auditor"})
MAX_TITLE = 200
MAX_NOTE = 20_000

# (from, to) → the permission the actor's role needs.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("new", "in_review"): "edit_case",
    ("in_review", "escalated"): "edit_case",
    ("escalated", "report_drafted"): "edit_case",
    ("report_drafted", "approved"): "approve",
    ("approved", "filed"): "file",
    ("report_drafted", "escalated"): "approve",  # changes requested
    ("escalated", "in_review"): "approve",  # sent back for more review
    **{(status, "closed"): "edit_case" for status in OPEN_STATUSES if status != "filed"},
}


def create_case(
    store: CaseStore, actor: str, title: str, parties: Sequence[tuple[str, str]]
) -> Case:
    """A new case on `parties` ((party_kind, party_id) pairs); their alerts become
    `case_opened`."""
    title = (title or "").strip()
    if not title:
        raise WorkflowError("a case needs a title")
    if len(title) > MAX_TITLE:
        raise WorkflowError(f"case title too long: at most {MAX_TITLE} characters")
    chosen = list(dict.fromkeys((kind, str(party_id)) for kind, party_id in parties))
    for kind, party_id in chosen:
        _check_party(kind, party_id)
    with store.session() as session:
        _require(session, actor, "edit_case", "open a case")
        now = utcnow()
        case = Case(
            # a unique stand-in until the id is known: the reference is built from it
            reference=f"pending-{uuid.uuid4().hex[:24]}",
            title=title,
            status="new",
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        session.add(case)
        session.flush()
        case.reference = f"C-{now.year}-{case.id:04d}"
        session.add(CaseEvent(case_id=case.id, actor=actor, to_status="new", at=now))
        for kind, party_id in chosen:
            session.add(
                CaseParty(case_id=case.id, party_kind=kind, party_id=party_id, added_by=actor)
            )
            _put_alert_state(session, actor, kind, party_id, "case_opened", None)
        audit.record(
            session,
            actor,
            "case.create",
            _target(case.id),
            {"reference": case.reference, "parties": [list(p) for p in chosen]},
        )
        session.flush()
        return _reloaded(session, case.id)


def may_see_case(role: str, username: str, case: Case) -> bool:
    return role in CASE_READER_ROLES or username in (case.created_by, case.assignee)


class _CaseHidden(CaseNotFound):
    """The case exists, but not for this user: they are told it does not."""


def _refusal_audited(action: F) -> F:
    """Record a refused look at a case in the audit trail (outside the refused action's
    transaction, which rolls back) and answer as for a case that does not exist."""

    @functools.wraps(action)
    def guarded(store: CaseStore, actor: str, case_id: int, *args: Any, **kwargs: Any) -> Any:
        try:
            return action(store, actor, case_id, *args, **kwargs)
        except _CaseHidden:
            audit.record(store, actor, "case.refused", _target(case_id))
            raise CaseNotFound(f"no case {case_id}") from None

    return guarded  # type: ignore[return-value]


@_refusal_audited
def require_case_access(store: CaseStore, viewer: str, case_id: int) -> None:
    """CaseNotFound, as for a case that does not exist, unless `viewer` may see the case;
    a refusal is itself recorded in the audit trail."""
    with store.read_session() as session:
        _case(session, case_id, _active_user(session, viewer))


def get_case(store: CaseStore, case_id: int, *, viewer: str | None = None) -> Case | None:
    """The case with its parties, notes and events loaded (usable after the session).
    With `viewer`, CaseNotFound unless that user may see it."""
    if not _storable_id(case_id):
        return None
    if viewer is not None:
        require_case_access(store, viewer, case_id)
    with store.read_session() as session:
        return _loaded(session, case_id)


def get_case_by_reference(
    store: CaseStore, reference: str, *, viewer: str | None = None
) -> Case | None:
    """Like `get_case`, by reference ("C-2026-0001") or by id given as text."""
    text = str(reference).strip()
    with store.read_session() as session:
        found = session.execute(select(Case.id).where(Case.reference == text)).scalar()
        if found is None and text.isdigit():
            found = int(text)
    return None if found is None else get_case(store, found, viewer=viewer)


def list_cases(
    store: CaseStore,
    *,
    status: str | None = None,
    assignee: str | None = None,
    party: tuple[str, str] | str | None = None,
    viewer: str | None = None,
) -> list[Case]:
    """Cases, most recently updated first, with their parties loaded (not notes or
    events). `party` is a (party_kind, party_id) pair or a party_id of either kind. With
    `viewer`, only the cases that user may see."""
    query = select(Case).options(selectinload(Case.parties))
    if viewer is not None:
        with store.read_session() as session:
            role = _active_user(session, viewer).role
        if role not in CASE_READER_ROLES:
            query = query.where((Case.created_by == viewer) | (Case.assignee == viewer))
    if status is not None:
        query = query.where(Case.status == status)
    if assignee is not None:
        query = query.where(Case.assignee == assignee)
    if party is not None:
        condition = CaseParty.case_id == Case.id
        if isinstance(party, str):
            condition = condition & (CaseParty.party_id == party)
        else:
            condition = condition & (CaseParty.party_kind == party[0])
            condition = condition & (CaseParty.party_id == party[1])
        query = query.where(exists().where(condition))
    query = query.order_by(Case.updated_at.desc(), Case.id.desc())
    with store.read_session() as session:
        return list(session.execute(query).scalars())


@_refusal_audited
def add_party(
    store: CaseStore, actor: str, case_id: int, party_kind: str, party_id: str
) -> CaseParty:
    """Add a party to an open case (a party already on it is left as it is). Not once the
    case is approved: a party added then would be filed without a second supervisor's look."""
    _check_party(party_kind, party_id)
    with store.session() as session:
        user = _require(session, actor, "edit_case", "change a case")
        case = _open_case(session, case_id, user)
        existing = session.get(CaseParty, (case.id, party_kind, party_id))
        if existing is not None:
            return existing
        if case.status in APPROVED_STATUSES:
            raise WorkflowError(
                f"four eyes: case {case.reference} is {case.status}; its parties are fixed"
            )
        party = CaseParty(case_id=case.id, party_kind=party_kind, party_id=party_id, added_by=actor)
        session.add(party)
        _put_alert_state(session, actor, party_kind, party_id, "case_opened", None)
        case.updated_at = utcnow()
        audit.record(
            session, actor, "case.party", _target(case.id), {"party": [party_kind, party_id]}
        )
        session.flush()
        return party


@_refusal_audited
def add_note(store: CaseStore, actor: str, case_id: int, text: str) -> CaseNote:
    text = (text or "").strip()
    if not text:
        raise WorkflowError("a note needs some text")
    if len(text) > MAX_NOTE:
        raise WorkflowError(f"note too long: at most {MAX_NOTE} characters")
    with store.session() as session:
        user = _require(session, actor, "edit_case", "add a note")
        case = _case(session, case_id, user)
        note = CaseNote(case_id=case.id, author=actor, text=text)
        session.add(note)
        case.updated_at = utcnow()
        session.flush()
        audit.record(session, actor, "case.note", _target(case.id), {"note_id": note.id})
        return note


@_refusal_audited
def assign(store: CaseStore, actor: str, case_id: int, assignee: str | None) -> Case:
    """Give an open case to an active analyst or supervisor (None: nobody)."""
    with store.session() as session:
        user = _require(session, actor, "edit_case", "assign a case")
        case = _open_case(session, case_id, user)
        if assignee is not None:
            _require_assignee(session, assignee)
        case.assignee = assignee
        case.updated_at = utcnow()
        audit.record(session, actor, "case.assign", _target(case.id), {"assignee": assignee})
        session.flush()
        return _reloaded(session, case.id)


@_refusal_audited
def allowed_transitions(store: CaseStore, actor: str, case_id: int) -> list[str]:
    """The statuses `actor` may move the case to now (for the UI's buttons)."""
    with store.read_session() as session:
        user = _active_user(session, actor)
        case = _case(session, case_id, user)
        exported = bool(_exports(session, case.id)) if case.status == "escalated" else True
        return [
            to
            for (frm, to), permission in TRANSITIONS.items()
            if frm == case.status
            and can(user.role, permission)
            and _four_eyes_problem(session, case, actor, to) is None
            and (to != "report_drafted" or exported)
        ]


@_refusal_audited
def transition(
    store: CaseStore,
    actor: str,
    case_id: int,
    to_status: str,
    *,
    disposition: str | None = None,
    reason: str | None = None,
    legitimate_population: str | None = None,
    export_file: str | None = None,
    export_sha256: str | None = None,
) -> Case:
    """Move a case to `to_status`, enforcing roles, four eyes and the dispositions.

    Approving names the export signed off (`export_file`, `export_sha256`: one of the
    case's recorded exports)."""
    if to_status not in STATUSES:
        raise WorkflowError(f"unknown case status {to_status!r}: one of {', '.join(STATUSES)}")
    reason = (reason or "").strip() or None
    legitimate_population = (legitimate_population or "").strip() or None
    if to_status == "closed":
        _check_disposition(disposition, reason, legitimate_population)
    elif disposition is not None or legitimate_population is not None:
        raise WorkflowError("a disposition is given only when closing a case")
    with store.session() as session:
        user = _active_user(session, actor)
        case = _case(session, case_id, user)
        permission = TRANSITIONS.get((case.status, to_status))
        if permission is None:
            raise WorkflowError(
                f"case {case.reference} is {case.status}: it cannot move to {to_status}"
            )
        if not can(user.role, permission):
            raise PermissionDenied(
                f"{actor} ({user.role}) may not move case {case.reference} "
                f"from {case.status} to {to_status}"
            )
        problem = _four_eyes_problem(session, case, actor, to_status)
        if problem is not None:
            raise PermissionDenied(problem)
        approved_export = _check_exports(session, case, to_status, export_file, export_sha256)
        from_status, now = case.status, utcnow()
        case.status, case.updated_at = to_status, now
        if to_status == "closed":
            case.disposition = disposition
            case.disposition_reason = reason
            case.legitimate_population = legitimate_population
        session.add(
            CaseEvent(
                case_id=case.id, actor=actor, from_status=from_status, to_status=to_status, at=now
            )
        )
        detail: dict[str, Any] = {"from": from_status, "to": to_status}
        if approved_export is not None:
            detail["file"], detail["sha256"] = approved_export["file"], approved_export["sha256"]
        if to_status == "filed":  # triage follows the case: its alerts have been reported
            for party in case.parties:
                _put_alert_state(session, actor, party.party_kind, party.party_id, "reported", None)
        if to_status == "closed":
            detail["disposition"] = disposition
            if legitimate_population:
                detail["legitimate_population"] = legitimate_population
        audit.record(session, actor, "case.transition", _target(case.id), detail)
        session.flush()
        return _reloaded(session, case.id)


def record_export(
    store: CaseStore,
    actor: str,
    case_id: int,
    fmt: str,
    party: tuple[str, str],
    file: str,
    sha256: str,
) -> None:
    """Record that `actor` exported `file` (goaml or evidence) of one party of the case."""
    if f"export.{fmt}" not in RECORDED_EXPORTS:
        raise WorkflowError(f"unknown export {fmt!r}: goaml, evidence or cooperation")
    with store.session() as session:
        case = _case(session, case_id, _active_user(session, actor))
        audit.record(
            session,
            actor,
            f"export.{fmt}",
            _target(case.id),
            {"party": list(party), "file": file, "sha256": sha256},
        )


def case_exports(store: CaseStore, case_id: int) -> list[dict[str, Any]]:
    """The case's recorded exports, newest first: format, party, file, sha256, by, at."""
    with store.session() as session:
        return _exports(session, case_id)


def approved_export(store: CaseStore, case_id: int) -> dict[str, Any] | None:
    """The export the latest approval of the case signed off ({file, sha256}), if any."""
    with store.session() as session:
        entries = session.execute(
            select(AuditEntry)
            .where(AuditEntry.target == _target(case_id), AuditEntry.action == "case.transition")
            .order_by(AuditEntry.seq.desc())
        ).scalars()
        for entry in entries:
            detail = audit.detail_of(entry)
            if detail.get("to") == "approved" and detail.get("file"):
                return {"file": detail["file"], "sha256": detail["sha256"]}
    return None


def _exports(session: Session, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(AuditEntry)
        .where(AuditEntry.target == _target(case_id), AuditEntry.action.in_(EXPORT_ACTIONS))
        .order_by(AuditEntry.seq.desc())
    ).scalars()
    return [
        {
            **audit.detail_of(entry),
            "format": entry.action.removeprefix("export."),
            "by": entry.actor,
            "at": entry.at,
        }
        for entry in rows
    ]


def _check_exports(
    session: Session,
    case: Case,
    to_status: str,
    export_file: str | None,
    export_sha256: str | None,
) -> dict[str, Any] | None:
    """Refuse a draft without an export and an approval that names no exported file; the
    export approved, when approving."""
    if to_status not in {"report_drafted", "approved"}:
        if export_file or export_sha256:
            raise WorkflowError("an exported file is named only when approving a case")
        return None
    exports = _exports(session, case.id)
    if to_status == "report_drafted":
        if not exports:
            raise WorkflowError(
                f"case {case.reference} has no export yet: draft the STR (goAML) or the "
                "evidence package first"
            )
        return None
    if not export_file or not export_sha256:
        raise WorkflowError(
            f"approving case {case.reference} names the exported file and its SHA-256"
        )
    for export in exports:
        if export.get("file") == export_file and export.get("sha256") == export_sha256:
            return export
    raise WorkflowError(
        f"case {case.reference} has no export {export_file!r} with SHA-256 {export_sha256[:12]}…"
    )


def set_alert_state(
    store: CaseStore,
    actor: str,
    party_kind: str,
    party_id: str,
    status: str,
    assignee: str | None = None,
) -> AlertState:
    """Set the triage state of one alert (and who works it)."""
    _check_party(party_kind, party_id)
    if status not in ALERT_STATUSES:
        raise WorkflowError(f"unknown alert status {status!r}: one of {', '.join(ALERT_STATUSES)}")
    with store.session() as session:
        _require(session, actor, "triage", "triage alerts")
        if assignee is not None:
            _require_assignee(session, assignee)
        state = _put_alert_state(session, actor, party_kind, party_id, status, assignee)
        audit.record(
            session,
            actor,
            "alert.triage",
            f"{party_kind}:{party_id}",
            {"status": status, "assignee": assignee},
        )
        return state


def alert_states(store: CaseStore) -> dict[tuple[str, str], AlertState]:
    """Every alert's triage state by (party_kind, party_id); alerts absent are `new`."""
    with store.read_session() as session:
        return {
            (s.party_kind, s.party_id): s for s in session.execute(select(AlertState)).scalars()
        }


def _put_alert_state(
    session: Session, actor: str, kind: str, party_id: str, status: str, assignee: str | None
) -> AlertState:
    state = session.get(AlertState, (kind, party_id))
    if state is None:
        state = AlertState(party_kind=kind, party_id=party_id)
        session.add(state)
    state.status, state.assignee = status, assignee
    state.updated_at, state.updated_by = utcnow(), actor
    session.flush()
    return state


def _four_eyes_problem(session: Session, case: Case, actor: str, to_status: str) -> str | None:
    if to_status != "approved":
        return None
    if actor == case.created_by:
        return f"four eyes: {actor} opened case {case.reference} and may not approve it"
    drafter = session.execute(
        select(CaseEvent.actor)
        .where(CaseEvent.case_id == case.id, CaseEvent.to_status == "report_drafted")
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).scalar()
    if actor == drafter:
        return (
            f"four eyes: {actor} drafted the report of case {case.reference} and may not approve it"
        )
    return None


def _check_disposition(
    disposition: str | None, reason: str | None, legitimate_population: str | None
) -> None:
    if disposition not in DISPOSITIONS:
        raise WorkflowError(f"closing a case needs a disposition: one of {', '.join(DISPOSITIONS)}")
    if disposition == "false_positive" and not reason:
        raise WorkflowError("a false positive needs a reason")
    if disposition == "legitimate" and not legitimate_population:
        raise WorkflowError(
            "a legitimate disposition names the population (e.g. overseas worker family support)"
        )
    if disposition != "legitimate" and legitimate_population:
        raise WorkflowError("a legitimate population is named only for a legitimate disposition")


def _check_party(kind: str, party_id: str) -> None:
    if kind not in PARTY_KINDS:
        raise WorkflowError(f"unknown party kind {kind!r}: sender or beneficiary")
    if not str(party_id).strip():
        raise WorkflowError("a party needs an id")


def _active_user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise PermissionDenied(f"{username} is not an active user")
    return user


def _require(session: Session, actor: str, permission: str, what: str) -> User:
    user = _active_user(session, actor)
    if not can(user.role, permission):
        raise PermissionDenied(f"{actor} ({user.role}) may not {what}")
    return user


def _require_assignee(session: Session, assignee: str) -> None:
    user = _active_user(session, assignee)
    if not can(user.role, "edit_case"):
        raise WorkflowError(f"{assignee} ({user.role}) cannot work cases")


def _storable_id(case_id: int) -> bool:
    # ids beyond the database's integer raise OverflowError in the driver: no such case
    return isinstance(case_id, int) and 0 < case_id < 2**63


def _case(session: Session, case_id: int, viewer: User) -> Case:
    case = session.get(Case, case_id) if _storable_id(case_id) else None
    if case is None:
        raise CaseNotFound(f"no case {case_id}")
    if not may_see_case(viewer.role, viewer.username, case):
        raise _CaseHidden(f"no case {case_id}")
    return case


def _open_case(session: Session, case_id: int, viewer: User) -> Case:
    case = _case(session, case_id, viewer)
    if case.status == "closed":
        raise WorkflowError(f"case {case.reference} is closed")
    return case


def _loaded(session: Session, case_id: int) -> Case | None:
    return session.execute(
        select(Case)
        .where(Case.id == case_id)
        .options(selectinload(Case.parties), selectinload(Case.notes), selectinload(Case.events))
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _reloaded(session: Session, case_id: int) -> Case:
    case = _loaded(session, case_id)
    if case is None:
        raise CaseNotFound(f"no case {case_id}")
    return case


def _target(case_id: int) -> str:
    return f"case:{case_id}"
