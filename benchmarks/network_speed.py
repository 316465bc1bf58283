"""Time and peak memory of the entity-resolution and graph stages on a scanned workspace.

    .venv/bin/vigil generate --out /tmp/big --senders 600000 --seed 1     # ≈ 10M payments
    .venv/bin/vigil scan /tmp/big/transactions.csv --out /tmp/big/out
    .venv/bin/python -m benchmarks.network_speed /tmp/big/out/vigil.duckdb

Each stage reruns in its own process (it rewrites its own tables only), so the peak resident
memory printed is that stage's, DuckDB's buffers included.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

STAGES = {
    "entity resolution": (
        "from vigil.network.resolution import resolve_entities\n"
        "summary = resolve_entities(ws).to_dict()"
    ),
    "graph (N2 communities, N3 PageRank)": (
        "from vigil.indicators.catalogue import load_catalogue\n"
        "from vigil.network.graph import graph_features\n"
        "summary = graph_features(ws, load_catalogue().parameters).to_dict()"
    ),
}

CHILD = """
import json, resource, sys, time
from vigil.workspace import Workspace
with Workspace.open(sys.argv[1]) as ws:
    payments = ws.count("payments")
    started = time.perf_counter()
{body}
    seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"payments": payments, "seconds": seconds, "peak": peak, "summary": summary}}))
"""


def run_stage(workspace: Path, body: str) -> dict:
    code = CHILD.format(body="\n".join("    " + line for line in body.splitlines()))
    done = subprocess.run(
        [sys.executable, "-c", code, str(workspace)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workspace", type=Path)
    args = parser.parse_args()
    print("| stage | payments | seconds | peak memory | what it made |")
    print("|---|---:|---:|---:|---|")
    for stage, body in STAGES.items():
        started = time.perf_counter()
        result = run_stage(args.workspace, body)
        wall = time.perf_counter() - started
        summary = json.dumps(result["summary"], separators=(", ", ": "))
        print(
            f"| {stage} | {result['payments']:,} | {result['seconds']:.1f} "
            f"(process {wall:.1f}) | {result['peak'] / 2**30:.2f} GiB | `{summary}` |"
        )


if __name__ == "__main__":
    main()
