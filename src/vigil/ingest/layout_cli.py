"""`vigil layout`: layout files for exports that are not in the canonical CSV format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli_support import err_console, user_errors

layout_app = typer.Typer(
    help="Layout files for an institution's own CSV or Excel exports.", rich_markup_mode=None
)


@layout_app.command("suggest")
@user_errors
def suggest(
    file: Annotated[
        Path, typer.Argument(help="The export: CSV (any encoding or delimiter) or .xlsx.")
    ],
    rows: Annotated[int, typer.Option(min=1, help="Rows to sample for formats.")] = 200,
) -> None:
    """Print a starting layout (YAML) from the file's header and a sample of its rows."""
    from vigil.ingest.sniff import suggest_layout

    suggestion = suggest_layout(file, rows=rows)
    print(suggestion.text, end="")
    if suggestion.unmapped:
        err_console.print(
            f"Name the export's column for: {', '.join(suggestion.unmapped)} (or a constant).",
            highlight=False,
        )
