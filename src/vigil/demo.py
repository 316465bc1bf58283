"""`vigil demo`: generate, scan, evaluate, and show the top of the ranking."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from vigil.cases.store import CaseStore, default_database_url
from vigil.evaluation import evaluate
from vigil.scan import scan
from vigil.scoring.model_build import default_model
from vigil.synth import generate
from vigil.web.demo_users import LOGINS_FILE, ensure_demo_users


def run_demo(
    out: Path, *, senders: int, seed: int, console: Console, use_model: bool = False
) -> None:
    out = Path(out)
    data = out / "data"
    generated = generate(data, senders=senders, seed=seed, progress=True)
    console.print(generated.render_makeup())
    results = out / "results"
    if (results / "vigil.duckdb").exists():
        (results / "vigil.duckdb").unlink()  # a demo starts from a fresh workspace
    # The expert weights are the recommended ranking; the learned one (trained reproducibly
    # on first use, a few minutes, cached) only on request: on look-alike populations it was
    # not trained on it ranks worse (benchmarks/hard_quality.py --lopo).
    model = default_model(progress=True) if use_model else None
    result = scan([generated.transactions], results, progress=True, model=model)
    labels = pl.read_csv(generated.labels, infer_schema=False)
    for kind, title in (("sender", "senders"), ("beneficiary", "beneficiaries")):
        top = result.top(kind).join(
            labels.filter(pl.col("party_kind") == kind).select("party_id", "role"),
            on="party_id",
            how="left",
            maintain_order="left",
        )
        table = Table(title=f"Top ten {title}")
        for column in ("rank", "party", "score", "indicators (largest first)", "truth"):
            table.add_column(column, overflow="fold")
        for row in top.iter_rows(named=True):
            table.add_row(
                row["rank"], row["party_id"], row["score"], row["indicators"], row["role"] or ""
            )
        console.print(table)
        for row in top.head(3).iter_rows(named=True):
            console.print(f"  {row['party_id']}: {row['top_reason']}", highlight=False)
    console.print(evaluate(result.alerts, generated.labels).render())
    workspace = result.out / "vigil.duckdb"
    console.print(
        f"\nResults: {result.alerts} (every party, ranked), {result.alerts_json} (explanations),"
        f" {result.out / 'summary.json'}; workspace {workspace}."
        "\nThe 'truth' column comes from the synthetic labels, which a real scan never has."
    )
    _offer_the_app(workspace, out / LOGINS_FILE, console)


def _offer_the_app(workspace: Path, logins: Path, console: Console) -> None:
    """Demo users of every role, and how to open the web app with one of them."""
    with CaseStore.open(default_database_url(workspace)) as store:
        users = ensure_demo_users(store, logins)
    names = ", ".join(f"{name} ({role})" for name, _, role in users)
    console.print(
        "\n[bold]Web app[/]: run\n"
        f"  .venv/bin/vigil serve --workspace {workspace}\n"
        "then open http://127.0.0.1:8000 and log in as [bold]analyst[/] with the password in "
        f"{logins} (only you can read it). Demo users: {names}.",
        highlight=False,
    )
