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
from typing import TYPE_CHECKING

import polars as pl

from vigil.indicators.catalogue import Catalogue, load_catalogue
from vigil.indicators.watchlist import load_watchlist
from vigil.ingest.validate import TimeRange
from vigil.pipeline import increment
from vigil.pipeline.runner import ScanContext, open_workspace, run_stages
from vigil.pipeline.stages import SCAN_STAGES
from vigil.private_files import private_folder
from vigil.schema import PARTY_KINDS as KINDS

if TYPE_CHECKING:
    from vigil.workspace import Workspace
    from vigil.workspace.spark import SparkOptions


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
    time_range: TimeRange | None = None,
    layout: Path | None = None,
    account_holder: str = "auto",
    max_quarantine_share: float | None = 0.05,
    max_name_length: int | None = 200,
    engine: str = "duckdb",
    spark: SparkOptions | None = None,
    reporters: Sequence[str | None] | None = None,
) -> ScanResult:
    """Ingest `inputs`, score every party and write alerts into `out`. `engine` runs the
    stages on DuckDB (the default) or on Spark (`spark`: master and configuration); a Spark
    scan always recomputes every stage. `reporters` (FIU mode): the reporting institution of
    each input, in order; a sender id is then unique only within its reporter."""
    started = time.perf_counter()
    out = private_folder(Path(out))
    catalogue = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    watch = load_watchlist(watchlist) if watchlist else None
    with open_workspace(workspace or out / "vigil.duckdb", engine, spark) as ws:
        context = ScanContext(
            ws=ws,
            out=out,
            inputs=inputs,
            catalogue=catalogue,
            watch=watch,
            fx_rates=fx_rates,
            resolution=resolution,
            model=model,
            time_range=time_range,
            layout=layout,
            account_holder=account_holder,
            max_quarantine_share=max_quarantine_share,
            max_name_length=max_name_length,
            reporters=reporters,
            increment=engine == "duckdb" and increment.can_increment(ws, catalogue),
        )
        ws.mark_scan_started()
        ingest_stage, *rest = SCAN_STAGES
        cpu: dict[str, float] = {}
        timings = run_stages([ingest_stage], context, progress=progress, cpu=cpu)
        if not ws.count("payments"):  # nothing to score: say so, and write empty results
            ws.mark_scan_complete()
            return _nothing_to_score(out, context, started)
        timings |= run_stages(rest, context, progress=progress, cpu=cpu)
        finishing = time.perf_counter()
        ws.finish()
        if engine != "duckdb":  # the Parquet tables stored in the workspace file
            timings["storing"] = round(time.perf_counter() - finishing, 2)
        increment.record_complete_scan(ws, catalogue, incremental=context.increment)
        ws.mark_scan_complete()
        reporters = _reporters(ws)
    results = context.results
    summary = {
        **results["ingest"].to_dict(),
        "parties": results["alerts"],
        "entities": results["resolution"].to_dict(),
        "graph": results["graph"].to_dict(),
        **({"reporters": reporters} if reporters else {}),
        "workspace": str(workspace or out / "vigil.duckdb"),
        "engine": engine,
        "run_seconds": round(time.perf_counter() - started, 2),
        "stage_seconds": timings,
        "stage_cpu_seconds": cpu,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return ScanResult(out, out / "alerts.csv", out / "alerts.json", context.quarantine, summary)


def _reporters(ws: Workspace) -> dict[str, dict[str, int]]:
    """FIU mode: the senders and payments each reporter reported (empty outside it), from
    the alerts just written (each sender once, with its reporter and payments)."""
    rows = ws.con.execute(
        """SELECT reporter, count(*), sum(payments) FROM alerts
           WHERE party_kind = 'sender' AND reporter IS NOT NULL
           GROUP BY reporter ORDER BY reporter"""
    ).fetchall()
    return {name: {"senders": senders, "payments": n} for name, senders, n in rows}


ALERTS_HEADER = (
    "party_kind",
    "party_id",
    "score",
    "rank",
    "indicators",
    "name",
    "country",
    "payments",
    "total_usd",
    "top_reason",
    "best_typology",
)


def _nothing_to_score(out: Path, context: ScanContext, started: float) -> ScanResult:
    """A workspace without one valid payment: valid, empty alerts and a message why."""
    alerts, alerts_json = out / "alerts.csv", out / "alerts.json"
    alerts.write_text(",".join(ALERTS_HEADER) + "\n", encoding="utf-8")
    alerts_json.write_text("[]\n", encoding="utf-8")
    summary = {
        **context.results["ingest"].to_dict(),
        "parties": dict.fromkeys(KINDS, 0),
        "message": f"no valid payment to score: every row read is in {context.quarantine}",
        "run_seconds": round(time.perf_counter() - started, 2),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return ScanResult(out, alerts, alerts_json, context.quarantine, summary)
