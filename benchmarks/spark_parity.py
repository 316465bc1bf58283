"""The same scan on DuckDB and on Spark: parity of parties, scores and alerts, and the time
of every stage on each engine.

    .venv/bin/python -m benchmarks.spark_parity --senders 2000 [--senders 8000 ...]
        [--seed 1] [--spark-master local[2]] [--spark-conf KEY=VALUE ...] [--keep DIR]

For each `--senders` size: generates a population, scans it with `--engine duckdb` and then
with `--engine spark` (one Spark session for the whole run; its start-up is timed apart),
compares the two scans (vigil.pipeline.parity) and prints the seconds per stage of both
(after an untimed warm-up scan on each engine).
With two sizes or more it prints each stage's growth against the payments' (the per-stage
scaling a larger run extrapolates from). The figures go to stdout as JSON too (`--json`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from vigil.pipeline.parity import compare_scans
from vigil.scan import scan
from vigil.synth.generate import generate
from vigil.workspace.spark import SparkOptions, spark_session


def run_size(root: Path, senders: int, seed: int, spark: SparkOptions) -> dict:
    folder = root / f"senders-{senders}"
    started = time.perf_counter()
    population = generate(folder / "population", senders=senders, seed=seed)
    generated = time.perf_counter() - started
    payments = [population.transactions]
    duck = scan(payments, folder / "duckdb")
    on_spark = scan(payments, folder / "spark", engine="spark", spark=spark)
    parity = compare_scans(duck.out, on_spark.out)
    return {
        "senders": senders,
        "payments": duck.summary["rows_ingested"],
        "generate_seconds": round(generated, 2),
        "duckdb": {"run_seconds": duck.summary["run_seconds"], **duck.summary["stage_seconds"]},
        "spark": {
            "run_seconds": on_spark.summary["run_seconds"],
            **on_spark.summary["stage_seconds"],
        },
        "parity": parity.to_dict(),
    }


def warm_up(root: Path) -> None:
    """One small scan on each engine, untimed: the first scan of a process pays for imports
    and Splink's and Spark's first queries, which would fall on whichever engine runs first."""
    population = generate(root / "warm-up" / "population", senders=100, seed=0)
    scan([population.transactions], root / "warm-up" / "duckdb")
    scan([population.transactions], root / "warm-up" / "spark", engine="spark")
    shutil.rmtree(root / "warm-up", ignore_errors=True)


def print_size(result: dict) -> None:
    parity = result["parity"]
    print(
        f"\n{result['senders']:,} senders, {result['payments']:,} payments: "
        f"parity {'SAME' if parity['same'] else 'DIFFERENT'}; alerts.csv rows "
        f"{parity['alerts_rows']:,}, differing {parity['alerts_differences']}"
    )
    for kind, k in parity["kinds"].items():
        print(
            f"  {kind:<12} parties {k['parties']:>8,}  only DuckDB {k['only_first']}  "
            f"only Spark {k['only_second']}  max |score diff| {k['max_score_difference']:.2e}  "
            f"ranks differing {k['rank_differences']}  fired differing {k['fired_differences']}"
        )
    duck, spark = result["duckdb"], result["spark"]
    print(f"  {'stage':<22}{'DuckDB s':>10}{'Spark s':>10}{'Spark/DuckDB':>14}")
    for stage in dict.fromkeys([*duck, *spark]):
        d, s = duck.get(stage), spark.get(stage)
        ratio = f"{s / d:.1f}x" if d and s else ""
        print(f"  {stage:<22}{_cell(d)}{_cell(s)}{ratio:>14}")


def print_scaling(results: list[dict]) -> None:
    """Each stage's time growth between the smallest and the largest size, beside the
    payments' growth (1.0 per doubling = linear)."""
    small, large = results[0], results[-1]
    growth = large["payments"] / small["payments"]
    print(f"\nScaling {small['payments']:,} -> {large['payments']:,} payments (x{growth:.1f}):")
    for engine in ("duckdb", "spark"):
        for stage, seconds in large[engine].items():
            before = small[engine].get(stage)
            if before:
                print(f"  {engine:<7}{stage:<22}x{seconds / before:.2f}")


def _cell(value: float | None) -> str:
    return f"{value:>10.2f}" if value is not None else f"{'':>10}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--senders", type=int, action="append")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--spark-conf", action="append", default=[])
    parser.add_argument("--keep", type=Path, help="folder to keep the data in")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    spark = SparkOptions.parse(args.spark_master, args.spark_conf)
    started = time.perf_counter()
    spark_session(spark)  # started once, before the timed scans
    print(f"Spark session ({spark.master}) started in {time.perf_counter() - started:.1f} s")
    root = args.keep or Path(tempfile.mkdtemp(prefix="vigil-spark-parity-"))
    results = []
    try:
        warm_up(root)
        for senders in sorted(args.senders or [2000]):
            results.append(run_size(root, senders, args.seed, spark))
            print_size(results[-1])
        if len(results) > 1:
            print_scaling(results)
        if args.json:
            print(json.dumps(results, indent=2))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if not all(r["parity"]["same"] for r in results):
        raise SystemExit("the engines differ")


if __name__ == "__main__":
    main()
