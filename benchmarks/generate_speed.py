"""Time `vigil generate` for about 1M and 10M payments (a benchmark, not a test).

.venv/bin/python -m benchmarks.generate_speed [--sizes 58000 580000] [--out benchmarks/out]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from vigil.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[58_000, 580_000],
        help="senders per run (about 17 payments each in the default scenario)",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--scenario", default="default")
    args = parser.parse_args()
    print("| senders | payments | seconds | payments/s |")
    print("|---:|---:|---:|---:|")
    for senders in args.sizes:
        started = time.perf_counter()
        result = generate(
            args.out / f"gen-{senders}", senders=senders, seed=1, scenario=args.scenario
        )
        seconds = time.perf_counter() - started
        rate = result.payments / seconds
        print(f"| {senders:,} | {result.payments:,} | {seconds:.1f} | {rate:,.0f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak RSS {peak:.1f} GiB")


if __name__ == "__main__":
    main()
