"""Time `vigil generate` for about 1M and 10M payments (a benchmark, not a test).

.venv/bin/python -m benchmarks.generate_speed [--sizes 62000 620000] [--out benchmarks/out]
    [--shard-senders N] [--keep]

Each size runs in a child process, so its peak RSS is its own; its CPU seconds (every
thread) compare better than wall time on a shared machine. The files are deleted after
each run unless --keep (a 100M population is 16 GB of CSV).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from vigil.synth.shards import SHARD_SENDERS

# The child: one population, its payment count on stdout.
_CHILD = """
import sys
from vigil.synth import generate
result = generate(sys.argv[1], senders=int(sys.argv[2]), seed=1, scenario=sys.argv[3],
                  shard_senders=int(sys.argv[4]))
print(result.payments)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[62_000, 620_000],
        help="senders per run (about 16 payments each in the default scenario)",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--scenario", default="default")
    parser.add_argument(
        "--shard-senders",
        type=int,
        default=SHARD_SENDERS,
        help="senders simulated at once (a number above --sizes: the whole population at once)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    print("| senders | payments | wall s | CPU s | payments/s (wall) | peak RSS GiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for senders in args.sizes:
        out = args.out / f"gen-{senders}"
        started = time.perf_counter()
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _CHILD,
                str(out),
                str(senders),
                args.scenario,
                str(args.shard_senders),
            ],
            stdout=subprocess.PIPE,
        )
        stdout = child.stdout.read() if child.stdout else b""
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"generating {senders:,} senders failed")
        payments = int(stdout.decode().split()[-1])
        cpu = usage.ru_utime + usage.ru_stime
        peak = usage.ru_maxrss * 1024 / 2**30  # Linux reports KiB
        print(
            f"| {senders:,} | {payments:,} | {seconds:.1f} | {cpu:.1f} | "
            f"{payments / seconds:,.0f} | {peak:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
