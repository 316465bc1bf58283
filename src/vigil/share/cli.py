"""`vigil share keygen|export|link|import`: collaboration across institutions without pooling."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli_support import console, user_errors

share_app = typer.Typer(
    help="Collaboration across institutions without pooling data: keyed tokens out, "
    "cross-institution indicators back.",
    rich_markup_mode=None,
)
KeyOption = Annotated[
    Path, typer.Option("--key-file", help="The shared key of `vigil share keygen`.")
]
WorkspaceOption = Annotated[Path, typer.Option(help="DuckDB workspace written by `vigil scan`.")]


@share_app.command("keygen")
@user_errors
def keygen_command(
    out: Annotated[Path, typer.Option(help="Key file to write (owner-only; never overwritten).")],
) -> None:
    """A new shared secret for one exercise: give it to each institution, never to the
    linkage unit."""
    from vigil.share import keygen

    console.print(f"Key written to {keygen(out)} (readable by its owner only).")


@share_app.command("export")
@user_errors
def export_command(
    workspace: WorkspaceOption,
    key_file: KeyOption,
    out: Annotated[Path, typer.Option(help="Share file to write (Parquet) for the linkage unit.")],
    institution: Annotated[
        str | None, typer.Option(help="This institution's name (default: OUT's file name).")
    ] = None,
) -> None:
    """Keyed tokens, name encodings and banded counts of the beneficiaries this institution
    pays in high-risk countries; no identifier, name or payment in clear."""
    from vigil.share import export_share

    result = export_share(workspace, key_file, out, institution=institution)
    console.print(
        f"{result.beneficiaries:,} beneficiaries of {result.institution} encoded in {result.out}"
    )


@share_app.command("link")
@user_errors
def link_command(
    files: Annotated[list[Path], typer.Argument(help="The institutions' share files.")],
    out: Annotated[Path, typer.Option(help="Folder for one linked file per institution.")],
    name_threshold: Annotated[
        float,
        typer.Option(min=0.5, max=1.0, help="Dice of name encodings that supports a phone link."),
    ] = 0.8,
) -> None:
    """At the linkage unit (no key): join the share files and compute, per institution, what
    the others see of the beneficiaries it pays."""
    from vigil.share import link_shares

    result = link_shares(files, out, name_threshold=name_threshold)
    console.print(
        f"{result.beneficiaries:,} beneficiaries paid at two institutions or more "
        f"({result.phone_links:,} account pairs joined by phone and name); files: "
        + ", ".join(str(f) for f in result.files.values())
    )


@share_app.command("import")
@user_errors
def import_command(
    linked: Annotated[
        Path, typer.Argument(help="This institution's file from `vigil share link`.")
    ],
    workspace: WorkspaceOption,
    key_file: KeyOption,
    out: Annotated[Path, typer.Option(help="Folder for alerts.csv and alerts.json.")],
    refresh: Annotated[
        bool,
        typer.Option(
            help="The linked file of a second exchange (exported after every institution "
            "imported the first): beneficiaries learn from it, senders keep the first's figures."
        ),
    ] = False,
) -> None:
    """Re-score this institution's parties with the cross-institution indicators and write
    its alerts."""
    from vigil.share import import_linked

    result = import_linked(linked, workspace, key_file, out, refresh=refresh)
    console.print(
        f"{result.beneficiaries_linked:,} of your beneficiaries are paid at other institutions, "
        f"{result.beneficiaries_flagged:,} by suspicious customers there; "
        f"{result.senders_flagged:,} of your senders pay them. Alerts: {result.alerts}"
    )
