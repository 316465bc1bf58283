"""`vigil model train|evaluate`: the learned ranking model from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli_support import console, user_errors
from vigil.errors import ConfigError
from vigil.scoring.training_options import TrainingOptions
from vigil.synth.scenario import SHIPPED

ALL_SCENARIOS = ",".join(SHIPPED)
DEFAULTS = TrainingOptions()

model_app = typer.Typer(help="The learned ranking model: train it, evaluate it.")

ScenariosOption = Annotated[str, typer.Option(help="Comma-separated scenario names or YAML files.")]


def _scenarios(text: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if not names:
        raise ConfigError("--scenarios: name at least one scenario")
    return names


@model_app.command("train")
@user_errors
def train(
    out: Annotated[Path | None, typer.Option(help="Folder for the model and its card.")] = None,
    scenarios: ScenariosOption = ALL_SCENARIOS,
    populations: Annotated[
        int, typer.Option(min=1, help="Randomised populations to generate.")
    ] = DEFAULTS.populations,
    senders: Annotated[
        int, typer.Option(min=100, help="Senders per population.")
    ] = DEFAULTS.senders,
    seed: Annotated[int, typer.Option(min=0, help="Training seed: same seed, same model.")] = 0,
    rounds: Annotated[int, typer.Option(min=1, help="Boosting rounds.")] = DEFAULTS.rounds,
    labels: Annotated[
        list[Path] | None,
        typer.Option(help="labels.csv of a real workspace (repeatable, with --workspace)."),
    ] = None,
    workspace: Annotated[
        list[Path] | None,
        typer.Option(help="The scanned workspace those labels are for (repeatable)."),
    ] = None,
    evaluate_senders: Annotated[
        int, typer.Option(min=0, help="Senders per evaluation population (0: no evaluation).")
    ] = 8000,
    default: Annotated[
        bool, typer.Option("--default", help="Build the default model into the cache.")
    ] = False,
) -> None:
    """Train on randomised generated populations (and labelled workspaces); write the card."""
    from vigil.scoring.model_build import build_model, default_model
    from vigil.scoring.training_options import LabelledWorkspace

    if default:
        path = default_model(progress=True)
        console.print(f"Default model: {path} (card: {path / 'model_card.md'})")
        return
    if out is None:
        raise ConfigError("--out: name the folder for the model (or pass --default)")
    labels, workspace = labels or [], workspace or []
    if len(labels) != len(workspace):
        raise ConfigError("--labels and --workspace come in pairs: one labels file per workspace")
    for path in [*labels, *workspace]:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
    options = TrainingOptions(
        scenarios=_scenarios(scenarios),
        populations=populations,
        senders=senders,
        seed=seed,
        rounds=rounds,
        labelled=tuple(
            LabelledWorkspace(lab, ws) for lab, ws in zip(labels, workspace, strict=True)
        ),
    )
    result, evaluation = build_model(
        out,
        options,
        evaluate_senders=evaluate_senders,
        progress=True,
        evaluate_on=SHIPPED if evaluate_senders else (),
    )
    if evaluation is not None:
        console.print(evaluation.render())
    console.print(
        f"Model written to {out} in {result.seconds} s "
        f"({len(result.populations)} populations); card: {out / 'model_card.md'}"
    )


@model_app.command("evaluate")
@user_errors
def evaluate(
    model: Annotated[
        str, typer.Option(help="Model folder, or 'default' for the default model.")
    ] = "default",
    scenarios: ScenariosOption = ALL_SCENARIOS,
    senders: Annotated[int, typer.Option(min=100, help="Senders per population.")] = 8000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the fresh populations.")] = 5,
    temporal: Annotated[
        bool,
        typer.Option(
            "--temporal", help="Also learn from each population's first half, rank the second."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """The model against the expert score on fresh populations (seeds training never used)."""
    from vigil.scoring.model import RankingModel
    from vigil.scoring.model_build import resolve_model
    from vigil.scoring.model_evaluation import evaluate_model, evaluate_temporal

    loaded = RankingModel.load(resolve_model(model))  # type: ignore[arg-type]
    names = _scenarios(scenarios)
    results = [evaluate_model(loaded, names, senders=senders, seed=seed)]
    if temporal:
        results.append(evaluate_temporal(names, senders=senders, seed=seed, model=loaded))
    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return
    for result in results:
        console.print(result.render())
