"""Detection where the world looks like the real one: the hard scenarios, side by side.

    .venv/bin/python -m benchmarks.hard_quality [--senders 40000] [--seed 7]
        [--scenarios hard_global hard_european] [--model default|DIR] [--work DIR]
        [--lopo [--lopo-populations 8] [--lopo-senders 2500]]

For each hard scenario (offenders at 1 in 1,000, some hiding; look-alikes that share the
pattern): offenders and facilitators, AP and recall at the 0.5 % / 1 % budgets, recall in the
1 % budget per hiding kind (parties.csv `segment`), and the false positives in the 1 % budget
by population, for the expert weights, the learned model (when given) and the naive baseline
(count of payments under 100 USD to a high-risk country). Generated data and scans are kept
under `--work` (default benchmarks/out/hard) and reused when they exist.

`--lopo` adds the leave-one-population-out table: for each look-alike population (or way of
hiding), a model trained on randomised populations where it is absent everywhere, against
the expert weights on the hard scenarios where it is present.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import polars as pl

from benchmarks.detection_quality import baseline_alerts
from vigil.evaluation.metrics import (
    average_precision,
    budget_size,
    false_positives_by_population,
    rank_alerts,
    recall_at,
)
from vigil.evaluation.report import read_labels
from vigil.scan import scan
from vigil.schema import PARTY_KINDS
from vigil.scoring.model import RankingModel, ranked_by_expert, ranked_by_model
from vigil.scoring.model_build import resolve_model
from vigil.scoring.model_card import save_model
from vigil.scoring.training import train_model
from vigil.scoring.training_options import TrainingOptions
from vigil.synth import generate

HARD = ("hard_global", "hard_european")
HELD_OUT = {
    "adult webcam customers": ("webcam_customer",),
    "romance-scam victims": ("romance_victim",),
    "expatriate retirees": ("expat_retiree",),
    "tutors' students and assistants' clients": ("tutoring_student", "va_client"),
    "hiding offenders": (
        "offender_low_slow",
        "offender_newcomer",
        "offender_diaspora",
        "offender_split",
    ),
    "facilitators' relatives": ("facilitator_relative",),
}


def hiding_kinds(parties: pl.DataFrame) -> pl.DataFrame:
    """party_kind, party_id, kind: the way each offender or facilitator hides (or 'plain')."""
    senders = parties.filter((pl.col("party_kind") == "sender") & (pl.col("role") == "offender"))
    senders = senders.select(
        "party_kind",
        "party_id",
        kind=pl.when(
            pl.col("segment").is_in(["", "light", "escalating"]) | pl.col("segment").is_null()
        )
        .then(pl.lit("plain"))
        .otherwise(pl.col("segment")),
    )
    accounts = parties.filter(
        (pl.col("party_kind") == "beneficiary") & (pl.col("role") == "facilitator")
    )
    per_person = accounts.group_by("person_id").agg(accounts_of_person=pl.len())
    beneficiaries = accounts.join(per_person, on="person_id").select(
        "party_kind",
        "party_id",
        kind=pl.when(pl.col("accounts_of_person") > 2)
        .then(pl.lit("churned_wallets"))
        .otherwise(pl.lit("plain")),
    )
    return pl.concat([senders, beneficiaries])


def quality(alerts: pl.DataFrame, labels: pl.DataFrame, kinds: pl.DataFrame) -> dict:
    out = {}
    for kind in PARTY_KINDS:
        ranked = rank_alerts(alerts, labels, kind)
        hits = ranked["is_positive"]
        positives = int(hits.sum())
        k05, k1 = budget_size(0.005, ranked.height), budget_size(0.01, ranked.height)
        top = ranked.head(k1).join(kinds, on="party_id", how="inner")
        per_kind = {}
        for row in kinds.filter(pl.col("party_kind") == kind).group_by("kind").len().iter_rows():
            found = top.filter(pl.col("kind") == row[0]).height
            per_kind[row[0]] = f"{found}/{row[1]}"
        out[kind] = {
            "positives": positives,
            "ap": average_precision(hits),
            "r05": recall_at(hits, k05, positives),
            "r1": recall_at(hits, k1, positives),
            "hiding": per_kind,
            "fp": false_positives_by_population(ranked, k1),
        }
    return out


def prepare(scenario: str, senders: int, seed: int, work: Path, model: Path | None) -> dict:
    folder = work / f"{scenario}-{senders}-{seed}"
    data = folder / "data"
    if not (data / "labels.csv").is_file():
        generate(data, senders=senders, seed=seed, scenario=scenario)
    scanned = folder / ("scan-model" if model else "scan-expert")
    if not (scanned / "alerts.csv").is_file():
        scan([data / "transactions.csv"], scanned, model=model)
    labels = read_labels(data / "labels.csv")
    parties = pl.read_csv(data / "parties.csv", infer_schema=False)
    kinds = hiding_kinds(parties)
    workspace = scanned / "vigil.duckdb"
    con = duckdb.connect(str(workspace), read_only=True)
    rankings = {"expert": ranked_by_expert(con)}
    con.close()
    if model:
        rankings["model"] = pl.read_csv(scanned / "alerts.csv", infer_schema_length=0).select(
            "party_kind",
            "party_id",
            pl.col("score").cast(pl.Float64),
            pl.col("rank").cast(pl.Int64),
        )
    rankings["baseline"] = pl.read_csv(baseline_alerts(workspace, folder)).select(
        "party_kind", pl.col("party_id").cast(pl.String), "score", "rank"
    )
    return {name: quality(r, labels, kinds) for name, r in rankings.items()}


def lopo_rows(args: argparse.Namespace) -> list[str]:
    rows = []
    for name, roles in HELD_OUT.items():
        if args.held_out and name not in args.held_out:
            continue
        folder = args.work / "lopo" / name.replace(" ", "-").replace("'", "")
        if not (folder / "model.json").is_file():
            options = TrainingOptions(
                populations=args.lopo_populations, senders=args.lopo_senders, exclude=roles
            )
            result = train_model(options, name=f"without {name}")
            save_model(folder, result.model, options, result, None)
        model = RankingModel.load(folder)
        for scenario in args.scenarios:
            base = args.work / f"{scenario}-{args.senders}-{args.seed}"
            labels = read_labels(base / "data" / "labels.csv")
            parties = pl.read_csv(base / "data" / "parties.csv", infer_schema=False)
            kinds = hiding_kinds(parties)
            expert_scan = base / "scan-expert"  # the trees correct the expert's score
            if not (expert_scan / "alerts.csv").is_file():
                scan([base / "data" / "transactions.csv"], expert_scan)
            con = duckdb.connect(str(expert_scan / "vigil.duckdb"), read_only=True)
            expert = quality(ranked_by_expert(con), labels, kinds)
            learned = quality(ranked_by_model(con, model), labels, kinds)
            con.close()
            for kind in PARTY_KINDS:
                e, m = expert[kind], learned[kind]
                verdict = "ok" if (m["ap"] or 0) >= (e["ap"] or 0) - 1e-9 else "WORSE"
                rows.append(
                    f"| {name} | {scenario} | {kind} | {_f(e['ap'])} | {_f(m['ap'])} | "
                    f"{_f(e['r1'])} | {_f(m['r1'])} | {verdict} |"
                )
    return rows


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_tables(scenario: str, results: dict) -> None:
    print(f"\n### {scenario}\n")
    print("| kind | ranking | positives | AP | R@0.5% | R@1% | in the 1 % budget, by hiding kind |")
    print("|---|---|---:|---:|---:|---:|---|")
    for kind in PARTY_KINDS:
        for name, result in results.items():
            r = result[kind]
            hiding = ", ".join(f"{k} {v}" for k, v in sorted(r["hiding"].items()))
            print(
                f"| {kind} | {name} | {r['positives']} | {_f(r['ap'])} | {_f(r['r05'])} | "
                f"{_f(r['r1'])} | {hiding} |"
            )
    print("\nFalse positives in the 1 % budget, by population:\n")
    for kind in PARTY_KINDS:
        for name, result in results.items():
            fp = ", ".join(f"{k} {v}" for k, v in list(result[kind]["fp"].items())[:6])
            print(f"- {kind}, {name}: {fp}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--senders", type=int, default=40000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scenarios", nargs="+", default=list(HARD))
    parser.add_argument("--model", default=None, help="a model folder, or 'default'")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out/hard"))
    parser.add_argument("--lopo", action="store_true", help="leave-one-population-out table")
    parser.add_argument("--lopo-populations", type=int, default=8)
    parser.add_argument("--lopo-senders", type=int, default=2500)
    parser.add_argument(
        "--held-out", nargs="*", default=None, help=f"some of: {'; '.join(HELD_OUT)}"
    )
    args = parser.parse_args()
    model = resolve_model(args.model)
    for scenario in args.scenarios:
        print_tables(scenario, prepare(scenario, args.senders, args.seed, args.work, model))
    if args.lopo:
        print("\n### Leave one population out\n")
        print("| held out | scenario | kind | expert AP | model AP | expert R@1% | model R@1% | |")
        print("|---|---|---|---:|---:|---:|---:|---|")
        for row in lopo_rows(args):
            print(row, flush=True)


if __name__ == "__main__":
    main()
