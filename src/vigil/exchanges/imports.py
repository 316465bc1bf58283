"""`vigil exchanges import`: files in, messages and calls into the workspace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import InputError
from vigil.exchanges.bridge import build_links
from vigil.exchanges.clock import zone
from vigil.exchanges.correlate import build_exchange_links
from vigil.exchanges.csv_layout import load_layout
from vigil.exchanges.formats import parse_file
from vigil.exchanges.store import FileImport, store_file
from vigil.schema import PARTY_KINDS
from vigil.workspace import Workspace


@dataclass(frozen=True)
class ImportResult:
    files: list[FileImport]
    thread_links: int  # rows of exchange_party_links after the import
    payment_links: int  # rows of exchange_links (payment-message links) after it

    def render(self) -> str:
        lines = []
        for f in self.files:
            extra = []
            if f.assumed:
                extra.append(f"{f.assumed} with the time zone assumed (UTC: give --timezone)")
            if f.warnings:
                extra.append(f"{f.warnings} with a time warning")
            tail = f"; {', '.join(extra)}" if extra else ""
            lines.append(
                f"{f.path.name} ({f.format}): {f.messages:,} messages, {f.calls:,} calls{tail}"
            )
        lines.append(
            f"{self.thread_links:,} thread-to-party links and {self.payment_links:,} "
            "payment-to-message links in the workspace"
        )
        return "\n".join(lines)


def parse_owner(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    kind, sep, party_id = text.partition(":")
    if not sep or kind not in PARTY_KINDS or not party_id:
        raise InputError(f"--owner {text!r}: write KIND:ID, e.g. sender:C000123")
    return kind, party_id


def import_exchanges(
    workspace: Path | Workspace,
    files: Sequence[Path],
    *,
    fmt: str = "auto",
    timezone: str | None = None,
    owner: str | None = None,
    layout: Path | None = None,
    rebuild: bool = True,
) -> ImportResult:
    """Parse `files` and store their messages and calls; rebuild the identifier bridge and
    the payment-message links (unless `rebuild` is False: the caller does it once after)."""
    if not files:
        raise InputError("no exchange files given")
    if not isinstance(workspace, Workspace):
        with Workspace.open(workspace) as ws:
            return import_exchanges(
                ws, files, fmt=fmt, timezone=timezone, owner=owner, layout=layout, rebuild=rebuild
            )
    ws = workspace
    tz = zone(timezone)
    owner_party = parse_owner(owner)
    if owner_party is not None:
        kind, party_id = owner_party
        if not ws.con.execute(
            f"SELECT 1 FROM payments WHERE {kind}_id = ? LIMIT 1", [party_id]
        ).fetchall():
            raise InputError(f"--owner {owner}: no {kind} {party_id!r} in the workspace payments")
    csv_layout = load_layout(layout) if layout else None
    done = []
    for path in files:
        path = Path(path)
        detected, exchanges = parse_file(path, fmt, tz, csv_layout)
        done.append(store_file(ws, path, detected, exchanges, owner=owner_party, timezone=tz))
    if not rebuild:
        return ImportResult(files=done, thread_links=0, payment_links=0)
    thread_links = build_links(ws)
    return ImportResult(
        files=done, thread_links=thread_links, payment_links=build_exchange_links(ws)
    )


def import_manifest(workspace: Path | Workspace, manifest: Path) -> list[ImportResult]:
    """Import every file a manifest lists (file, format, owner, timezone, layout), as
    `vigil generate --exchanges` writes it; paths are relative to the manifest's folder."""
    import csv

    manifest = Path(manifest)
    try:
        with manifest.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as error:
        raise InputError(f"{manifest}: cannot read: {error.strerror}") from error
    if not isinstance(workspace, Workspace):
        with Workspace.open(workspace) as ws:
            return import_manifest(ws, manifest)
    results = []
    for number, row in enumerate(rows, start=2):
        if not row.get("file"):
            raise InputError(f"{manifest}: row {number}, column 'file': empty")
        layout = row.get("layout") or None
        results.append(
            import_exchanges(
                workspace,
                [manifest.parent / row["file"]],
                fmt=row.get("format") or "auto",
                timezone=row.get("timezone") or None,
                owner=row.get("owner") or None,
                layout=manifest.parent / layout if layout else None,
                rebuild=False,
            )
        )
    files = [f for result in results for f in result.files]
    thread_links = build_links(workspace)
    return [ImportResult(files, thread_links, build_exchange_links(workspace))]
