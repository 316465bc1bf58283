"""`vigil api-keys create|list|revoke`: keys for machines calling the scoring API."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cases.commands import DatabaseUrlOption, WorkspaceOption, open_case_store
from vigil.cli_support import console, user_errors

api_keys_app = typer.Typer(
    help="Keys for the real-time scoring API (Authorization: Bearer KEY).", no_args_is_help=True
)


@api_keys_app.command("create")
@user_errors
def keys_create(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. payments-gateway.")],
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create a key and print it once: its last word is the key (only its hash is kept)."""
    from vigil.api.keys import create_key

    with open_case_store(workspace, database_url) as store:
        _info, key = create_key(store, name)
    # print, not rich: the key must come out whole on one line whatever the terminal width
    print(f"API key {name} created; it is shown only now: {key}")


@api_keys_app.command("list")
@user_errors
def keys_list(workspace: WorkspaceOption = None, database_url: DatabaseUrlOption = None) -> None:
    """The keys: name, first characters, created, revoked."""
    from rich.table import Table

    from vigil.api.keys import list_keys

    with open_case_store(workspace, database_url) as store:
        keys = list_keys(store)
    table = Table("name", "starts with", "created (UTC)", "revoked (UTC)")
    for key in keys:
        revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else ""
        table.add_row(key.name, key.prefix, key.created_at.strftime("%Y-%m-%d %H:%M"), revoked)
    console.print(table)


@api_keys_app.command("revoke")
@user_errors
def keys_revoke(
    name: Annotated[str, typer.Option(help="The key's name (as `list` shows it).")],
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from vigil.api.keys import revoke_key

    with open_case_store(workspace, database_url) as store:
        revoke_key(store, name)
    console.print(f"API key {name} revoked")
