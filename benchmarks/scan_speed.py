"""The whole `vigil scan` against DuckDB merely reading the same file and grouping it by sender.

    .venv/bin/python -m benchmarks.scan_speed FILE [FILE ...] [--memory-limit 4GiB]

The floor is what no scan can beat: read the CSV once and aggregate per sender. The ratio
says how much the ingest, validation, features, indicators and explanations cost on top.
Each scan runs in a child process, so its peak memory (RSS, Vigil, DuckDB and igraph
together) is its own; the floor is measured just before it, in the same run. Then the time
of each stage (wall, and the CPU seconds of every thread: on a machine shared with other
work the wall time stretches, the CPU time much less).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

# The child: the scan, with each stage's CPU seconds beside summary.json's wall seconds. Each
# stage is also reported on stderr as it ends (wall, CPU, peak RSS so far), so that a run cut
# short (a 100M scan on a shared machine) still says how far it got and what each stage took.
_CHILD = """
import json, resource, sys, time
from pathlib import Path
import vigil.pipeline.runner as runner
from vigil.scan import scan

cpu = {}
plain = runner.Stage.body

def body(self, increment):
    run = plain(self, increment)
    def timed(ctx):
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        try:
            return run(ctx)
        finally:
            after = resource.getrusage(resource.RUSAGE_SELF)
            used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            cpu[self.label.lower()] = round(used, 2)
            print(
                f"stage {self.label.lower()!r} ended {time.strftime('%H:%M:%S')}: "
                f"{time.perf_counter() - started:.1f} s wall, {used:.1f} s CPU, "
                f"peak RSS so far {after.ru_maxrss / 2**20:.2f} GiB",
                file=sys.stderr, flush=True,
            )
    return timed

runner.Stage.body = body
result = scan([Path(sys.argv[1])], Path(sys.argv[2]))
print(json.dumps({"summary": result.summary, "cpu": cpu}))
"""


def floor_seconds(path: Path) -> tuple[float, int]:
    con = duckdb.connect()
    started = time.perf_counter()
    rows = con.execute(
        "SELECT count(*) FROM (SELECT sender_id, count(*) AS n, sum(CAST(amount AS DOUBLE)) AS s "
        "FROM read_csv(?, all_varchar = true) GROUP BY sender_id)",
        [str(path)],
    ).fetchall()[0][0]
    return time.perf_counter() - started, rows


def scan_in_child(path: Path, out: Path, memory_limit: str | None) -> tuple[float, dict, int]:
    """Wall seconds, the child's report and its peak RSS in bytes."""
    env = dict(os.environ)
    if memory_limit:
        env["VIGIL_MEMORY_LIMIT"] = memory_limit
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), str(out)], stdout=subprocess.PIPE, env=env
    )
    stdout = child.stdout.read() if child.stdout else b""
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the scan of {path} failed (exit {os.waitstatus_to_exitcode(status)})")
    report = json.loads(stdout.decode().strip().splitlines()[-1])
    return seconds, report, usage.ru_maxrss * 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--memory-limit", help="DuckDB's memory limit for the scan (12GiB, 40%%)")
    args = parser.parse_args()
    rows_out, stages_out = [], []
    for path in args.files:
        floor, _senders = floor_seconds(path)
        out = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
        try:
            seconds, report, peak = scan_in_child(path, out, args.memory_limit)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        summary = report["summary"]
        rows = summary["rows_read"]
        rows_out.append(
            f"| {rows:,} | {floor:.2f} | {seconds:.1f} | {rows / seconds:,.0f} | "
            f"{seconds / floor:.1f}× | {peak / 2**30:.1f} |"
        )
        wall, cpu = summary["stage_seconds"], report["cpu"]
        cells = " | ".join(f"{wall[s]:.1f} / {cpu.get(s, 0):.1f}" for s in wall)
        stages_out.append((list(wall), f"| {rows:,} | {cells} |"))
    print("| payments | floor s | scan s | payments/s | scan / floor | peak RSS GiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows_out))
    print()
    names = stages_out[0][0]
    print("Seconds per stage, wall / CPU (all threads):\n")
    print("| payments | " + " | ".join(names) + " |")
    print("|---:|" + "---:|" * len(names))
    print("\n".join(line for _, line in stages_out))


if __name__ == "__main__":
    main()
