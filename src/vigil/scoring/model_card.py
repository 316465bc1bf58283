"""The model card beside each model: what it learnt from, what it reads, how well it ranks."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from vigil.scoring.model import RankingModel
from vigil.scoring.model_evaluation import ModelEvaluation
from vigil.scoring.training import TrainingResult
from vigil.scoring.training_options import TrainingOptions


def _versions() -> dict[str, str]:
    names = ("vigil", "lightgbm", "scikit-learn", "duckdb", "numpy")
    return {"python": platform.python_version(), **{n: version(n) for n in names}}


def card(
    options: TrainingOptions,
    result: TrainingResult,
    evaluation: ModelEvaluation | None,
) -> dict:
    model = result.model
    features = {
        kind: [
            {"name": f, "monotone": m, "explains": part.groups[f]}
            for f, m in zip(part.features, part.monotone, strict=True)
        ]
        for kind, part in model.kinds.items()
    }
    params = options.lightgbm_params([])
    params.pop("monotone_constraints")
    return {
        "name": model.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
        "training_seconds": result.seconds,
        "data": {
            "scenarios": list(options.scenarios),
            "seed": options.seed,
            "populations": options.populations,
            "senders_per_population": options.senders,
            "calibration": f"every {options.calibration_every}th population, isotonic",
            "watchlist_share": options.watchlist_share,
            "randomisation": options.ranges.model_dump(mode="json"),
            "generated": [r.to_dict() for r in result.populations],
            "labelled_workspaces": result.labelled,
            "training_seeds": [r.seed for r in result.populations],
        },
        "model": {"rounds": options.rounds, "lightgbm": params},
        "features": features,
        "held_out": {
            kind: {
                "correction_bound": part.correction_bound,
                "checks": list(part.held_out_checks),
            }
            for kind, part in model.kinds.items()
        },
        "metrics": evaluation.to_dict() if evaluation else None,
    }


def card_markdown(body: dict, evaluation: ModelEvaluation | None) -> str:
    data = body["data"]
    generated = data["generated"]
    positives = {
        kind: sum(p["positives"][kind] for p in generated) for kind in ("sender", "beneficiary")
    }
    parties = {
        kind: sum(p["parties"][kind] for p in generated) for kind in ("sender", "beneficiary")
    }
    lines = [
        f"# Model card: {body['name']}",
        "",
        f"Created {body['created']} in {body['training_seconds']} s with "
        + ", ".join(f"{k} {v}" for k, v in body["versions"].items())
        + ".",
        "",
        "## What it does",
        "",
        "Ranks senders (offenders) and beneficiaries (facilitators) with gradient-boosted",
        "trees (LightGBM) over each party's features, indicator strengths and network",
        "features. Scores are probabilities calibrated by isotonic regression on held-out",
        "populations: a score is the rate of positives among parties scored alike *in the",
        "training mixture*, whose offender share is drawn from "
        f"{data['randomisation']['offender_share'][0]:.1%} to "
        f"{data['randomisation']['offender_share'][1]:.1%}; an institution with fewer",
        "offenders should read them as relative. Each score is explained per catalogue",
        "indicator from the model's own contributions (LightGBM `pred_contrib`).",
        "",
        "## Data",
        "",
        f"- {len(generated)} generated populations ({data['senders_per_population']:,} senders "
        f"before randomisation) around the scenarios {', '.join(data['scenarios'])}, "
        f"seeds {min(data['training_seeds'])}–{max(data['training_seeds'])} "
        f"(training seed {data['seed']}).",
        f"- {parties['sender']:,} senders ({positives['sender']:,} offenders) and "
        f"{parties['beneficiary']:,} beneficiaries ({positives['beneficiary']:,} facilitators).",
        f"- {data['calibration']}; {sum(p['watchlist'] for p in generated)} populations were "
        "scanned with a synthetic watchlist (some facilitators and offenders, a few mistakes).",
        f"- Real labelled workspaces: {len(data['labelled_workspaces'])}.",
        "",
        "Randomisation (factors multiply, drawn log-uniformly; shifts add):",
        "",
    ]
    for key, value in data["randomisation"].items():
        lines.append(f"- `{key}`: {value}")
    lines += ["", "## Features", ""]
    for kind, features in body["features"].items():
        lines.append(f"{kind} ({len(features)}; monotone +1/-1 where the typology says):")
        lines.append("")
        lines.append(
            ", ".join(
                f"`{f['name']}`" + (f" ({f['monotone']:+d})" if f["monotone"] else "")
                for f in features
            )
        )
        lines.append("")
    lines += [
        "## Populations left out",
        "",
        "The trees' correction to the expert's log-odds is bounded (`f / sqrt(1 + (f / c)²)`);",
        "`c` is the largest bound under which trees refitted without each look-alike population",
        "(one with parties in the expert's top 5 %), on one half of the populations, rank the",
        "other half's positives and that population at least as well as the expert (AP at the",
        "world's odds: positives at 1 in 1,000, the population 30 to 1), taken one step",
        "smaller. Unbounded: the same trees without the bound.",
        "",
    ]
    for kind, held_out in body["held_out"].items():
        lines += [
            f"{kind}: bound {held_out['correction_bound']}",
            "",
            "| trial | parties | positives | expert AP | model AP | unbounded AP |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {c['population']} | {c['parties']:,} | {c['positives']:,} | "
            f"{c['expert_ap']:.3f} | {c['model_ap']:.3f} | {c['unbounded_ap']:.3f} |"
            for c in held_out["checks"]
        ]
        lines.append("")
    lines += ["## Metrics", ""]
    if evaluation is not None:
        lines += [
            evaluation.title + ". AP = average precision; R@b = recall when the top b of "
            "parties are reviewed. Populations of the scenarios the training data was "
            "randomised around (fresh seeds); `benchmarks/model_quality.py` holds each "
            "scenario out of training in turn.",
            "",
            evaluation.to_markdown(),
            "",
        ]
    else:
        lines += ["Not evaluated.", ""]
    return "\n".join(lines)


def write_card(
    path: Path,
    options: TrainingOptions,
    result: TrainingResult,
    evaluation: ModelEvaluation | None,
) -> None:
    body = card(options, result, evaluation)
    (path / "model_card.json").write_text(json.dumps(body, indent=1) + "\n")
    (path / "model_card.md").write_text(card_markdown(body, evaluation))


def read_card(path: Path) -> dict:
    file = path / "model_card.json"
    return json.loads(file.read_text()) if file.is_file() else {}


def save_model(
    path: Path,
    model: RankingModel,
    options: TrainingOptions,
    result: TrainingResult,
    evaluation: ModelEvaluation | None,
) -> Path:
    model.save(path)
    write_card(path, options, result, evaluation)
    return path
