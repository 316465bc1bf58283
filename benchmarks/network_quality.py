"""Detection before and after the network stage, on every shipped scenario.

    .venv/bin/python -m benchmarks.network_quality [--senders 8000] [--seed 5] [--scenario NAME]

"Before" ranks each party by its behaviour-only score (round one of the scan, the
`{kind}_base_scores` tables); "after" is the scan's final score, with entity resolution and
the network indicators (N1, N2, N3, N5). Light offenders (a handful of payments) are reported
apart: they are the ones the network stage exists for.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import duckdb
import polars as pl

from vigil.evaluation.metrics import average_precision, budget_size, recall_at
from vigil.scan import scan
from vigil.schema import POSITIVE_ROLES
from vigil.synth import generate
from vigil.synth.scenario import SHIPPED

BUDGETS = (0.005, 0.01)


def rankings(workspace: Path) -> dict[tuple[str, str], pl.DataFrame]:
    """(stage, kind) → party_id, score ordered best first."""
    con = duckdb.connect(str(workspace), read_only=True)
    out = {}
    for kind in ("sender", "beneficiary"):
        for stage, table in (("before", f"{kind}_base_scores"), ("after", f"{kind}_scores")):
            out[stage, kind] = pl.from_arrow(
                con.sql(
                    f"SELECT party_id, score FROM {table} ORDER BY score DESC, party_id"
                ).to_arrow_table()
            )
    con.close()
    return out


def measure(ranked: pl.DataFrame, parties: pl.DataFrame, kind: str) -> dict[str, float]:
    labelled = ranked.join(parties, on="party_id", how="left", maintain_order="left")
    positive = (labelled["role"] == POSITIVE_ROLES[kind]).to_numpy()
    light = positive & (labelled["segment"] == "light").fill_null(False).to_numpy()
    n, total, total_light = len(labelled), int(positive.sum()), int(light.sum())
    row = {"ap": average_precision(positive) or 0.0}
    for budget in BUDGETS:
        k = budget_size(budget, n)
        row[f"r{budget}"] = recall_at(positive, k, total) or 0.0
        row[f"light{budget}"] = recall_at(light, k, total_light) if total_light else float("nan")
    row["light"] = total_light
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--senders", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--scenario", action="append", help="default: every shipped scenario")
    args = parser.parse_args()
    print(
        "| scenario | kind | stage | AP | R@0.5% | R@1% | light offenders | "
        "light R@0.5% | light R@1% |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for scenario in args.scenario or SHIPPED:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            data = generate(tmp / "data", senders=args.senders, seed=args.seed, scenario=scenario)
            result = scan([data.transactions], tmp / "out")
            parties = pl.read_csv(data.out / "parties.csv", infer_schema=False)
            ranked = rankings(Path(result.summary["workspace"]))
            for kind in ("sender", "beneficiary"):
                of_kind = parties.filter(pl.col("party_kind") == kind)
                for stage in ("before", "after"):
                    m = measure(ranked[stage, kind], of_kind, kind)
                    light = (
                        f"{m['light']} | {m['light0.005']:.2f} | {m['light0.01']:.2f}"
                        if kind == "sender"
                        else "– | – | –"
                    )
                    print(
                        f"| {scenario} | {kind} | {stage} | {m['ap']:.3f} | "
                        f"{m['r0.005']:.2f} | {m['r0.01']:.2f} | {light} |"
                    )


if __name__ == "__main__":
    main()
