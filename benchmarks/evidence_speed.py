"""Time the evidence package of the busiest beneficiary (a benchmark, not a test).

.venv/bin/python -m benchmarks.evidence_speed [--senders 2000] [--seed 5] [--out benchmarks/out]

Generates and scans a population (once; reused when its workspace exists), then writes the
evidence package of the beneficiary with the most payments and prints the seconds per step.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

from vigil.reports.evidence import write_evidence_package
from vigil.scan import scan
from vigil.synth import generate
from vigil.workspace import Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    folder = args.out / f"evidence-{args.senders}-{args.seed}"
    workspace = folder / "results" / "vigil.duckdb"
    if not workspace.is_file():
        generate(folder / "population", senders=args.senders, seed=args.seed)
        scan([folder / "population" / "transactions.csv"], folder / "results")
    with Workspace.open(workspace, read_only=True) as ws:
        party, payments = ws.con.execute(
            "SELECT beneficiary_id, count(*) AS n FROM payments GROUP BY 1 ORDER BY n DESC, 1 "
            "LIMIT 1"
        ).fetchall()[0]
    steps: list[tuple[str, float]] = []
    started = time.perf_counter()
    write_evidence_package(
        workspace,
        party,
        folder / "package",
        party_kind="beneficiary",
        progress=lambda step, _share: steps.append((step, time.perf_counter())),
    )
    total = time.perf_counter() - started
    print(f"beneficiary with {payments:,} payments: {total:.1f} s")
    for (step, at), (_, until) in itertools.pairwise(steps):
        print(f"  {step}: {until - at:.1f} s")


if __name__ == "__main__":
    main()
