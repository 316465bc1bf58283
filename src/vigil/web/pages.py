"""The investigator's pages: login, alert queue, party, network, cases, audit.

Handlers read through the workspace reader and call the case service; its refusals are
shown as they are (a flash message on the page the user came from). Forms post and
redirect, so every page works without JavaScript; htmx swaps in the parts that change.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from vigil.cases import audit
from vigil.cases.entity_decisions import reject_merge, without_rejected
from vigil.cases.errors import CaseNotFound, PermissionDenied, WorkflowError
from vigil.cases.users import authenticate
from vigil.cases.workflow import (
    ALERT_STATUSES,
    DISPOSITIONS,
    STATUSES,
    add_note,
    add_party,
    allowed_transitions,
    approved_export,
    assign,
    case_exports,
    create_case,
    get_case,
    list_cases,
    set_alert_state,
    transition,
)
from vigil.exchanges.timeline import party_timeline
from vigil.network.neighbourhood import neighbourhood
from vigil.web.app import WebContext, party_url
from vigil.web.auth import (
    CurrentUser,
    LoggedIn,
    LoginRequired,
    MayAudit,
    MayEditCases,
    MayExport,
    MayTriage,
    check_csrf,
    csrf_token,
    current_user,
    flash,
    start_session,
    take_flashes,
)
from vigil.web.exports import (
    BACKGROUND,
    export_case_party,
    find_export,
    list_exports,
    start_export_job,
    verified_export,
)
from vigil.web.login_throttle import DEVICE_COOKIE, DEVICE_MAX_AGE
from vigil.web.queries import (
    MAX_PAGE,
    SORTABLE,
    PartyNotFound,
    alert_queue,
    counterparties,
    evening_window,
    party_names,
    party_profile,
    party_rows,
    party_summary,
    payments_page,
    require_party,
)
from vigil.web.views import (
    assignable_users,
    queue_filters,
    role_transitions,
    triage_state,
    triage_states,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
OPEN_CASES_SHOWN = 50
MAX_HOPS = 3
AUDIT_PAGE = 100


def _ctx(request: Request) -> WebContext:
    return request.app.state.vigil


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: CurrentUser | None,
    status: int = 200,
) -> Response:
    base = {
        "user": user,
        "csrf": csrf_token(request),
        "flashes": take_flashes(request),
        "can": (lambda permission: user is not None and user.can(permission)),
        "path": request.url.path,
        "workspace_warning": _ctx(request).reader.incomplete,
        "tooltips": _ctx(request).reader.options.tooltips,
    }
    return _ctx(request).templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status
    )


def render_error(request: Request, status: int, message: str) -> Response:
    try:
        user: CurrentUser | None = current_user(request)
    except LoginRequired:
        user = None
    return render(
        request, "error.html.j2", {"status": status, "message": message}, user=user, status=status
    )


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _is_htmx(request: Request) -> bool:
    """An htmx request for a part of a page (not a boosted link or a history restore)."""
    headers = request.headers
    return bool(headers.get("hx-request")) and not (
        headers.get("hx-boosted") or headers.get("hx-history-restore-request")
    )


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host) may follow a login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/queue"
    return target


def _require_party(request: Request, kind: str, party_id: str) -> None:
    with _ctx(request).reader.reading() as ws:
        require_party(ws, kind, party_id)


# --- login -------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/queue") -> Response:
    try:
        user = current_user(request)
    except LoginRequired:
        return render(
            request, "login.html.j2", {"next": _safe_next(next), "error": None}, user=None
        )
    return _back(_safe_next(next)) if user else _back("/queue")


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/queue",
) -> Response:
    ctx = _ctx(request)
    store, throttle = ctx.store, ctx.login_throttle
    username = username.strip()
    shown = "".join(ch for ch in username[:64] if ch.isprintable())
    address = request.client.host if request.client else "unknown"
    known = ctx.known_devices.is_known(request.cookies.get(DEVICE_COOKIE), username)
    wait = throttle.wait_seconds(username, address, known_device=known)
    if wait > 0:  # not even checked: no argon2, no audit entry beyond the anonymous cap
        seconds = max(1, math.ceil(wait))
        _audit_anonymous(ctx, "login.throttled", f"user:{shown}")
        context = {
            "next": _safe_next(next),
            "error": f"Too many failed logins: try again in {seconds} s.",
        }
        answer = render(request, "login.html.j2", context, user=None, status=429)
        answer.headers["Retry-After"] = str(seconds)
        return answer
    user = authenticate(store, username, password)
    if user is None:
        throttle.failed(username, address)
        _audit_anonymous(ctx, "login.failed", f"user:{shown}")
        context = {"next": _safe_next(next), "error": "Wrong username or password."}
        return render(request, "login.html.j2", context, user=None, status=401)
    throttle.succeeded(username, address)
    entry = audit.record(store, user.username, "login", f"user:{user.username}")
    start_session(request, user.username, entry.seq)
    answer = _back(_safe_next(next))
    answer.set_cookie(
        DEVICE_COOKIE,
        ctx.known_devices.token(user.username),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=ctx.secure_cookies,
    )
    return answer


def _audit_anonymous(ctx: WebContext, action: str, target: str) -> None:
    """An entry for a caller nobody knows, within the anonymous cap: a flood of failed
    logins cannot grow the audit trail without bound. The next entry written says how many
    were left out."""
    if not ctx.login_throttle.may_audit_anonymous():
        return
    left_out = ctx.login_throttle.take_unaudited()
    audit.record(
        ctx.store, "anonymous", action, target, {"left_out": left_out} if left_out else None
    )


@router.post("/logout")
def logout(request: Request, user: LoggedIn) -> Response:
    audit.record(_ctx(request).store, user.username, "logout", f"user:{user.username}")
    request.session.clear()
    return _back("/login")


@router.get("/")
def home(user: LoggedIn) -> Response:
    return _back("/queue")


# --- alert queue -------------------------------------------------------------------------


@router.get("/queue")
def queue_page(request: Request, user: LoggedIn) -> Response:
    ctx = _ctx(request)
    filters = queue_filters(request.query_params)
    with ctx.reader.reading() as ws:
        page = alert_queue(ws, triage_states(ctx.store), filters)
    context = {
        "page": page,
        "filters": filters,
        "options": ctx.reader.options,
        "statuses": ALERT_STATUSES,
        "assignees": assignable_users(ctx.store),
        "sortable": list(SORTABLE),
        "query": lambda **changes: urlencode(filters.query_args(**changes)),
    }
    template = "_queue_results.html.j2" if _is_htmx(request) else "queue.html.j2"
    return render(request, template, context, user=user)


# --- one party ---------------------------------------------------------------------------


@router.get("/parties/{kind}/{party_id}")
def party_page(
    request: Request,
    user: LoggedIn,
    kind: str,
    party_id: str,
    payments_page_number: Annotated[int, Query(alias="payments_page", ge=1)] = 1,
) -> Response:
    ctx = _ctx(request)
    with ctx.reader.reading() as ws:
        summary = party_summary(ws, kind, party_id)
        with party_rows(ws, kind, party_id) as rows:
            profile = party_profile(ws, kind, party_id, offsets=ctx.reader.has_offsets, rows=rows)
            payments = payments_page(ws, kind, party_id, page=payments_page_number, rows=rows)
        partners = counterparties(ws, kind, party_id)
        exchange_rows = [row.to_dict() for row in party_timeline(ws, kind, party_id)]
    audit.record(ctx.store, user.username, "party.view", f"{kind}:{party_id}")
    summary["same_person"] = without_rejected(ctx.store, kind, party_id, summary["same_person"])
    state = triage_state(ctx.store, kind, party_id)
    cases = list_cases(ctx.store, party=(kind, party_id), viewer=user.username)
    open_cases = [c for c in list_cases(ctx.store, viewer=user.username) if c.status != "closed"][
        :OPEN_CASES_SHOWN
    ]
    chart_data = {
        "kind": kind,
        "currency": summary["reporting_currency"],
        "contributions": [
            {"indicator": c["indicator"], "title": c["title"], "value": c["contribution"]}
            for c in summary["contributions"]
        ],
        **profile,
    }
    context = {
        "kind": kind,
        "party": summary,
        "profile": profile,
        "chart_data": chart_data,
        "payments": payments,
        "counterparties": partners,
        "exchange_timeline": exchange_rows,
        "state": state,
        "statuses": ALERT_STATUSES,
        "assignees": assignable_users(ctx.store),
        "cases": cases,
        "open_cases": [c for c in open_cases if c.id not in {x.id for x in cases}],
        "evening_window": evening_window(),
    }
    return render(request, "party.html.j2", context, user=user)


@router.get("/parties/{kind}/{party_id}/payments")
def party_payments(
    request: Request,
    user: LoggedIn,
    kind: str,
    party_id: str,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    if not _is_htmx(request):
        return _back(f"{party_url(kind, party_id)}?payments_page={page}#payments")
    ctx = _ctx(request)
    with ctx.reader.reading() as ws:
        require_party(ws, kind, party_id)
        payments = payments_page(ws, kind, party_id, page=page)
    audit.record(
        ctx.store, user.username, "party.view", f"{kind}:{party_id}", {"payments_page": page}
    )
    context = {"kind": kind, "party": {"party_id": party_id}, "payments": payments}
    return render(request, "_payments.html.j2", context, user=user)


@router.post("/parties/{kind}/{party_id}/triage")
def party_triage(
    request: Request,
    user: MayTriage,
    kind: str,
    party_id: str,
    status: Annotated[str, Form()],
    assignee: Annotated[str, Form()] = "",
) -> Response:
    ctx = _ctx(request)
    _require_party(request, kind, party_id)
    try:
        set_alert_state(ctx.store, user.username, kind, party_id, status, assignee or None)
        message = ["ok", f"Alert marked {status.replace('_', ' ')}."]
    except WorkflowError as error:
        message = ["error", str(error)]
    if _is_htmx(request):
        context = {
            "triage_messages": [message],
            "kind": kind,
            "party": {"party_id": party_id},
            "state": triage_state(ctx.store, kind, party_id),
            "statuses": ALERT_STATUSES,
            "assignees": assignable_users(ctx.store),
        }
        return render(request, "_triage.html.j2", context, user=user)
    flash(request, *message)
    return _back(party_url(kind, party_id))


@router.post("/parties/{kind}/{party_id}/not-same-person")
def party_not_same_person(
    request: Request,
    user: MayTriage,
    kind: str,
    party_id: str,
    other_id: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    """An analyst rejects a merge: recorded (audited) and kept apart by every later scan."""
    ctx = _ctx(request)
    _require_party(request, kind, party_id)
    _require_party(request, kind, other_id)
    try:
        reject_merge(ctx.store, user.username, kind, party_id, other_id, reason)
        flash(
            request,
            "ok",
            f"Recorded: {party_id} and {other_id} are not the same person. "
            "Every later scan keeps them apart.",
        )
    except WorkflowError as error:
        flash(request, "error", str(error))
    return _back(party_url(kind, party_id) + "#same-person")


@router.post("/parties/{kind}/{party_id}/cases")
def party_to_case(
    request: Request,
    user: MayEditCases,
    kind: str,
    party_id: str,
    case_id: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
) -> Response:
    ctx = _ctx(request)
    _require_party(request, kind, party_id)
    try:
        if case_id.strip():
            add_party(ctx.store, user.username, int(case_id), kind, party_id)
            target = int(case_id)
        else:
            target = create_case(ctx.store, user.username, title, [(kind, party_id)]).id
    except (WorkflowError, ValueError) as error:
        flash(request, "error", str(error))
        return _back(party_url(kind, party_id))
    return _back(f"/cases/{target}")


@router.get("/parties/{kind}/{party_id}/network")
def network_page(
    request: Request,
    user: LoggedIn,
    kind: str,
    party_id: str,
    hops: int = 1,
) -> Response:
    ctx = _ctx(request)
    hops = min(max(hops, 1), MAX_HOPS)
    with ctx.reader.reading() as ws:
        summary = party_summary(ws, kind, party_id)
        graph = neighbourhood(ws, party_id, kind=kind, hops=hops)
    audit.record(ctx.store, user.username, "party.network", f"{kind}:{party_id}", {"hops": hops})
    context = {
        "kind": kind,
        "party": summary,
        "hops": hops,
        "max_hops": MAX_HOPS,
        "graph": graph,
    }
    return render(request, "network.html.j2", context, user=user)


# --- cases -------------------------------------------------------------------------------


@router.get("/cases")
def cases_page(
    request: Request,
    user: LoggedIn,
    status: str = "",
    assignee: str = "",
) -> Response:
    ctx = _ctx(request)
    cases = list_cases(
        ctx.store, status=status or None, assignee=assignee or None, viewer=user.username
    )
    context = {
        "cases": cases,
        "statuses": STATUSES,
        "status": status,
        "assignee": assignee,
        "assignees": assignable_users(ctx.store),
    }
    return render(request, "cases.html.j2", context, user=user)


@router.post("/cases")
def new_case(
    request: Request,
    user: MayEditCases,
    title: Annotated[str, Form()],
) -> Response:
    try:
        case = create_case(_ctx(request).store, user.username, title, [])
    except WorkflowError as error:
        flash(request, "error", str(error))
        return _back("/cases")
    return _back(f"/cases/{case.id}")


def _load_case(request: Request, case_id: int, user: CurrentUser) -> Any:
    case = get_case(_ctx(request).store, case_id, viewer=user.username)
    if case is None:
        raise CaseNotFound(f"no case {case_id}")
    return case


@router.get("/cases/{case_id}")
def case_page(request: Request, user: LoggedIn, case_id: int) -> Response:
    ctx = _ctx(request)
    case = _load_case(request, case_id, user)
    audit.record(ctx.store, user.username, "case.view", f"case:{case.id}")
    keys = [(p.party_kind, p.party_id) for p in case.parties]
    with ctx.reader.reading() as ws:
        names = party_names(ws, keys)
    offered = role_transitions(case, user.role)
    permitted = set(allowed_transitions(ctx.store, user.username, case.id))
    recorded = case_exports(ctx.store, case.id)
    context = {
        "case": case,
        "parties": [(kind, pid, names.get((kind, pid))) for kind, pid in keys],
        "transitions": [t for t in offered if t != "closed"],
        "refused": {t for t in offered if t not in permitted},
        "can_close": "closed" in offered,
        "dispositions": DISPOSITIONS,
        "assignees": assignable_users(ctx.store),
        "exports": list_exports(ctx.exports_dir, case.id) if user.can("export") else [],
        "recorded_exports": recorded,
        "hashes": {e["file"]: e["sha256"] for e in recorded},
        "approved_export": approved_export(ctx.store, case.id),
        "fiu_config_set": ctx.fiu_config is not None,
        "jobs": ctx.jobs.of_case(case.id, user.username) if user.can("export") else [],
    }
    return render(request, "case.html.j2", context, user=user)


@router.post("/cases/{case_id}/notes")
def case_note(
    request: Request,
    user: MayEditCases,
    case_id: int,
    text: Annotated[str, Form()],
) -> Response:
    try:
        add_note(_ctx(request).store, user.username, case_id, text)
    except WorkflowError as error:
        flash(request, "error", str(error))
    return _back(f"/cases/{case_id}")


@router.post("/cases/{case_id}/assignee")
def case_assign(
    request: Request,
    user: MayEditCases,
    case_id: int,
    assignee: Annotated[str, Form()] = "",
) -> Response:
    try:
        assign(_ctx(request).store, user.username, case_id, assignee or None)
        flash(request, "ok", f"Case assigned to {assignee}." if assignee else "Case unassigned.")
    except WorkflowError as error:
        flash(request, "error", str(error))
    return _back(f"/cases/{case_id}")


@router.post("/cases/{case_id}/parties")
def case_party(
    request: Request,
    user: MayEditCases,
    case_id: int,
    party_kind: Annotated[str, Form()],
    party_id: Annotated[str, Form()],
) -> Response:
    party_id = party_id.strip()
    try:
        _require_party(request, party_kind, party_id)
        add_party(_ctx(request).store, user.username, case_id, party_kind, party_id)
    except (WorkflowError, PartyNotFound) as error:
        flash(request, "error", str(error))
    return _back(f"/cases/{case_id}")


@router.post("/cases/{case_id}/transition")
def case_transition(
    request: Request,
    user: LoggedIn,
    case_id: int,
    to_status: Annotated[str, Form()],
    disposition: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    legitimate_population: Annotated[str, Form()] = "",
    export: Annotated[str, Form()] = "",
) -> Response:
    if not (user.can("edit_case") or user.can("approve")):
        raise PermissionDenied(f"{user.username} ({user.role}) may not change a case's status")
    # Approving signs off one export: "FILE SHA256", checked against the file on disk.
    export_file, _, export_sha256 = export.strip().partition(" ")
    try:
        if to_status == "approved" and export_file:
            verified_export(_ctx(request).exports_dir, case_id, export_file, export_sha256)
        case = transition(
            _ctx(request).store,
            user.username,
            case_id,
            to_status,
            disposition=disposition or None,
            reason=reason or None,
            legitimate_population=legitimate_population or None,
            export_file=export_file or None,
            export_sha256=export_sha256 or None,
        )
        flash(request, "ok", f"Case {case.reference} is now {case.status.replace('_', ' ')}.")
    except WorkflowError as error:
        flash(request, "error", str(error))
    return _back(f"/cases/{case_id}")


@router.post("/cases/{case_id}/exports/{fmt}")
def case_export(
    request: Request,
    user: MayExport,
    case_id: int,
    fmt: str,
    party: Annotated[str, Form()],
) -> Response:
    ctx = _ctx(request)
    case = _load_case(request, case_id, user)
    kind, _, party_id = party.partition(":")
    if fmt in BACKGROUND:  # seconds to minutes: in the background, progress on the case page
        try:
            start_export_job(
                ctx.jobs,
                ctx.store,
                user.username,
                case,
                fmt,
                kind,
                party_id,
                workspace=ctx.workspace,
                exports_dir=ctx.exports_dir,
                fiu_config=ctx.fiu_config,
            )
            flash(request, "ok", "Evidence package being prepared: its progress is shown below.")
        except WorkflowError as error:
            flash(request, "error", str(error))
        return _back(f"/cases/{case_id}#exports")
    try:
        made = export_case_party(
            ctx.store,
            user.username,
            case,
            fmt,
            kind,
            party_id,
            workspace=ctx.workspace,
            exports_dir=ctx.exports_dir,
            fiu_config=ctx.fiu_config,
        )
        flash(request, "ok", f"Written {made.name}: download it below.")
    except WorkflowError as error:
        flash(request, "error", str(error))
    return _back(f"/cases/{case_id}#exports")


@router.get("/cases/{case_id}/jobs")
def case_jobs(request: Request, user: MayExport, case_id: int) -> Response:
    """The user's background exports of the case (the case page polls this while any runs)."""
    _load_case(request, case_id, user)
    jobs = _ctx(request).jobs.of_case(case_id, user.username)
    return render(request, "_jobs.html.j2", {"jobs": jobs, "case_id": case_id}, user=user)


