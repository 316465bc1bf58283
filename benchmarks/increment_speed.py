"""A week of new payments into a two-year workspace, against a full scan of all of them.

    .venv/bin/python -m benchmarks.increment_speed --senders 58000 [--seed 1] [--days 7]
        [--warm-up-days 1]

Generates a population (the default scenario spans two years), withholds its last `days`,
scans the history into a workspace, then times the increment (the withheld week scanned
into it) and a full scan of every payment into a fresh workspace, stage by stage, in wall
and in CPU seconds (this process, every thread: steadier than wall time on a shared
machine). `--warm-up-days N` scans the N days before the week as an increment first (not
timed): the week is then a workspace's second increment, which runs the queries the first
compiled and kept, as every daily scan after the first does.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from vigil.scan import scan
from vigil.synth.generate import generate
from vigil.synth.withhold import withhold_last_days


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--senders", type=int, default=58_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--warm-up-days", type=float, default=0)
    parser.add_argument("--keep", type=Path, help="folder to keep the data in")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="vigil-increment-"))
    try:
        data = generate(root / "data", senders=args.senders, seed=args.seed)
        split = withhold_last_days(data.transactions, root / "split", args.days)
        daily = root / "daily"
        history = [split.history]
        if args.warm_up_days > 0:
            before = withhold_last_days(split.history, root / "before", args.warm_up_days)
            history = [before.history, before.recent]
        for i, part in enumerate(history):
            scan([part], daily / f"history-{i}", workspace=daily / "vigil.duckdb")
        started = time.perf_counter()
        increment = scan([split.recent], daily / "week", workspace=daily / "vigil.duckdb")
        increment_s = time.perf_counter() - started
        started = time.perf_counter()
        full = scan([data.transactions], root / "full")
        full_s = time.perf_counter() - started
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    full_cpu = full.summary["stage_cpu_seconds"]
    increment_cpu = increment.summary["stage_cpu_seconds"]
    print(
        f"{data.payments:,} payments, of which {split.recent_payments:,} in the last "
        f"{args.days:g} days; increment {increment_s:.1f} s = "
        f"{increment_s / full_s:.0%} of a full scan ({full_s:.1f} s); CPU "
        f"{sum(increment_cpu.values()):.1f} s = "
        f"{sum(increment_cpu.values()) / sum(full_cpu.values()):.0%} of "
        f"{sum(full_cpu.values()):.1f} s\n"
    )
    print(
        "| stage | full scan s | increment s | increment / full | full CPU s "
        "| increment CPU s | CPU increment / full |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    stages = full.summary["stage_seconds"]
    for stage, seconds in stages.items():
        inc = increment.summary["stage_seconds"].get(stage, 0.0)
        share = f"{inc / seconds:.0%}" if seconds > 0 else "–"
        cpu, inc_cpu = full_cpu.get(stage, 0.0), increment_cpu.get(stage, 0.0)
        cpu_share = f"{inc_cpu / cpu:.0%}" if cpu > 0 else "–"
        print(
            f"| {stage} | {seconds:.2f} | {inc:.2f} | {share} | {cpu:.2f} | {inc_cpu:.2f} "
            f"| {cpu_share} |"
        )
    cpu, inc_cpu = sum(full_cpu.values()), sum(increment_cpu.values())
    print(
        f"| whole scan | {full_s:.2f} | {increment_s:.2f} | {increment_s / full_s:.0%} "
        f"| {cpu:.2f} | {inc_cpu:.2f} | {inc_cpu / cpu:.0%} |"
    )


if __name__ == "__main__":
    main()
