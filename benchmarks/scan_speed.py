"""The whole `vigil scan` against DuckDB merely reading the same file and grouping it by sender.

    .venv/bin/python -m benchmarks.scan_speed FILE [FILE ...]

The floor is what no scan can beat: read the CSV once and aggregate per sender. The ratio
says how much the ingest, validation, features, indicators and explanations cost on top.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from vigil.scan import scan


def floor_seconds(path: Path) -> tuple[float, int]:
    con = duckdb.connect()
    started = time.perf_counter()
    rows = con.execute(
        "SELECT count(*) FROM (SELECT sender_id, count(*) AS n, sum(CAST(amount AS DOUBLE)) AS s "
        "FROM read_csv(?, all_varchar = true) GROUP BY sender_id)",
        [str(path)],
    ).fetchone()[0]
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args()
    print("| payments | floor s | scan s | payments/s | scan / floor |")
    print("|---:|---:|---:|---:|---:|")
    for path in args.files:
        floor, _senders = floor_seconds(path)
        out = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
        try:
            started = time.perf_counter()
            result = scan([path], out)
            seconds = time.perf_counter() - started
        finally:
            shutil.rmtree(out, ignore_errors=True)
        rows = result.summary["rows_read"]
        rate, ratio = rows / seconds, seconds / floor
        print(f"| {rows:,} | {floor:.1f} | {seconds:.1f} | {rate:,.0f} | {ratio:.1f}× |")


if __name__ == "__main__":
    main()
