"""`vigil backtest`: recall against alert budget for several rankings of one dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli_support import console, user_errors


@user_errors
def backtest_command(
    labels: Annotated[Path, typer.Option(help="labels.csv of the dataset the alerts rank.")],
    alerts: Annotated[
        list[Path], typer.Option(help="An alerts.csv (repeatable: one per ranking).")
    ],
    name: Annotated[
        list[str] | None, typer.Option(help="A name for each --alerts, in the same order.")
    ] = None,
    target_recall: Annotated[
        float, typer.Option(min=0.01, max=1.0, help="Recall whose alert budget is reported.")
    ] = 0.8,
    out: Annotated[
        Path | None, typer.Option(help="Folder for backtest.png and backtest.json.")
    ] = None,
) -> None:
    """Recall against alert budget for each ranking, and the budget reaching a target recall."""
    from vigil.evaluation.backtest import backtest

    result = backtest(labels, alerts, names=name, target_recall=target_recall, out=out)
    console.print(result.render())
    if result.chart:
        console.print(f"Chart: {result.chart}  Figures: {result.report}")
