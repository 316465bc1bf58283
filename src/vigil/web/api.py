"""The JSON API under /api: what the pages show, for scripts and other tools. Same login
(the session cookie) and the same CSRF token (header `X-CSRF-Token`) as the pages; the
schema is at /api/openapi.json and described for people at /api/docs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from vigil.cases import audit
from vigil.cases.entity_decisions import without_rejected
from vigil.cases.errors import CaseNotFound, PermissionDenied
from vigil.cases.workflow import (
    add_note,
    add_party,
    allowed_transitions,
    assign,
    case_exports,
    create_case,
    get_case,
    list_cases,
    set_alert_state,
    transition,
)
from vigil.network.neighbourhood import neighbourhood
from vigil.web.app import WebContext
from vigil.web.auth import (
    CurrentUser,
    LoggedIn,
    MayAudit,
    MayEditCases,
    MayExport,
    MayTriage,
    check_csrf,
    csrf_token,
    current_user,
)
from vigil.web.exports import (
    BACKGROUND,
    export_case_party,
    list_exports,
    start_export_job,
    verified_export,
)
from vigil.web.jobs import ExportJob
from vigil.web.queries import (
    MAX_PAGE,
    MAX_PER_PAGE,
    QueueFilters,
    alert_queue,
    counterparties,
    party_profile,
    party_summary,
    payments_page,
    require_party,
)
from vigil.web.views import (
    case_detail,
    case_summary,
    role_transitions,
    triage_state,
    triage_states,
)

router = APIRouter(
    prefix="/api", tags=["api"], dependencies=[Depends(current_user), Depends(check_csrf)]
)
Kind = Literal["sender", "beneficiary"]
MAX_HOPS = 3


def _ctx(request: Request) -> WebContext:
    return request.app.state.vigil


class PartyRef(BaseModel):
    kind: Kind
    party_id: str = Field(min_length=1)


class TriageIn(BaseModel):
    status: str = Field(description="new, in_review, dismissed or case_opened")
    assignee: str | None = None


class CaseIn(BaseModel):
    title: str
    parties: list[PartyRef] = []


class NoteIn(BaseModel):
    text: str


class AssigneeIn(BaseModel):
    assignee: str | None = None


class TransitionIn(BaseModel):
    to_status: str
    disposition: str | None = None
    reason: str | None = None
    legitimate_population: str | None = None
    export_file: str | None = Field(default=None, description="approving: the export signed off")
    export_sha256: str | None = Field(default=None, description="approving: its SHA-256")


class ExportIn(BaseModel):
    format: Literal["goaml", "evidence", "cooperation"]
    party: PartyRef


@router.get("/openapi.json", include_in_schema=False)
def openapi_schema(request: Request) -> dict[str, Any]:
    return request.app.openapi()


@router.get(
    "/me", summary="The logged-in user, what their role allows, and the session's CSRF token"
)
def me(request: Request, user: LoggedIn) -> dict[str, Any]:
    permissions = ["view", "triage", "edit_case", "approve", "file", "export", "view_audit"]
    return {
        "username": user.username,
        "role": user.role,
        "permissions": [p for p in [*permissions, "manage_users"] if user.can(p)],
        "csrf_token": csrf_token(request),
    }


@router.get("/alerts", summary="The alert queue: parties ranked, filtered and paged")
def alerts(
    request: Request,
    kind: Kind | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    indicator: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    country: str | None = None,
    reporter: Annotated[
        str | None, Query(description="FIU mode: senders of this reporter, and who they paid")
    ] = None,
    sort: str = "score",
    order: Literal["asc", "desc"] = "desc",
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> dict[str, Any]:
    ctx = _ctx(request)
    filters = QueueFilters(
        kind=kind,
        min_score=min_score,
        max_score=max_score,
        indicator=indicator,
        status=status,
        assignee=assignee,
        country=country,
        reporter=reporter,
        sort=sort,
        descending=order == "desc",
        page=page,
        per_page=per_page,
    )
    with ctx.reader.reading() as ws:
        found = alert_queue(ws, triage_states(ctx.store), filters)
    return {"total": found.total, "page": page, "pages": found.pages, "alerts": found.rows}


@router.get("/parties/{kind}/{party_id}", summary="One party: score explained, charts' data")
def party(request: Request, user: LoggedIn, kind: Kind, party_id: str) -> dict[str, Any]:
    ctx = _ctx(request)
    with ctx.reader.reading() as ws:
        summary = party_summary(ws, kind, party_id)
        summary["profile"] = party_profile(ws, kind, party_id, offsets=ctx.reader.has_offsets)
        summary["counterparties"] = counterparties(ws, kind, party_id)
    audit.record(ctx.store, user.username, "party.view", f"{kind}:{party_id}")
    summary["same_person"] = without_rejected(ctx.store, kind, party_id, summary["same_person"])
    state = triage_state(ctx.store, kind, party_id)
    summary["triage"] = {
        "status": state.status if state else "new",
        "assignee": state.assignee if state else None,
    }
    summary["cases"] = [
        {"id": c.id, "reference": c.reference, "status": c.status}
        for c in list_cases(ctx.store, party=(kind, party_id), viewer=user.username)
    ]
    return summary


@router.get("/parties/{kind}/{party_id}/payments", summary="One party's payments, paged")
def party_payments(
    request: Request,
    user: LoggedIn,
    kind: Kind,
    party_id: str,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> dict[str, Any]:
    ctx = _ctx(request)
    with ctx.reader.reading() as ws:
        require_party(ws, kind, party_id)
        found = payments_page(ws, kind, party_id, page=page, per_page=per_page)
    audit.record(
        ctx.store, user.username, "party.view", f"{kind}:{party_id}", {"payments_page": page}
    )
    return found


@router.get(
    "/parties/{kind}/{party_id}/network",
    summary="The party's neighbourhood in the payer–beneficiary graph",
)
def party_network(
    request: Request,
    user: LoggedIn,
    kind: Kind,
    party_id: str,
    hops: Annotated[int, Query(ge=1, le=MAX_HOPS)] = 1,
) -> dict[str, Any]:
    ctx = _ctx(request)
    with ctx.reader.reading() as ws:
        require_party(ws, kind, party_id)
        graph = neighbourhood(ws, party_id, kind=kind, hops=hops)
    audit.record(ctx.store, user.username, "party.network", f"{kind}:{party_id}", {"hops": hops})
    return graph


@router.put("/parties/{kind}/{party_id}/triage", summary="Set an alert's triage state")
def party_triage(
    request: Request,
    user: MayTriage,
    kind: Kind,
    party_id: str,
    body: TriageIn,
) -> dict[str, Any]:
    ctx = _ctx(request)
    with ctx.reader.reading() as ws:
        require_party(ws, kind, party_id)
    state = set_alert_state(ctx.store, user.username, kind, party_id, body.status, body.assignee)
    return {"kind": kind, "party_id": party_id, "status": state.status, "assignee": state.assignee}


@router.get("/cases", summary="Cases, most recently updated first")
def cases(
    request: Request,
    user: LoggedIn,
    status: str | None = None,
    assignee: str | None = None,
    party_kind: Kind | None = None,
    party_id: str | None = None,
) -> dict[str, Any]:
    party: tuple[str, str] | str | None = None
    if party_id:
        party = (party_kind, party_id) if party_kind else party_id
    found = list_cases(
        _ctx(request).store, status=status, assignee=assignee, party=party, viewer=user.username
    )
    return {"cases": [case_summary(c) for c in found]}


@router.post("/cases", status_code=201, summary="Open a case on some parties")
def new_case(request: Request, user: MayEditCases, body: CaseIn) -> dict[str, Any]:
    ctx = _ctx(request)
    with ctx.reader.reading() as ws:
        for p in body.parties:
            require_party(ws, p.kind, p.party_id)
    parties = [(p.kind, p.party_id) for p in body.parties]
    return case_detail(create_case(ctx.store, user.username, body.title, parties))


def _case(request: Request, case_id: int, user: CurrentUser) -> Any:
    case = get_case(_ctx(request).store, case_id, viewer=user.username)
    if case is None:
        raise CaseNotFound(f"no case {case_id}")
    return case


@router.get("/cases/{case_id}", summary="One case with parties, notes, history, exports")
def case(request: Request, user: LoggedIn, case_id: int) -> dict[str, Any]:
    ctx = _ctx(request)
    found = _case(request, case_id, user)
    audit.record(ctx.store, user.username, "case.view", f"case:{found.id}")
    permitted = allowed_transitions(ctx.store, user.username, found.id)
    return {
        **case_detail(found),
        "transitions": [t for t in role_transitions(found, user.role) if t in permitted],
        "recorded_exports": [
            {**e, "at": e["at"].isoformat()} for e in case_exports(ctx.store, found.id)
        ],
        "exports": [
            {
                "name": f.name,
                "format": f.format,
                "size": f.size,
                "url": f"/cases/{found.id}/exports/{f.name}",
            }
            for f in (list_exports(ctx.exports_dir, found.id) if user.can("export") else [])
        ],
    }


@router.post("/cases/{case_id}/notes", status_code=201, summary="Add a note to a case")
def case_note(request: Request, user: MayEditCases, case_id: int, body: NoteIn) -> dict[str, Any]:
    note = add_note(_ctx(request).store, user.username, case_id, body.text)
    return {"id": note.id, "author": note.author, "text": note.text}


@router.post("/cases/{case_id}/parties", status_code=201, summary="Add a party to a case")
def case_party(
    request: Request,
    user: MayEditCases,
    case_id: int,
    body: PartyRef,
) -> dict[str, Any]:
    ctx = _ctx(request)
    with ctx.reader.reading() as ws:
        require_party(ws, body.kind, body.party_id)
    add_party(ctx.store, user.username, case_id, body.kind, body.party_id)
    return case_detail(_case(request, case_id, user))


@router.put("/cases/{case_id}/assignee", summary="Give a case to an analyst or supervisor")
def case_assignee(
    request: Request,
    user: MayEditCases,
    case_id: int,
    body: AssigneeIn,
) -> dict[str, Any]:
    return case_summary(assign(_ctx(request).store, user.username, case_id, body.assignee))


@router.post(
    "/cases/{case_id}/transitions",
    summary="Move a case along its workflow (four eyes: approval by another supervisor)",
)
def case_transition(
    request: Request,
    user: LoggedIn,
    case_id: int,
    body: TransitionIn,
) -> dict[str, Any]:
    if not (user.can("edit_case") or user.can("approve")):
        raise PermissionDenied(f"{user.username} ({user.role}) may not change a case's status")
    if body.to_status == "approved" and body.export_file and body.export_sha256:
        verified_export(_ctx(request).exports_dir, case_id, body.export_file, body.export_sha256)
    moved = transition(
        _ctx(request).store,
        user.username,
        case_id,
        body.to_status,
        disposition=body.disposition,
        reason=body.reason,
        legitimate_population=body.legitimate_population,
        export_file=body.export_file,
        export_sha256=body.export_sha256,
    )
    return case_summary(moved)


@router.post(
    "/cases/{case_id}/exports",
    status_code=201,
    summary="Write a party's goAML STR draft or evidence package for the case",
    description=(
        "goAML drafts and cooperation packages are written in the request (201, the file). "
        "An evidence package takes seconds to minutes: the answer is 202 with a job to poll "
        "at `poll` until `status` is `done` (its `url` is the file) or `failed`."
    ),
    responses={202: {"description": "Evidence package started in the background: a job"}},
)
def case_export(
    request: Request,
    response: Response,
    user: MayExport,
    case_id: int,
    body: ExportIn,
) -> dict[str, Any]:
    ctx = _ctx(request)
    case = _case(request, case_id, user)
    export = (ctx.store, user.username, case, body.format, body.party.kind, body.party.party_id)
    places = {"workspace": ctx.workspace, "exports_dir": ctx.exports_dir}
    if body.format in BACKGROUND:
        job = start_export_job(ctx.jobs, *export, **places, fiu_config=ctx.fiu_config)
        response.status_code = 202
        return _job(job)
    made = export_case_party(*export, **places, fiu_config=ctx.fiu_config)
    return {
        "name": made.name,
        "format": made.format,
        "size": made.size,
        "url": f"/cases/{case_id}/exports/{made.name}",
    }


def _job(job: ExportJob) -> dict[str, Any]:
    status = "failed" if job.error else ("done" if job.file else "running")
    return {
        "id": job.id,
        "format": job.format,
        "party": job.party,
        "status": status,
        "step": job.step,
        "step_text": job.step_text,
        "share": round(job.share, 3),
        "started": job.started.isoformat(),
        "error": job.error,
        "name": job.file,
        "url": f"/cases/{job.case_id}/exports/{job.file}" if job.file else None,
        "poll": f"/api/cases/{job.case_id}/jobs/{job.id}",
    }


@router.get("/cases/{case_id}/jobs", summary="Your background exports of the case, newest first")
def case_jobs(request: Request, user: MayExport, case_id: int) -> dict[str, Any]:
    _case(request, case_id, user)
    return {"jobs": [_job(j) for j in _ctx(request).jobs.of_case(case_id, user.username)]}


@router.get("/cases/{case_id}/jobs/{job_id}", summary="One background export: progress, file")
def case_job(request: Request, user: MayExport, case_id: int, job_id: str) -> dict[str, Any]:
    _case(request, case_id, user)
    job = _ctx(request).jobs.get(job_id, case_id, user.username)
    if job is None:
        raise CaseNotFound(f"case {case_id} has no export job {job_id!r} of yours")
    return _job(job)


@router.get("/audit", summary="Audit trail entries, newest first")
def audit_entries(
    request: Request,
    user: MayAudit,
    actor: str | None = None,
    target: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_PAGE * 1000)] = 0,
) -> dict[str, Any]:
    store = _ctx(request).store
    rows = audit.entries(store, limit=limit, offset=offset, actor=actor, target=target)
    return {
        "total": audit.count_entries(store, actor=actor, target=target),
        "entries": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "detail": audit.detail_of(e),
                "hash": e.hash,
            }
            for e in rows
        ],
    }


@router.post("/audit/verify", summary="Check the audit trail's hash chain")
def audit_verify(request: Request, user: MayAudit) -> dict[str, Any]:
    result = audit.verify(_ctx(request).store)
    return {
        "ok": result.ok,
        "entries": result.entries,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem,
        "last_hash": result.last_hash,
        "message": result.render(),
    }
