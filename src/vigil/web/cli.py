"""`vigil serve`: the web app under uvicorn."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli_support import console, user_errors

DEFAULT_WORKSPACE = Path("demo-output/results/vigil.duckdb")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@user_errors
def serve(
    workspace: Annotated[
        Path, typer.Option(help="DuckDB workspace written by `vigil scan`.")
    ] = DEFAULT_WORKSPACE,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="VIGIL_DATABASE_URL",
            help="Case store (default: cases.sqlite beside the workspace).",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    secret_key: Annotated[
        str | None,
        typer.Option(
            envvar="VIGIL_SECRET_KEY",
            show_envvar=True,
            help="Key signing session cookies (default: kept in vigil-web.key beside the "
            "case store).",
        ),
    ] = None,
    fiu_config: Annotated[
        Path | None, typer.Option(help="FIU config YAML for the case page's goAML drafts.")
    ] = None,
    secure_cookies: Annotated[
        bool | None,
        typer.Option(
            "--secure-cookies/--no-secure-cookies",
            help="Send the session cookie over HTTPS only (default: yes unless the host is "
            "loopback, where the browser talks plain http).",
        ),
    ] = None,
    api_only: Annotated[
        bool,
        typer.Option(
            "--api-only",
            help="Serve only the scoring API (POST /api/v1/score): the workspace is not held "
            "open, so the daily scan can write it; the API reloads it after.",
        ),
    ] = False,
    scoring_config: Annotated[
        Path | None,
        typer.Option(help="Decision rules of the scoring API (default: vigil/api/scoring.yaml)."),
    ] = None,
) -> None:
    """Serve the alert queue, party pages, network view, cases and audit trail, and the
    real-time scoring API (POST /api/v1/score, keys from `vigil api-keys create`)."""
    import uvicorn

    from vigil.web.app import create_app

    secure = (not is_loopback(host)) if secure_cookies is None else secure_cookies
    if api_only:
        from vigil.api.app import create_scoring_app

        app = create_scoring_app(workspace, database_url, scoring_config=scoring_config)
    else:
        app = create_app(
            workspace,
            database_url,
            secret_key=secret_key,
            secure_cookies=secure,
            fiu_config=fiu_config,
            scoring_config=scoring_config,
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    shown = "localhost" if is_loopback(host) else host
    where = "its scoring API" if api_only else "Vigil"
    console.print(f"{where} is at http://{shown}:{port}/ (Ctrl-C stops it)")
    if secure and not api_only:
        console.print("Session cookies are Secure: serve it behind HTTPS (a TLS proxy).")
    # uvicorn's access log would write every path and query (party ids, names in filters):
    # off; the app logs method, route template, status and time instead.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")
