"""Detection quality on every shipped scenario, against a generic value-threshold rule.

    .venv/bin/python -m benchmarks.detection_quality [--senders 6000] [--seed 5]

The baseline is the rule many institutions run: count each party's payments under 100 USD
to (or, for beneficiaries, from senders abroad into) a high-risk country, and rank by it.
Vigil's weights were set looking at the default scenario; the others are reported as
populations it was not tuned on.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import duckdb

from vigil.evaluation import evaluate
from vigil.indicators.catalogue import load_catalogue
from vigil.scan import scan
from vigil.synth import generate
from vigil.synth.scenario import SHIPPED


def baseline_alerts(workspace: Path, out: Path) -> Path:
    """Rank every party by its count of payments under 100 USD to high-risk countries."""
    countries = load_catalogue().parameters.high_risk_countries
    con = duckdb.connect(str(workspace), read_only=True)
    listed = ", ".join(f"'{c}'" for c in countries)
    small = f"(amount_reporting < 100 AND beneficiary_country IN ({listed}))"
    path = out / "baseline_alerts.csv"
    con.execute(
        f"""COPY (
            WITH counts AS (
                SELECT 'sender' AS party_kind, sender_id AS party_id,
                       count(*) FILTER ({small}) AS n FROM payments GROUP BY ALL
                UNION ALL
                SELECT 'beneficiary', beneficiary_id, count(*) FILTER ({small})
                FROM payments GROUP BY ALL)
            SELECT party_kind, party_id, n / (1 + max(n) OVER (PARTITION BY party_kind)) AS score,
                   row_number() OVER (PARTITION BY party_kind ORDER BY n DESC, party_id) AS rank,
                   '' AS indicators
            FROM counts ORDER BY party_kind, rank
        ) TO '{path}' (HEADER)"""
    )
    return path


def row(name: str, report: dict, kind: str) -> str:
    r = report[kind]
    at = {b["budget"]: b["recall"] for b in r["budgets"]}
    return f"{r['average_precision']:.3f} | {at[0.005]:.2f} | {at[0.01]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--senders", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    print(
        "| scenario | kind | positives | Vigil AP | R@0.5% | R@1% | baseline AP | R@0.5% | R@1% |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for scenario in SHIPPED:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            data = generate(tmp / "data", senders=args.senders, seed=args.seed, scenario=scenario)
            result = scan([data.transactions], tmp / "out")
            vigil = evaluate(result.alerts, data.labels).to_dict()
            base = evaluate(
                baseline_alerts(tmp / "out" / "vigil.duckdb", tmp), data.labels
            ).to_dict()
            for kind, label in (("sender", "offenders"), ("beneficiary", "facilitators")):
                print(
                    f"| {scenario} | {label} | {vigil[kind]['positives']} | "
                    f"{row('vigil', vigil, kind)} | {row('baseline', base, kind)} |"
                )


if __name__ == "__main__":
    main()
