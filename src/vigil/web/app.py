"""The investigator web app: `create_app(workspace)` builds the FastAPI application.

Server-rendered pages (Jinja2, htmx for partial updates) and a JSON API under /api with its
OpenAPI schema at /api/openapi.json; both need a login. The scanned workspace is read
through a read-only DuckDB connection; cases, users, triage and the audit trail live in the
case store (`vigil.cases`), whose service enforces the workflow's rules.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.cases.errors import CaseNotFound, PermissionDenied, WorkflowError
from vigil.cases.store import CaseStore, default_database_url
from vigil.errors import VigilError
from vigil.schema import PARTY_KIND_PLURALS as PLURALS
from vigil.web.auth import CsrfRejected, Forbidden, LoginRequired
from vigil.web.frontend import find_node_modules, vendor_files
from vigil.web.jobs import ExportJobs
from vigil.web.login_throttle import KnownDevices, LoginThrottle
from vigil.web.queries import PartyNotFound, WorkspaceReader
from vigil.web.secret_key import resolve_secret_key, secret_key_path

SESSION_COOKIE = "vigil_session"
SESSION_SECONDS = 8 * 3600  # one working day; then log in again
STATIC_DIR = Path(__file__).parent / "static"
# Scripts only from this origin (the page data travels as JSON, never as inline script);
# inline styles are allowed because the chart and graph libraries set element styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

# No page needs a camera, a microphone, a location or payment APIs: none may be asked for.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "display-capture=(), interest-cohort=()"
)
HSTS = "max-age=31536000; includeSubDomains"

log = logging.getLogger("vigil.web")


@dataclass
class WebContext:
    """What every request handler reaches through `request.app.state.vigil`."""

    workspace: Path
    reader: WorkspaceReader
    store: CaseStore
    templates: Jinja2Templates
    exports_dir: Path
    fiu_config: Path | None
    vendor: dict[str, Path]
    login_throttle: LoginThrottle
    known_devices: KnownDevices
    secure_cookies: bool
    jobs: ExportJobs = field(default_factory=ExportJobs)  # background exports


def _version() -> str:
    try:
        return metadata.version("vigil")
    except metadata.PackageNotFoundError:
        return "0"


def _templates() -> Jinja2Templates:
    # autoescape everywhere: Starlette's default escapes only *.html, not *.html.j2
    env = Environment(
        loader=PackageLoader("vigil.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["party_url"] = party_url
    env.globals["case_url"] = lambda case_id: f"/cases/{int(case_id)}"
    env.filters["score"] = score_text
    env.filters["points"] = points_text
    env.filters["money"] = lambda value: "" if value is None else f"{float(value):,.2f}"
    env.filters["when"] = lambda value: "" if value is None else value.strftime("%Y-%m-%d %H:%M")
    env.filters["label"] = lambda value: "" if value is None else str(value).replace("_", " ")
    env.filters["plural"] = lambda kind, count=2: kind if count == 1 else PLURALS.get(kind, kind)
    return Jinja2Templates(env=env)


def score_text(value: float | None) -> str:
    """A score with three decimals; a tiny one keeps two significant digits (0.000042),
    so a low-risk party's figures do not all read 0.000."""
    if value is None:
        return ""
    value = float(value)
    if value == 0 or abs(value) >= 0.001:
        return f"{value:.3f}"
    return f"{value:.2g}" if abs(value) >= 1e-4 else f"{value:.1e}"


def points_text(value: float | None) -> str:
    """A contribution with its sign: +0.412, +0.000042."""
    if value is None:
        return ""
    return ("+" if float(value) >= 0 else "") + score_text(value)


def party_url(kind: str, party_id: str, page: str = "") -> str:
    suffix = f"/{page}" if page else ""
    return f"/parties/{quote(kind, safe='')}/{quote(str(party_id), safe='')}{suffix}"