@router.get("/cases/{case_id}/exports/{name}")
def case_export_download(request: Request, user: MayExport, case_id: int, name: str) -> Response:
    ctx = _ctx(request)
    _load_case(request, case_id, user)
    found = find_export(ctx.exports_dir, case_id, name)
    if found is None:
        return render_error(request, 404, f"case {case_id} has no export {name!r}")
    audit.record(ctx.store, user.username, "export.download", f"case:{case_id}", {"file": name})
    media = "application/xml" if found.format == "goaml" else "application/zip"
    return FileResponse(found.path, media_type=media, filename=found.name)


# --- audit -------------------------------------------------------------------------------


@router.get("/audit")
def audit_page(
    request: Request,
    user: MayAudit,
    actor: str = "",
    target: str = "",
    page: int = 1,
) -> Response:
    store = _ctx(request).store
    page = min(max(page, 1), MAX_PAGE)
    filters = {"actor": actor or None, "target": target or None}
    rows = audit.entries(store, limit=AUDIT_PAGE, offset=(page - 1) * AUDIT_PAGE, **filters)
    total = audit.count_entries(store, **filters)
    context = {
        "entries": rows,
        "detail_of": audit.detail_of,
        "actor": actor,
        "target": target,
        "page": page,
        "pages": max(1, -(-total // AUDIT_PAGE)),
        "total": total,
        "verification": None,
    }
    return render(request, "audit.html.j2", context, user=user)


@router.post("/audit/verify")
def audit_verify(request: Request, user: MayAudit) -> Response:
    result = audit.verify(_ctx(request).store)
    if _is_htmx(request):
        return render(request, "_verify.html.j2", {"verification": result}, user=user)
    flash(request, "ok" if result.ok else "error", result.render())
    return _back("/audit")


# --- API documentation (behind the login like the schema) ----------------------------------


@router.get("/api/docs")
def api_docs(request: Request, user: LoggedIn) -> Response:
    schema = request.app.openapi()
    operations = [
        {
            "method": method.upper(),
            "path": path,
            "summary": spec.get("summary", ""),
            "description": spec.get("description", ""),
            "parameters": spec.get("parameters", []),
            "body": _body_schema_name(spec),
        }
        for path, methods in schema.get("paths", {}).items()
        for method, spec in methods.items()
    ]
    context = {"schema": schema, "operations": operations}
    return render(request, "api_docs.html.j2", context, user=user)


def _body_schema_name(spec: dict[str, Any]) -> str | None:
    content = spec.get("requestBody", {}).get("content", {})
    for media in content.values():
        ref = media.get("schema", {}).get("$ref", "")
        if ref:
            return ref.rsplit("/", 1)[-1]
    return None
