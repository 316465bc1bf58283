"""Entity resolution on a large population: time and peak memory.

    .venv/bin/vigil generate --out /tmp/big --senders 600000 --seed 1     # about 10M payments
    .venv/bin/python -m benchmarks.resolution_speed /tmp/big/transactions.csv [--workdir DIR]

Ingests the file into a fresh workspace (under --workdir, by default a temporary folder),
then resolves it in a child process, so that the peak memory reported (the child's maximum
resident set size, from resource.getrusage) is the resolution's alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vigil.ingest import ingest
from vigil.network.resolution import resolve_entities
from vigil.workspace import Workspace


def resolve_in_this_process(workspace: Path) -> None:
    with Workspace.open(workspace) as ws:
        payments = ws.count("payments")
        started = time.perf_counter()
        summary = resolve_entities(ws)
        seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "payments": payments,
                "seconds": seconds,
                "peak_rss_mib": peak_kib / 1024,
                **summary.to_dict(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("transactions", type=Path, nargs="?")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--resolve", type=Path, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.resolve:
        resolve_in_this_process(args.resolve)
        return
    if args.transactions is None:
        parser.error("give the transactions file to ingest")
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="vigil-resolution-speed-"))
    workspace = folder / "vigil.duckdb"
    started = time.perf_counter()
    with Workspace.open(workspace) as ws:
        ingest(ws, [args.transactions], quarantine_path=folder / "quarantine.csv")
    ingest_seconds = time.perf_counter() - started
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.resolution_speed", "--resolve", str(workspace)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"ingest: {ingest_seconds:.1f} s (not part of resolution)")
    print("| kind | parties | entities | merged accounts | links | model | seconds |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for kind in ("beneficiary", "sender"):
        k = figures[kind]
        print(
            f"| {kind} | {k['parties']:,} | {k['entities']:,} | {k['merged_accounts']:,} | "
            f"{k['links']:,} | {k['model']} | {k['seconds']:.1f} |"
        )
    print(
        f"{figures['payments']:,} payments: resolution {figures['seconds']:.1f} s in all, "
        f"peak memory {figures['peak_rss_mib']:,.0f} MiB (max RSS of the resolving process)"
    )


if __name__ == "__main__":
    main()
