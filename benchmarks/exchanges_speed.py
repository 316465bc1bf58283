"""Exchange import and correlation speed, and the UFDR parser's memory.

    .venv/bin/python -m benchmarks.exchanges_speed [--senders 20000] [--pairs 400] [--seed 1]

Generates a population, scans it, then writes one Cellebrite UFDR report.xml holding a chat
per sender-beneficiary pair (the busiest `pairs` pairs, every payment with a stated price,
"sent", a reference and a call after it) and the same chats as WhatsApp _chat.txt files.
Each import runs in a child process, so its peak memory is its own. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import polars as pl

from vigil.exchanges.bridge import build_links
from vigil.exchanges.correlate import build_exchange_links, find_links
from vigil.exchanges.imports import import_exchanges
from vigil.scan import scan
from vigil.synth import generate
from vigil.synth.exchanges import _offender_events
from vigil.workspace import Workspace

NS = "http://pa.cellebrite.com/report/2.0"


def _pairs(transactions: Path, count: int) -> list[pl.DataFrame]:
    pays = pl.read_csv(transactions, infer_schema=False).with_columns(
        utc=pl.col("ts").str.to_datetime(time_zone="UTC").dt.replace_time_zone(None)
    )
    top = (
        pays.group_by("sender_id", "beneficiary_id")
        .agg(n=pl.len())
        .sort(["n", "sender_id"], descending=[True, False])
        .head(count)
    )
    return [
        pays.filter((pl.col("sender_id") == s) & (pl.col("beneficiary_id") == b)).sort("utc")
        for s, b, _ in top.iter_rows()
    ]


def _party(name: str, ident: str) -> str:
    return (
        f'<model type="Party"><field name="Identifier"><value>{escape(ident)}</value></field>'
        f'<field name="Name"><value>{escape(name)}</value></field></model>'
    )


def write_ufdr(pairs: list[pl.DataFrame], path: Path, rng: np.random.Generator) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write(
            f'<?xml version="1.0" encoding="utf-8"?>\n<project xmlns="{NS}"><decodedData>'
            '<modelType type="Chat">'
        )
        for c, pair in enumerate(pairs):
            first = pair.row(0, named=True)
            me = _party(first["sender_name"], f"+1202555{c:04d}")
            them = _party(first["beneficiary_name"], first["beneficiary_phone"] or f"+63917{c:07d}")
            fh.write(
                f'<model type="Chat" id="c{c}"><field name="Name"><value>'
                f"{escape(first['beneficiary_name'])}</value></field>"
                f'<multiModelField name="Messages">'
            )
            for n, ev in enumerate(_offender_events(pair, rng)):
                if ev.kind == "call":
                    continue
                stamp = ev.ts.isoformat(timespec="seconds") + "+00:00"
                fh.write(
                    f'<model type="InstantMessage" id="m{c}-{n}"><field name="TimeStamp">'
                    f'<value>{stamp}</value></field><field name="Body"><value>'
                    f'{escape(ev.text)}</value></field><modelField name="From">'
                    f"{me if ev.from_owner else them}</modelField></model>"
                )
                count += 1
            fh.write("</multiModelField></model>")
        fh.write("</modelType></decodedData></project>\n")
    return count


def write_whatsapp(pairs: list[pl.DataFrame], folder: Path, rng: np.random.Generator) -> int:
    count = 0
    for c, pair in enumerate(pairs):
        first = pair.row(0, named=True)
        lines = []
        for ev in _offender_events(pair, rng):
            if ev.kind == "call":
                continue
            who = first["sender_name"] if ev.from_owner else first["beneficiary_name"]
            lines.append(f"\u200e[{ev.ts:%d/%m/%Y, %H:%M:%S}] {who}: {ev.text}")
        (folder / f"chat{c:04d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        count += len(lines)
    return count


def _import(args: tuple[str, list[str], str, str | None]) -> tuple[float, int]:
    workspace, files, fmt, tz = args
    started = time.perf_counter()
    with Workspace.open(workspace) as ws:
        import_exchanges(ws, [Path(f) for f in files], fmt=fmt, timezone=tz, rebuild=False)
    seconds = time.perf_counter() - started
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--senders", type=int, default=20000)
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    rng = np.random.default_rng(options.seed)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        made = generate(root / "data", senders=options.senders, seed=options.seed)
        scan([made.transactions], root / "scan")
        workspace = str(root / "scan" / "vigil.duckdb")
        pairs = _pairs(made.transactions, options.pairs)
        ufdr = root / "report.xml"
        ufdr_messages = write_ufdr(pairs, ufdr, rng)
        chats = root / "chats"
        chats.mkdir()
        wa_messages = write_whatsapp(pairs, chats, rng)
        context = multiprocessing.get_context("spawn")
        rows = []
        with context.Pool(1, maxtasksperchild=1) as pool:
            seconds, rss = pool.apply(_import, ((workspace, [str(ufdr)], "ufdr", None),))
        rows.append(
            ("UFDR report.xml (one file)", ufdr_messages, ufdr.stat().st_size, seconds, rss)
        )
        files = sorted(str(p) for p in chats.iterdir())
        with context.Pool(1, maxtasksperchild=1) as pool:
            seconds, rss = pool.apply(_import, ((workspace, files, "whatsapp", "UTC"),))
        size = sum(Path(f).stat().st_size for f in files)
        rows.append((f"WhatsApp _chat.txt ({len(files)} files)", wa_messages, size, seconds, rss))
        with Workspace.open(workspace) as ws:
            started = time.perf_counter()
            thread_links = build_links(ws)
            bridge_s = time.perf_counter() - started
            started = time.perf_counter()
            links = build_exchange_links(ws)
            links_s = time.perf_counter() - started
            party = pairs[0]["sender_id"][0]
            started = time.perf_counter()
            found = find_links(ws, party)
            party_s = time.perf_counter() - started
            payments = ws.count("payments")
    print(f"{payments:,} payments; {len(pairs)} chats\n")
    print("| export | messages | MB | import s | messages/s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, messages, size, seconds, rss in rows:
        print(
            f"| {name} | {messages:,} | {size / 2**20:.1f} | {seconds:.1f} | "
            f"{messages / seconds:,.0f} | {rss:,} |"
        )
    print(
        f"\nbridge: {thread_links:,} thread-party links in {bridge_s:.2f} s; "
        f"payment-message links: {links:,} in {links_s:.2f} s; one party's links "
        f"({len(found.links)}) read in {party_s * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
