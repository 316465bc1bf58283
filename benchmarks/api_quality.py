"""How well the scoring API's answers rank the payments of a week it has not seen.

    .venv/bin/python -m benchmarks.api_quality [--senders 8000] [--seed 5] [--days 7]
        [--scenarios default,european_remitter,ewallet]

Per scenario: a population is generated, its last `days` withheld, the rest scanned into a
workspace, and every withheld payment scored by the API's own function (as
`POST /api/v1/score` does, without HTTP). An offender's payment is a payment whose sender is
labelled offender. Reports the average precision of the payment scores for offenders'
payments, and the share of offenders' payments, of the other senders' payments and of all
payments that get `hold` or `review` (and `hold` alone) at the configured thresholds, and
what other thresholds would stop.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score

from vigil.api.config import load_scoring_config
from vigil.api.payment import PaymentIn
from vigil.api.score import score_payment
from vigil.api.state import load_state
from vigil.indicators.catalogue import load_catalogue
from vigil.scan import scan
from vigil.synth.generate import generate
from vigil.synth.withhold import withhold_last_days

OTHER_REVIEW_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def evaluate(scenario: str, senders: int, seed: int, days: float, root: Path) -> dict:
    data = generate(root / scenario / "data", senders=senders, seed=seed, scenario=scenario)
    split = withhold_last_days(data.transactions, root / scenario / "split", days)
    out = root / scenario / "scan"
    scan([split.history], out)
    state = load_state(out / "vigil.duckdb")
    params, config = load_catalogue().parameters, load_scoring_config()
    recent = pl.read_csv(split.recent, infer_schema=False)
    offenders = set(
        pl.read_csv(data.labels, infer_schema=False)
        .filter((pl.col("party_kind") == "sender") & (pl.col("role") == "offender"))["party_id"]
        .to_list()
    )
    scores, decisions, positive = [], [], []
    for row in recent.iter_rows(named=True):
        result = score_payment(PaymentIn.model_validate(row), state, params, config)
        scores.append(result.score)
        decisions.append(result.decision)
        positive.append(row["sender_id"] in offenders)
    scores_a, positive_a = np.asarray(scores), np.asarray(positive)
    stopped = np.isin(np.asarray(decisions), ["hold", "review"])
    held = np.asarray(decisions) == "hold"
    return {
        "scenario": scenario,
        "payments": len(scores),
        "offender_payments": int(positive_a.sum()),
        "ap": average_precision_score(positive_a, scores_a) if positive_a.any() else float("nan"),
        "offender_stopped": stopped[positive_a].mean() if positive_a.any() else float("nan"),
        "offender_held": held[positive_a].mean() if positive_a.any() else float("nan"),
        "all_stopped": stopped.mean(),
        "all_held": held.mean(),
        "others_stopped": stopped[~positive_a].mean(),
        "others_held": held[~positive_a].mean(),
        "sweep": {
            t: ((scores_a[positive_a] >= t).mean(), (scores_a[~positive_a] >= t).mean())
            for t in OTHER_REVIEW_THRESHOLDS
        },
        "base_rate": positive_a.mean(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--senders", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--scenarios", default="default,european_remitter,ewallet")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vigil-api-quality-"))
    try:
        results = [
            evaluate(s, args.senders, args.seed, args.days, root) for s in args.scenarios.split(",")
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    config = load_scoring_config()
    t = config.thresholds
    print(f"Review from {t.review}, hold from {t.hold}; 'others' are payments of other senders.\n")
    print(
        "| scenario | withheld payments | offenders' | AP | hold+review: offenders' / others' "
        "/ all | hold: offenders' / others' / all |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['scenario']} | {r['payments']:,} | {r['offender_payments']:,} "
            f"| {r['ap']:.3f} | {r['offender_stopped']:.1%} / {r['others_stopped']:.2%} "
            f"/ {r['all_stopped']:.2%} | {r['offender_held']:.1%} / {r['others_held']:.2%} "
            f"/ {r['all_held']:.2%} |"
        )
    print("\nShare of offenders' payments / of other payments scoring at or above:")
    print("\n| scenario | " + " | ".join(f"≥ {x}" for x in OTHER_REVIEW_THRESHOLDS) + " |")
    print("|---|" + "---:|" * len(OTHER_REVIEW_THRESHOLDS))
    for r in results:
        cells = " | ".join(f"{a:.1%} / {b:.2%}" for a, b in r["sweep"].values())
        print(f"| {r['scenario']} | {cells} |")


if __name__ == "__main__":
    main()
