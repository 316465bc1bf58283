"""The command line: each command parses its options and calls one function of the Python API."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli_support import console, err_console, user_errors
from vigil.errors import VigilError
from vigil.private_files import use_private_umask

app = typer.Typer(
    name="vigil",
    help="Find payers and facilitators of live-streamed child sexual abuse in payment data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: Rich's panels cut option help with "…" on an 80-column terminal, and
    # usage errors become a box instead of a line.
    rich_markup_mode=None,
)


@app.callback()
def _private_files() -> None:
    # Everything a command writes holds personal data: owner only (0600 files, 0700 folders).
    use_private_umask()


@app.command()
@user_errors
def generate(
    out: Annotated[Path, typer.Option(help="Folder for transactions.csv and labels.csv.")],
    senders: Annotated[
        int | None, typer.Option(min=1, help="Number of sending customers (default: scenario's).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 0,
    scenario: Annotated[
        str,
        typer.Option(help="Scenario YAML file, or the name of a shipped scenario."),
    ] = "default",
    exchanges: Annotated[
        bool, typer.Option("--exchanges", help="Also write chat and call exports (exchanges/).")
    ] = False,
    institutions: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Split the population over N institutions (inst-1..inst-N): a reporter "
            "column, and each institution's own files in institutions/inst-K/.",
        ),
    ] = None,
) -> None:
    """Write a synthetic payment population (transactions.csv, labels.csv, parties.csv)."""
    from vigil.synth import generate as run_generate

    result = run_generate(
        out, senders=senders, seed=seed, scenario=scenario, progress=True, institutions=institutions
    )
    console.print(result.render_makeup())
    if institutions is not None:
        console.print(
            f"Split over {institutions} institutions: reporter column in transactions.csv, "
            f"each institution's own files in {out / 'institutions'}/"
        )
    if exchanges:
        from vigil.synth.exchanges import write_exchanges

        made = write_exchanges(out, seed=seed)
        console.print(
            f"{len(made.files)} chat and call exports in {made.folder} ({made.manifest.name})"
        )


@app.command()
@user_errors
def evaluate(
    alerts: Annotated[Path, typer.Option(help="alerts.csv written by `vigil scan`.")],
    labels: Annotated[Path, typer.Option(help="labels.csv of the evaluation dataset.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Average precision, recall and precision at alert budgets, false positives by population."""
    from vigil.evaluation import evaluate as run_evaluate

    report = run_evaluate(alerts, labels)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        console.print(report.render())


@app.command()
@user_errors
def scan(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Payment files or folders: CSV, CSV.gz, Parquet, Excel (.xlsx, with a layout) "
            "or XML (ISO 20022 messages, goAML reports: .xml, .xml.gz); one dataset.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for alerts.csv, alerts.json, quarantine.csv.")
    ] = None,
    workspace: Annotated[
        Path | None, typer.Option(help="DuckDB workspace file (default: OUT/vigil.duckdb).")
    ] = None,
    layout: Annotated[
        Path | None,
        typer.Option(help="Layout YAML of the export (see `vigil layout suggest FILE`)."),
    ] = None,
    account_holder: Annotated[
        str,
        typer.Option(help="camt statements: the owner is the sender, beneficiary or auto."),
    ] = "auto",
    max_quarantine: Annotated[
        float, typer.Option(min=0, max=100, help="Stop when more than this % is quarantined.")
    ] = 5.0,
    accept_quarantine: Annotated[
        bool, typer.Option(help="Ingest whatever share of rows is quarantined.")
    ] = False,
    max_name_length: Annotated[
        int, typer.Option(min=1, help="Warn about names longer than this (characters).")
    ] = 200,
    reporter: Annotated[
        list[str] | None,
        typer.Option(
            help="FIU mode: the institution that reported an input, once per input in the "
            "order of the inputs (FILE --reporter A FILE --reporter B); '' for a file that "
            "names its reporters in its own `reporter` column. Sender ids are then unique "
            "only within their reporter.",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
    watchlist: Annotated[
        Path | None, typer.Option(help="CSV of known parties: kind, id, name, country, source.")
    ] = None,
    fx_rates: Annotated[
        Path | None, typer.Option(help="CSV currency,year,usd_per_unit replacing shipped rates.")
    ] = None,
    catalogue: Annotated[
        Path | None, typer.Option(help="Indicator catalogue YAML (default: the shipped one).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Rank with a learned model: its folder, or 'default' (trained once)."),
    ] = None,
    earliest: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Quarantine payments before this date (UTC; default: 30 years ago).",
        ),
    ] = None,
    latest: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Quarantine payments after this date (UTC; default: tomorrow).",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(help="Run the stages on duckdb (one machine) or spark (a cluster)."),
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(help="Spark master URL for --engine spark (default: local[2])."),
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option(help="Spark configuration KEY=VALUE for --engine spark; repeatable."),
    ] = None,
) -> None:
    """Ingest payments, score every sender and beneficiary, and explain each score."""
    from vigil.ingest.validate import TimeRange
    from vigil.scan import scan as run_scan

    if not inputs or out is None:
        missing = "INPUT" if not inputs else "--out DIR"
        raise VigilError(f"missing {missing}: vigil scan INPUT... --out DIR (see --help)")
    default = TimeRange.default()
    time_range = TimeRange(
        earliest.date() if earliest else default.earliest,
        latest.date() if latest else default.latest,
    )
    if time_range.earliest > time_range.latest:
        raise VigilError(f"--earliest {time_range.earliest} is after --latest {time_range.latest}")
    if model is not None:
        from vigil.scoring.model_build import resolve_model

        model = resolve_model(model)
    spark = None
    if engine == "spark":
        from vigil.workspace.spark import SparkOptions

        spark = SparkOptions.parse(spark_master, spark_conf or ())
    elif engine != "duckdb":
        raise VigilError(f"--engine {engine!r}: expected duckdb or spark")
    elif spark_master or spark_conf:
        raise VigilError("--spark-master and --spark-conf need --engine spark")
    result = run_scan(
        inputs,
        out,
        workspace=workspace,
        watchlist=watchlist,
        fx_rates=fx_rates,
        catalogue=catalogue,
        model=model,
        progress=True,
        time_range=time_range,
        layout=layout,
        account_holder=account_holder,
        max_quarantine_share=None if accept_quarantine else max_quarantine / 100,
        max_name_length=max_name_length,
        engine=engine,
        spark=spark,
        reporters=reporter,
    )
    summary = result.summary
    if "message" in summary:
        err_console.print(summary["message"])
    for warning in summary.get("warnings", []):
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    console.print(
        f"Read {summary['rows_read']:,} rows: {summary['rows_ingested']:,} ingested, "
        f"{summary['rows_quarantined']:,} quarantined. Scored "
        f"{summary['parties']['sender']:,} senders and "
        f"{summary['parties']['beneficiary']:,} beneficiaries in {summary['run_seconds']} s."
    )
    if summary.get("reporters"):  # FIU mode
        console.print(
            "Reporters: "
            + ", ".join(
                f"{name} ({counts['senders']:,} sender{'s' if counts['senders'] != 1 else ''})"
                for name, counts in summary["reporters"].items()
            ),
            highlight=False,
        )
    console.print(f"Alerts: {result.alerts}  Explanations: {result.alerts_json}")


