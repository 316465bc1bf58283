"""The scan as a list of declared stages, and the runner that executes them in order.

Each stage names the workspace tables it reads and writes and the scan parameters it takes,
so the runner (not the stage) decides what runs: a full scan runs every stage's `run`; an
increment (new payments into a workspace that already holds a scan) runs a stage's
`increment` where it has one, which recomputes only the rows the new payments reach.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.console import Console
from rich.progress import Progress

from vigil.errors import InputError
from vigil.indicators.catalogue import Catalogue
from vigil.ingest.validate import TimeRange
from vigil.workspace import Workspace

if TYPE_CHECKING:
    from vigil.workspace.spark import SparkOptions

ENGINES = ("duckdb", "spark")


@dataclass
class ScanContext:
    """What a stage may take: the workspace, the scan's parameters, and earlier results."""

    ws: Workspace
    out: Path
    inputs: Sequence[Path]
    catalogue: Catalogue
    watch: pl.DataFrame | None = None
    fx_rates: Path | None = None
    resolution: Path | None = None
    model: Path | None = None
    time_range: TimeRange | None = None  # plausible payment times (others are quarantined)
    layout: Path | None = None  # an institution's own CSV layout (vigil.ingest.layout)
    account_holder: str = "auto"  # which side a camt statement's owner is
    max_quarantine_share: float | None = 0.05  # more quarantined than this stops the run
    max_name_length: int | None = 200  # longer names are ingested with a warning
    reporters: Sequence[str | None] | None = None  # FIU mode: each input's reporter
    # True when the scan adds payments to a workspace whose derived tables are current for
    # everything before them (see vigil.pipeline.increment).
    increment: bool = False
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def quarantine(self) -> Path:
        return self.out / "quarantine.csv"


StageBody = Callable[[ScanContext], Any]


@dataclass(frozen=True)
class Stage:
    """One step of the scan. What `run` (or `increment`) returns is kept in
    `ScanContext.results[name]`; its time is summary.json's `stage_seconds[label.lower()]`."""

    name: str
    label: str  # what the progress bar says while it runs
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    params: tuple[str, ...]  # ScanContext fields the stage takes
    run: StageBody
    # Runs instead of `run` in an increment; None: the stage recomputes everything then too.
    increment: StageBody | None = None

    def body(self, increment: bool) -> StageBody:
        return self.increment if increment and self.increment is not None else self.run


def open_workspace(
    path: Path, engine: str = "duckdb", spark: SparkOptions | None = None
) -> Workspace:
    """The workspace a scan's stages run on: DuckDB's (the default), or the same file with a
    Spark session executing the stages' Ibis expressions over Parquet tables."""
    if engine == "duckdb":
        return Workspace.open(path)
    if engine == "spark":
        from vigil.workspace.spark import SparkOptions, SparkWorkspace

        return SparkWorkspace.open_spark(path, spark or SparkOptions())
    raise InputError(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")


def run_stages(
    stages: Sequence[Stage],
    context: ScanContext,
    *,
    progress: bool = False,
    cpu: dict[str, float] | None = None,
) -> dict[str, float]:
    """Runs `stages` in order; returns seconds per stage (rounded to 0.01). `cpu`, when
    given, receives each stage's CPU seconds of this process (every thread: DuckDB's too),
    which on a shared machine compare better than wall time."""
    _check_order(stages)
    timings: dict[str, float] = {}
    # A progress bar only on a terminal: elsewhere Rich leaves a blank line on stderr, in
    # front of any error message.
    stderr = Console(stderr=True)
    bar = (
        Progress(console=stderr, transient=True)
        if progress and stderr.is_terminal
        else nullcontext()
    )
    with bar as live:
        task = live.add_task(stages[0].label, total=len(stages)) if live and stages else None
        for i, stage in enumerate(stages):
            if live:
                live.update(task, description=stage.label, completed=i)
            started, cpu_started = time.perf_counter(), time.process_time()
            context.results[stage.name] = stage.body(context.increment)(context)
            context.ws.stage_done(stage.writes)
            timings[stage.label.lower()] = round(time.perf_counter() - started, 2)
            if cpu is not None:
                cpu[stage.label.lower()] = round(time.process_time() - cpu_started, 2)
        if live:
            live.update(task, completed=len(stages))
    return timings


def _check_order(stages: Sequence[Stage]) -> None:
    """A stage may read only `payments` and what an earlier stage writes: a declaration
    that is out of order fails before any work starts."""
    available = {"payments", "meta"}
    names: set[str] = set()
    for stage in stages:
        if stage.name in names:
            raise ValueError(f"two stages are named {stage.name!r}")
        names.add(stage.name)
        missing = [t for t in stage.reads if t not in available]
        if missing:
            raise ValueError(f"stage {stage.name!r} reads {missing} before any stage writes it")
        available.update(stage.writes)
