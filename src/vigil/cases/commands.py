"""`vigil users ...`, `vigil audit verify`, `vigil cases labels`: the case store's commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from vigil.cases.store import CaseStore

from vigil.cases.errors import CaseStoreError
from vigil.cli_support import console, err_console, user_errors

users_app = typer.Typer(help="Users of the web app and their roles.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
cases_app = typer.Typer(help="Cases and their dispositions.", no_args_is_help=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(help="DuckDB workspace: the case store is cases.sqlite beside it."),
]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="VIGIL_DATABASE_URL",
        help="Case store database URL (sqlite:///FILE or postgresql+psycopg://...).",
    ),
]


def open_case_store(workspace: Path | None, database_url: str | None) -> CaseStore:
    """The case store named by --database-url, else the one beside --workspace."""
    from vigil.cases.store import CaseStore, default_database_url

    if database_url:
        return CaseStore.open(database_url)
    if workspace is not None:
        return CaseStore.open(default_database_url(workspace))
    raise CaseStoreError("give --workspace FILE (case store beside it) or --database-url URL")


@users_app.command("add")
@user_errors
def users_add(
    username: Annotated[str, typer.Argument(help="The login name.")],
    role: Annotated[str, typer.Option(help="analyst, supervisor, auditor or admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Add a user (the password is asked for, hidden, or read from stdin)."""
    from vigil.cases.errors import UserAdminError
    from vigil.cases.roles import ROLES
    from vigil.cases.users import add_user

    if role not in ROLES:  # before asking for the password
        raise UserAdminError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_case_store(workspace, database_url) as store:
        user = add_user(store, username, password, role)
    console.print(f"user {user.username} added with role {user.role}")


@users_app.command("list")
@user_errors
def users_list(workspace: WorkspaceOption = None, database_url: DatabaseUrlOption = None) -> None:
    """The users, their roles and whether they are active."""
    from rich.table import Table

    from vigil.cases.users import list_users

    with open_case_store(workspace, database_url) as store:
        users = list_users(store)
    table = Table("username", "role", "active", "created (UTC)")
    for user in users:
        table.add_row(
            user.username,
            user.role,
            "yes" if user.active else "no",
            user.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@users_app.command("disable")
@user_errors
def users_disable(
    username: Annotated[str, typer.Argument(help="The login name.")],
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Disable a user: they can no longer log in (users are never deleted)."""
    from vigil.cases.users import CLI_ACTOR, disable_user

    with open_case_store(workspace, database_url) as store:
        disable_user(store, username, actor=CLI_ACTOR)
    console.print(f"user {username} disabled")


@audit_app.command("verify")
@user_errors
def audit_verify(workspace: WorkspaceOption = None, database_url: DatabaseUrlOption = None) -> None:
    """Check the audit trail's hash chain: exit 0 when intact, 1 naming the first bad entry."""
    from vigil.cases.audit import verify

    with open_case_store(workspace, database_url) as store:
        result = verify(store)
    if not result.ok:
        err_console.print(result.render(), highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(result.render(), highlight=False, soft_wrap=True)


@cases_app.command("labels")
@user_errors
def cases_labels(
    out: Annotated[Path, typer.Option(help="CSV file to write (labels.csv's shape).")],
    workspace: WorkspaceOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Closed cases' dispositions as labels (party_kind, party_id, role, source)."""
    from vigil.cases.labels import write_labels_csv

    with open_case_store(workspace, database_url) as store:
        count = write_labels_csv(store, out)
    console.print(f"{count} labels written to {out}")
