"""`vigil scan`: payments in, every sender and beneficiary ranked and explained out.

The scan is a runner over the stages declared in `vigil.pipeline.stages`; a scan into a
workspace that already holds a complete scan is an increment (`vigil.pipeline.increment`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from vigil.indicators.catalogue import Catalogue, load_catalogue
from vigil.indicators.watchlist import load_watchlist
from vigil.pipeline import increment
from vigil.pipeline.runner import ScanContext, run_stages
from vigil.pipeline.stages import SCAN_STAGES
from vigil.workspace import Workspace


@dataclass
class ScanResult:
    out: Path
    alerts: Path
    alerts_json: Path
    quarantine: Path
    summary: dict = field(default_factory=dict)

    def top(self, kind: str, n: int = 10) -> pl.DataFrame:
        alerts = pl.read_csv(self.alerts, infer_schema=False)
        return alerts.filter(pl.col("party_kind") == kind).head(n)


def scan(
    inputs: Sequence[Path],
    out: Path,
    *,
    workspace: Path | None = None,
    watchlist: Path | None = None,
    fx_rates: Path | None = None,
    catalogue: Catalogue | Path | None = None,
    resolution: Path | None = None,
    model: Path | None = None,
    progress: bool = False,
) -> ScanResult:
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    catalogue = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    watch = load_watchlist(watchlist) if watchlist else None
    with Workspace.open(workspace or out / "vigil.duckdb") as ws:
        context = ScanContext(
            ws=ws,
            out=out,
            inputs=inputs,
            catalogue=catalogue,
            watch=watch,
            fx_rates=fx_rates,
            resolution=resolution,
            model=model,
            increment=increment.can_increment(ws, catalogue),
        )
        timings = run_stages(SCAN_STAGES, context, progress=progress)
        increment.record_complete_scan(ws, catalogue, incremental=context.increment)
    results = context.results
    summary = {
        **results["ingest"].to_dict(),
        "parties": results["alerts"],
        "entities": results["resolution"].to_dict(),
        "graph": results["graph"].to_dict(),
        "workspace": str(workspace or out / "vigil.duckdb"),
        "run_seconds": round(time.perf_counter() - started, 2),
        "stage_seconds": timings,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return ScanResult(out, out / "alerts.csv", out / "alerts.json", context.quarantine, summary)