class SecurityHeaders:
    """Headers every answer carries: no framing, no sniffing, a strict script policy, and
    no caching of pages that show personal data."""

    def __init__(
        self, app: ASGIApp, *, workspace_incomplete: bool = False, hsts: bool = False
    ) -> None:
        self.app = app
        # Served over https (secure cookies): browsers keep to https for a year
        self.transport: list[tuple[bytes, bytes]] = (
            [(b"strict-transport-security", HSTS.encode())] if hsts else []
        )
        # API callers see no banner: a Warning header tells them the scores may be stale
        self.extra: list[tuple[bytes, bytes]] = (
            [(b"warning", b'199 vigil "workspace incomplete: the last scan did not finish"')]
            if workspace_incomplete
            else []
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(("/static/", "/vendor/"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    *self.transport,
                    *self.extra,
                ]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestLog:
    """One log line per request: method, route template, status, time. Never the concrete
    path or query (party ids, names and filters are personal data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [0]

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        except Exception:
            # the server's error middleware, outside this one, answers 500: log it as such
            # rather than as status 0
            if not status[0]:
                status[0] = 500
            raise
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "/static" if scope["path"].startswith(("/static/", "/vendor/")) else "(no route)"
            )
            log.info(
                "%s %s %s %.1f ms",
                scope["method"],
                template,
                status[0],
                (time.perf_counter() - started) * 1000,
            )


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") and request.url.path != "/api/docs"


def _refusal_handler(status: int):
    async def handle(request: Request, error: Exception) -> Response:
        return _error_page(request, status, str(error))

    return handle


def _error_page(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    from vigil.web.pages import render_error

    return render_error(request, status, message)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _error: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "login required"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = "/login?next=" + quote(target, safe="")
        if request.headers.get("hx-request"):
            return Response(status_code=200, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)

    refusals = {
        Forbidden: 403,
        CsrfRejected: 403,
        PermissionDenied: 403,
        CaseNotFound: 404,
        PartyNotFound: 404,
        WorkflowError: 409,
    }
    for refusal, status in refusals.items():
        app.add_exception_handler(refusal, _refusal_handler(status))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        if _wants_json(request):
            return await request_validation_exception_handler(request, error)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors()
        )
        return _error_page(request, 422, problems or "invalid request")

    @app.exception_handler(VigilError)
    async def vigil_error(request: Request, error: VigilError) -> Response:
        return _error_page(request, 400, str(error))


def create_app(
    workspace: Path,
    database_url: str | None = None,
    *,
    secret_key: str | None = None,
    secure_cookies: bool = True,
    exports_dir: Path | None = None,
    fiu_config: Path | None = None,
    scoring_config: Path | None = None,
) -> FastAPI:
    """The web app over a scanned `workspace` and a case store (default: the SQLite file
    beside the workspace). `secret_key` signs session cookies (else $VIGIL_SECRET_KEY, else
    a key kept in `vigil-web.key` beside the case store). `secure_cookies=False` only for
    plain-http use on this machine (tests, a local demo). Exports of cases (goAML drafts,
    evidence packages) are written under `exports_dir` (default `<workspace dir>/exports`)."""
    workspace = Path(workspace)
    if not workspace.is_file():
        raise VigilError(f"{workspace}: no such workspace (run `vigil scan` first)")
    vendor = vendor_files(find_node_modules())
    database_url = database_url or default_database_url(workspace)
    key = resolve_secret_key(secret_key, secret_key_path(workspace, database_url))
    store = CaseStore.open(database_url)
    try:
        reader = WorkspaceReader(workspace)
    except BaseException:
        store.close()
        raise

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.vigil.jobs.shutdown()
        reader.close()
        store.close()

    app = FastAPI(
        title="Vigil",
        version=_version(),
        description="Alerts, parties, networks, cases and the audit trail of one workspace.",
        openapi_url=None,  # served behind the login by the API router
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.vigil = WebContext(
        workspace=workspace,
        reader=reader,
        store=store,
        templates=_templates(),
        exports_dir=Path(exports_dir) if exports_dir else workspace.resolve().parent / "exports",
        fiu_config=Path(fiu_config) if fiu_config else None,
        vendor=vendor,
        login_throttle=LoginThrottle(),
        known_devices=KnownDevices(key),
        secure_cookies=secure_cookies,
    )
    _install_error_handlers(app)

    from vigil.web import api, pages

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/vendor/{name}", include_in_schema=False)
    def vendor_file(name: str) -> Response:
        path = vendor.get(name)
        if path is None:
            return Response(status_code=404)
        return FileResponse(path, media_type="text/javascript")

    app.include_router(api.router)
    # The real-time scoring API (its own key authentication); vigil.api.app
    from vigil.api.app import attach_scoring
    from vigil.api.service import ScoringService

    attach_scoring(app, ScoringService.open(workspace, database_url, scoring_config=scoring_config))
    app.include_router(pages.router)
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_SECONDS,
        same_site="lax",
        https_only=secure_cookies,
    )
    app.add_middleware(
        SecurityHeaders,
        workspace_incomplete=reader.incomplete is not None,
        hsts=secure_cookies,
    )
    app.add_middleware(RequestLog)
    return app
