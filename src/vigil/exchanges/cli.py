"""`vigil exchanges import|correlate`: chat and call records beside the payments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli_support import console, user_errors

exchanges_app = typer.Typer(help="Chats, messages and calls: import them, link them to payments.")


@exchanges_app.command("import")
@user_errors
def import_command(
    workspace: Annotated[Path, typer.Option(help="DuckDB workspace holding the payments.")],
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Exports: result.json, _chat.txt, report.xml / .ufdr, message_N.json, CSV."
        ),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="auto, telegram, whatsapp, ufdr, meta or csv.")
    ] = "auto",
    timezone: Annotated[
        str | None,
        typer.Option(help="IANA zone of times written without offset (where the phone was)."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="Whose device or account the export is: KIND:ID.")
    ] = None,
    layout: Annotated[
        Path | None, typer.Option(help="Layout YAML naming the columns of a CSV export.")
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="CSV listing file, format, owner, timezone, layout per export "
            "(as `vigil generate --exchanges` writes it), instead of FILE."
        ),
    ] = None,
) -> None:
    """Import chat, message and call exports into the workspace."""
    from vigil.errors import VigilError
    from vigil.exchanges.imports import import_exchanges, import_manifest

    if not workspace.is_file():
        raise VigilError(f"{workspace}: no such workspace (run `vigil scan` first)")
    if manifest is not None:
        if files:
            raise VigilError("give export files or --manifest, not both")
        (result,) = import_manifest(workspace, manifest)
        console.print(result.render(), highlight=False)
        return
    result = import_exchanges(
        workspace, files or [], fmt=format, timezone=timezone, owner=owner, layout=layout
    )
    console.print(result.render(), highlight=False)


@exchanges_app.command("correlate")
@user_errors
def correlate_command(
    workspace: Annotated[Path, typer.Option(help="DuckDB workspace with imported exchanges.")],
    party_id: Annotated[str, typer.Option("--party-id", help="A sender_id or beneficiary_id.")],
    out: Annotated[Path, typer.Option(help="JSON file to write.")],
    party_kind: Annotated[
        str | None, typer.Option(help="sender or beneficiary, when an id is both.")
    ] = None,
) -> None:
    """Links between a party's messages and calls and its payments."""
    from collections import Counter

    from vigil.exchanges.correlate import correlate

    result = correlate(workspace, party_id, out, party_kind=party_kind)
    counts = Counter(link["kind"] for link in result.links)
    summary = ", ".join(f"{counts[k]} {k}" for k in ("reference", "amount", "account", "timing"))
    console.print(f"{len(result.links)} links ({summary}) written to {out}", highlight=False)