@app.command()
@user_errors
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo data and results.")] = Path(
        "demo-output"
    ),
    senders: Annotated[int, typer.Option(min=100, help="Customers to simulate.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    model: Annotated[
        bool,
        typer.Option(
            "--model/--no-model",
            help="Rank with the default learned model (trained on first use) instead of the "
            "expert weights, the recommended ranking (the model ranks worse than them on "
            "look-alike populations it has not seen; see the README).",
        ),
    ] = False,
) -> None:
    """Generate a population, scan it, and print the top alerts with their reasons."""
    from vigil.demo import run_demo

    run_demo(out, senders=senders, seed=seed, console=console, use_model=model)


report_app = typer.Typer(
    help="Reports for one party: goAML STR, evidence package.", rich_markup_mode=None
)
export_app = typer.Typer(help="Exports for partner agencies.", rich_markup_mode=None)
app.add_typer(report_app, name="report")
app.add_typer(export_app, name="export")

WorkspaceOption = Annotated[Path, typer.Option(help="DuckDB workspace written by `vigil scan`.")]
PartyOption = Annotated[str, typer.Option("--party-id", help="A sender_id or beneficiary_id.")]
KindOption = Annotated[
    str | None,
    typer.Option(help="sender or beneficiary, when an id is both."),
]


@report_app.command("goaml")
@user_errors
def report_goaml(
    workspace: WorkspaceOption,
    party_id: PartyOption,
    out: Annotated[Path, typer.Option(help="The goAML XML file to write.")],
    fiu_config: Annotated[
        Path | None, typer.Option(help="FIU config YAML (XSD, codes, reporting entity).")
    ] = None,
    party_kind: KindOption = None,
) -> None:
    """A goAML suspicious transaction report, validated against the FIU's XSD first."""
    from vigil.reports.goaml import write_goaml_report

    path = write_goaml_report(
        workspace, party_id, out, fiu_config=fiu_config, party_kind=party_kind
    )
    console.print(f"goAML report written and valid against the FIU's XSD: {path}")


@report_app.command("evidence")
@user_errors
def report_evidence(
    workspace: WorkspaceOption,
    party_id: PartyOption,
    out: Annotated[Path, typer.Option(help="Folder for the evidence package.")],
    party_kind: KindOption = None,
) -> None:
    """The evidence package (HTML and PDF, with a SHA-256 manifest) for one party."""
    from vigil.reports.evidence import write_evidence_package

    package = write_evidence_package(workspace, party_id, out, party_kind=party_kind)
    console.print(f"Evidence package written to {package.out} ({len(package.files)} files).")


