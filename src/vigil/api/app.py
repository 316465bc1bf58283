"""The scoring API as an app of its own (`vigil serve --api-only`), or inside the web app.

On its own it holds no connection to the workspace between loads of its state, so the daily
scan can write the workspace while the API answers; the state is reloaded after it has.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from vigil.api.router import router
from vigil.api.service import REFRESH_SECONDS, Refresher, ScoringService
from vigil.api.state import settle_memory
from vigil.cases.store import default_database_url
from vigil.errors import VigilError


def attach_scoring(app: FastAPI, service: ScoringService) -> None:
    app.state.scoring = service
    app.include_router(router)


def create_scoring_app(
    workspace: Path,
    database_url: str | None = None,
    *,
    scoring_config: Path | None = None,
    refresh_seconds: float = REFRESH_SECONDS,
) -> FastAPI:
    """Only `POST /api/v1/score` (and its schema at /api/v1/openapi.json)."""
    from vigil.web.app import RequestLog, SecurityHeaders, _version

    workspace = Path(workspace)
    if not workspace.is_file():
        raise VigilError(f"{workspace}: no such workspace (run `vigil scan` first)")
    service = ScoringService.open(
        workspace, database_url or default_database_url(workspace), scoring_config=scoring_config
    )
    refresher = Refresher(service.holder, refresh_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settle_memory()
        refresher.start()
        yield
        refresher.stop()
        service.store.close()

    app = FastAPI(
        title="Vigil scoring API",
        version=_version(),
        description="Real-time pre-payment scoring of one payment.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    attach_scoring(app, service)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)
    return app
