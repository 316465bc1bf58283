"""Does the learned ranking generalise? Leave one scenario out, and learn from the past.

    .venv/bin/python -m benchmarks.model_quality [--populations 12] [--senders 6000]
        [--eval-senders 8000] [--seed 5] [--temporal]

For each shipped scenario: train on randomised populations around the *other* scenarios
only, then rank a fresh population of the held-out one (seed --seed) with the model and with
the expert score. Targets: sender AP >= 0.9 and facilitator AP >= 0.8 on every held-out
scenario, and above the expert score. With --temporal, each held-out population is also
split by date: a model learns from its first half (as an institution's own past) and the
second half is ranked by the expert score, the held-out model and that early-period model.
"""

from __future__ import annotations

import argparse
import time

from vigil.scoring.model_evaluation import ModelEvaluation, evaluate_model, evaluate_temporal
from vigil.scoring.training import train_model
from vigil.scoring.training_options import TrainingOptions
from vigil.synth.scenario import SHIPPED

TARGET = {"sender": 0.9, "beneficiary": 0.8}


def verdict(evaluation: ModelEvaluation) -> list[str]:
    lines = []
    for row in evaluation.rows:
        model = row.rankings["model"].average_precision or 0.0
        expert = row.rankings["expert"].average_precision or 0.0
        ok = model >= TARGET[row.kind] and model > expert
        lines.append(
            f"- {row.population} {row.kind}: model AP {model:.3f} vs expert {expert:.3f}, "
            f"target {TARGET[row.kind]}: {'met' if ok else 'NOT met'}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--populations", type=int, default=12)
    parser.add_argument("--senders", type=int, default=6000)
    parser.add_argument("--eval-senders", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--temporal", action="store_true")
    args = parser.parse_args()
    held_out: list[ModelEvaluation] = []
    temporal: list[ModelEvaluation] = []
    for scenario in SHIPPED:
        others = tuple(s for s in SHIPPED if s != scenario)
        options = TrainingOptions(
            scenarios=others, populations=args.populations, senders=args.senders
        )
        started = time.perf_counter()
        trained = train_model(options, name=f"without-{scenario}")
        print(
            f"trained without {scenario} (on {', '.join(others)}): {trained.seconds} s",
            flush=True,
        )
        evaluation = evaluate_model(
            trained.model, [scenario], senders=args.eval_senders, seed=args.seed
        )
        held_out.append(evaluation)
        print(evaluation.to_markdown(), flush=True)
        if args.temporal:
            temporal.append(
                evaluate_temporal(
                    [scenario], senders=args.eval_senders, seed=args.seed, model=trained.model
                )
            )
            print(temporal[-1].to_markdown(), flush=True)
        print(f"({time.perf_counter() - started:.0f} s with evaluation)\n", flush=True)

    rows = [row for e in held_out for row in e.rows]
    combined = ModelEvaluation(held_out[0].title, args.eval_senders, args.seed, rows)
    print("## Leave one scenario out\n")
    print(combined.to_markdown())
    print("\n" + "\n".join(verdict(combined)))
    if temporal:
        rows = [row for e in temporal for row in e.rows]
        print("\n## Temporal\n")
        print(ModelEvaluation(temporal[0].title, args.eval_senders, args.seed, rows).to_markdown())


if __name__ == "__main__":
    main()