@report_app.command("cooperation")
@user_errors
def report_cooperation(
    workspace: WorkspaceOption,
    party_id: PartyOption,
    out: Annotated[Path, typer.Option(help="Folder for the cooperation package.")],
    party_kind: KindOption = None,
) -> None:
    """The package for partner-country police about one facilitator (PDF, CSV, FtM, annexes
    per payer country, SHA-256 manifest)."""
    from vigil.reports.cooperation import write_cooperation_package

    package = write_cooperation_package(workspace, party_id, out, party_kind=party_kind)
    console.print(
        f"Cooperation package written to {package.out} ({len(package.files)} files; annexes "
        f"for {', '.join(package.countries)})."
    )


@export_app.command("ftm")
@user_errors
def export_ftm(
    workspace: WorkspaceOption,
    out: Annotated[Path, typer.Option(help="FollowTheMoney JSON lines file to write.")],
    party_id: Annotated[
        list[str] | None, typer.Option("--party-id", help="A party to export (repeatable).")
    ] = None,
    case: Annotated[
        str | None, typer.Option("--case", help="A case to export (id or reference).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="VIGIL_DATABASE_URL",
            help="Case store for --case (default: cases.sqlite beside the workspace).",
        ),
    ] = None,
) -> None:
    """FollowTheMoney entities (people, accounts, payments) for Aleph / OpenAleph."""
    from vigil.reports.ftm import export_ftm as run_export

    count = run_export(
        workspace, out, party_ids=party_id or None, case_id=case, database_url=database_url
    )
    console.print(f"{count:,} FollowTheMoney entities written to {out}")


@app.command()
@user_errors
def network(
    workspace: WorkspaceOption,
    party_id: PartyOption,
    out: Annotated[Path, typer.Option(help="JSON file to write (nodes and edges).")],
    hops: Annotated[int, typer.Option(min=1, max=4, help="Payment hops from the party.")] = 1,
    party_kind: KindOption = None,
    max_nodes: Annotated[
        int, typer.Option(min=2, help="Most nodes to keep (riskiest first).")
    ] = 200,
) -> None:
    """The neighbourhood of a party: nodes with scores and roles, edges with payments and totals."""
    from vigil.network.neighbourhood import neighbourhood
    from vigil.workspace import Workspace

    if not workspace.is_file():
        raise VigilError(f"{workspace}: no such workspace (run `vigil scan` first)")
    with Workspace.open(workspace, read_only=True) as ws:
        graph = neighbourhood(ws, party_id, kind=party_kind, hops=hops, max_nodes=max_nodes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(graph, indent=2, ensure_ascii=False) + "\n")
    more = " (truncated: the riskiest parties kept)" if graph["truncated"] else ""
    console.print(
        f"{len(graph['nodes'])} parties and {len(graph['edges'])} payment links written to {out}"
        f"{more}"
    )


@app.command()
@user_errors
def leads(
    workspace: WorkspaceOption,
    out: Annotated[Path, typer.Option(help="Folder for leads.csv, leads.json, leads_map.png.")],
    min_score: Annotated[
        float | None,
        typer.Option(
            help="Beneficiaries scoring this or more count as suspected facilitators "
            "(default: the catalogue's suspicious_score)."
        ),
    ] = None,
) -> None:
    """Places (cities, collection points) ranked as victim-location leads."""
    from vigil.reports.leads import write_leads

    result = write_leads(workspace, out, min_score=min_score)
    cities = result.places.filter(result.places["level"] == "city")
    top = ", ".join(cities.head(3)["place"].to_list())
    console.print(
        f"{result.places.height:,} places ranked ({cities.height:,} cities; first by "
        f"facilitator households: {top}) in {result.csv}; map {result.map}"
    )


# Command groups that live beside their stage (one line each; keep this block sorted).
# --- command groups ---
from vigil.api.keys_cli import api_keys_app  # noqa: E402
from vigil.cases.commands import audit_app, cases_app, users_app  # noqa: E402
from vigil.evaluation.backtest_cli import backtest_command  # noqa: E402
from vigil.exchanges.cli import exchanges_app  # noqa: E402
from vigil.ingest.layout_cli import layout_app  # noqa: E402
from vigil.scoring.model_cli import model_app  # noqa: E402
from vigil.share.cli import share_app  # noqa: E402
from vigil.web.cli import serve  # noqa: E402

app.add_typer(api_keys_app, name="api-keys")
app.add_typer(audit_app, name="audit")
app.command("backtest")(backtest_command)
app.add_typer(cases_app, name="cases")
app.add_typer(layout_app, name="layout")
app.add_typer(exchanges_app, name="exchanges")
app.add_typer(model_app, name="model")
app.command("serve")(serve)
app.add_typer(share_app, name="share")
app.add_typer(users_app, name="users")
# --- end of command groups ---


def main() -> None:
    app()


if __name__ == "__main__":
    main()
