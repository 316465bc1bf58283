"""The evidence package for one party: HTML and PDF for investigators and prosecutors.

`evidence_figures` turns a party's facts into the package's figures (polars, table to
table); `write_evidence_package` draws the charts, renders the HTML and PDF, writes the
payment list as a formula-safe CSV and a SHA-256 manifest of every file. Names and ids are
personal data: nothing here logs them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, StrictUndefined

from vigil.errors import VigilError
from vigil.exchanges.timeline import TimelineRow, party_timeline, timeline_frame
from vigil.geo import main_time_zone
from vigil.reports import charts
from vigil.reports.exchange_charts import exchange_timeline_chart
from vigil.reports.party import PartyFacts, load_party
from vigil.reports.safe_csv import write_safe_csv
from vigil.reports.sources import load_sources, source_tags
from vigil.schema import PARTY_KIND_PLURALS as PLURAL
from vigil.workspace import Workspace

HTML_FILE = "evidence.html"
PDF_FILE = "evidence.pdf"
CSV_FILE = "payments.csv"
TIMELINE_FILE = "timeline.csv"  # messages, calls and payments, when exchanges exist
MANIFEST_FILE = "manifest.json"
CHECKSUM_FILE = "manifest.sha256"
CHARTS_DIR = "charts"
# the network figure stays legible with this many nodes per ring; the tables list them all
NETWORK_RING_MAX = 24
CLIP_LENGTH = 120  # characters of a name, id or narrative in the PDF's tables
# Rows of the PDF's payment list (the first half and the last half in time), and of its
# exchange timeline. WeasyPrint spends ~13 ms per table row (styles, layout, drawing): the
# package of 2,148 payments took 30 s, 29 of them for a 101-page PDF, 5.4 s with this cut.
# Every figure is still computed from all payments; evidence.html, payments.csv and
# timeline.csv list every row.
PDF_ROWS_MAX = 200

# the columns of payments.csv, in order (the `payments` table has a few more)
CSV_COLUMNS = [
    "txn_id",
    "ts_utc",
    "ts_local",
    "sender_id",
    "sender_name",
    "sender_country",
    "beneficiary_id",
    "beneficiary_name",
    "beneficiary_country",
    "beneficiary_city",
    "amount",
    "currency",
    "amount_reporting",
    "channel",
    "narrative",
    "source_file",
    "source_row",
]

ROLE = {"sender": "payer", "beneficiary": "facilitator"}


@dataclass(frozen=True)
class EvidenceFigures:
    """The package's figures for one party, all computed from its payments."""

    facts: PartyFacts
    payments: int
    counterparties: int
    total_reporting: float
    first_payment: dict[str, Any] | None
    last_payment: dict[str, Any] | None
    # year (UTC), payments, amount_reporting
    per_year: pl.DataFrame
    # party_id, name, country, payments, amount_reporting, first_ts, last_ts, score, rank,
    # indicators
    per_counterparty: pl.DataFrame
    # currency, payments, amount (in that currency), amount_reporting
    per_currency: pl.DataFrame
    # month (first day, UTC), payments, amount_reporting
    monthly: pl.DataFrame
    # hour, payments: in the sender's local time (the offset given with each payment)
    hours_sender: pl.DataFrame
    # hour, payments: in the beneficiary's local time (main zone of their country)
    hours_beneficiary: pl.DataFrame
    # payments whose hour is unknown on each side (no offset / no known zone)
    hours_sender_unknown: int
    hours_beneficiary_unknown: int

    @property
    def reporting_currency(self) -> str:
        return self.facts.reporting_currency

    def summary(self) -> dict[str, Any]:
        """The figures as plain data (what the HTML states), for tests and notebooks."""
        f = self.facts
        return {
            "party_kind": f.kind,
            "party_id": f.party_id,
            "score": f.score,
            "rank": f.rank,
            "parties_of_kind": f.parties_of_kind,
            "reporting_currency": f.reporting_currency,
            "payments": self.payments,
            "counterparties": self.counterparties,
            "co_parties": f.co_parties.height,
            "total_reporting": round(self.total_reporting, 2),
            "first_payment_utc": self.first_payment and self.first_payment["ts_utc"],
            "last_payment_utc": self.last_payment and self.last_payment["ts_utc"],
            "per_year": {
                r["year"]: {"payments": r["payments"], "amount": round(r["amount_reporting"], 2)}
                for r in self.per_year.to_dicts()
            },
            "per_counterparty": {
                r["party_id"]: {
                    "payments": r["payments"],
                    "amount": round(r["amount_reporting"], 2),
                }
                for r in self.per_counterparty.to_dicts()
            },
            "per_currency": {
                r["currency"]: {
                    "payments": r["payments"],
                    "amount": r["amount"],
                    "amount_reporting": round(r["amount_reporting"], 2),
                }
                for r in self.per_currency.to_dicts()
            },
            "indicators": f.contributions["indicator"].to_list(),
        }


@dataclass(frozen=True)
class EvidencePackage:
    """What `write_evidence_package` wrote: the folder, its files and the figures."""

    out: Path
    files: list[Path]
    figures: EvidenceFigures
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        return self.figures.summary()


def _hours(frame: pl.DataFrame, local: pl.Expr) -> pl.DataFrame:
    return (
        frame.select(local.dt.hour().cast(pl.Int32).alias("hour"))
        .drop_nulls()
        .group_by("hour")
        .agg(payments=pl.len())
        .sort("hour")
    )


def _beneficiary_local(payments: pl.DataFrame) -> pl.DataFrame:
    """ts_local_beneficiary (naive wall-clock time) for payments whose country has a zone.

    Polars converts one zone per expression, so the loop is over the few zones present,
    never over payments.
    """
    zones = main_time_zone()
    with_zone = payments.select(
        "ts_utc",
        pl.col("beneficiary_country")
        .replace_strict(zones, default=None, return_dtype=pl.String)
        .alias("zone"),
    ).drop_nulls()
    parts = [
        part.select(
            pl.col("ts_utc")
            .dt.replace_time_zone("UTC")
            .dt.convert_time_zone(zone)
            .dt.replace_time_zone(None)
            .alias("ts_local_beneficiary")
        )
        for (zone,), part in with_zone.partition_by("zone", as_dict=True).items()
    ]
    if not parts:
        return pl.DataFrame(schema={"ts_local_beneficiary": pl.Datetime("us")})
    return pl.concat(parts)


def _payment_point(row: dict[str, Any], their: str) -> dict[str, Any]:
    return {
        "txn_id": row["txn_id"],
        "ts_utc": row["ts_utc"],
        "ts_local": row["ts_local"],
        "amount": row["amount"],
        "currency": row["currency"],
        "amount_reporting": row["amount_reporting"],
        "counterparty_id": row[f"{their}_id"],
    }


def evidence_figures(facts: PartyFacts) -> EvidenceFigures:
    """Totals per year, counterparty and currency, first and last payment, hour profiles."""
    p = facts.payments
    their = facts.counterparty_kind
    per_year = (
        p.group_by(pl.col("ts_utc").dt.year().alias("year"))
        .agg(payments=pl.len(), amount_reporting=pl.col("amount_reporting").sum())
        .sort("year")
    )
    per_currency = (
        p.group_by("currency")
        .agg(
            payments=pl.len(),
            amount=pl.col("amount").sum(),
            amount_reporting=pl.col("amount_reporting").sum(),
        )
        .sort(["amount_reporting", "currency"], descending=[True, False])
    )
    per_counterparty = (
        p.group_by(pl.col(f"{their}_id").alias("party_id"))
        .agg(
            name=pl.col(f"{their}_name").last(),
            country=pl.col(f"{their}_country").last(),
            payments=pl.len(),
            amount_reporting=pl.col("amount_reporting").sum(),
            first_ts=pl.col("ts_utc").min(),
            last_ts=pl.col("ts_utc").max(),
        )
        .join(
            facts.counterparties.select("party_id", "score", "rank", "indicators"),
            on="party_id",
            how="left",
        )
        .sort(["amount_reporting", "party_id"], descending=[True, False])
    )
    monthly = (
        p.group_by(pl.col("ts_utc").dt.truncate("1mo").dt.date().alias("month"))
        .agg(payments=pl.len(), amount_reporting=pl.col("amount_reporting").sum())
        .sort("month")
    )
    if monthly.height:  # months without payments are shown as zero, not skipped
        every_month = pl.DataFrame(
            {
                "month": pl.date_range(
                    monthly["month"].min(), monthly["month"].max(), "1mo", eager=True
                )
            }
        )
        monthly = every_month.join(monthly, on="month", how="left").fill_null(0)
    sender_local = pl.col("ts_utc") + pl.duration(
        minutes=pl.col("sender_utc_offset_minutes").cast(pl.Int64)
    )
    hours_sender = _hours(p, sender_local)
    beneficiary_local = _beneficiary_local(p)
    hours_beneficiary = _hours(beneficiary_local, pl.col("ts_local_beneficiary"))
    totals = p.select(
        payments=pl.len(),
        counterparties=pl.col(f"{their}_id").n_unique(),
        total=pl.col("amount_reporting").sum(),
    ).row(0, named=True)
    return EvidenceFigures(
        facts=facts,
        payments=totals["payments"],
        counterparties=totals["counterparties"],
        total_reporting=float(totals["total"] or 0.0),
        first_payment=_payment_point(p.row(0, named=True), their) if p.height else None,
        last_payment=_payment_point(p.row(-1, named=True), their) if p.height else None,
        per_year=per_year,
        per_counterparty=per_counterparty,
        per_currency=per_currency,
        monthly=monthly,
        hours_sender=hours_sender,
        hours_beneficiary=hours_beneficiary,
        hours_sender_unknown=p.height - int(hours_sender["payments"].sum()),
        hours_beneficiary_unknown=p.height - int(hours_beneficiary["payments"].sum()),
    )


def _co_party_links(
    ws: Workspace, facts: PartyFacts, co_ids: list[str], cp_ids: list[str]
) -> pl.DataFrame:
    """Payments between the shown co-parties and the shown counterparties."""
    own, their = f"{facts.kind}_id", f"{facts.counterparty_kind}_id"
    schema = {"co_party_id": pl.String, "counterparty_id": pl.String, "payments": pl.Int64}
    if not co_ids or not cp_ids:
        return pl.DataFrame(schema=schema)
    rows = ws.con.execute(
        f"""SELECT {own}, {their}, payments::BIGINT FROM pair_features
            WHERE list_contains(?::VARCHAR[], {own}) AND list_contains(?::VARCHAR[], {their})""",
        [co_ids, cp_ids],
    ).fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")


def _draw_charts(figures: EvidenceFigures, links: pl.DataFrame, folder: Path) -> dict[str, str]:
    f = figures.facts
    folder.mkdir(parents=True, exist_ok=True)
    payer = "payer" if f.kind == "beneficiary" else "sender"
    paths = {
        "timeline": charts.timeline_chart(
            figures.monthly, f.reporting_currency, folder / "timeline.png"
        ),
        "hours_sender": charts.hour_chart(
            figures.hours_sender,
            f"Hour of payment, {payer}'s local time",
            folder / "hours_sender.png",
            note=f"{figures.hours_sender_unknown} without offset"
            if figures.hours_sender_unknown
            else "",
        ),
        "hours_beneficiary": charts.hour_chart(
            figures.hours_beneficiary,
            "Hour of payment, beneficiary's local time",
            folder / "hours_beneficiary.png",
            note=f"{figures.hours_beneficiary_unknown} without known zone"
            if figures.hours_beneficiary_unknown
            else "",
        ),
        "network": charts.network_chart(
            charts.NetworkNode(f.party_id, 0, f.score),
            f.counterparties.head(NETWORK_RING_MAX).select("party_id", "score", "payments"),
            f.co_parties.head(NETWORK_RING_MAX).select("party_id", "score"),
            links,
            folder / "network.png",
            counterparty_label="beneficiaries" if f.kind == "sender" else "payers",
            co_party_label="co-payers" if f.kind == "sender" else "co-facilitators",
        ),
    }
    return {name: path.relative_to(folder.parent).as_posix() for name, path in paths.items()}


def _money(value: float | Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _indicator_rows(facts: PartyFacts) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Each fired indicator with its full source references, and every source cited once."""
    known = load_sources()
    rows, cited = [], {}
    for row in facts.contributions.to_dicts():
        refs = []
        for tag in source_tags(row["sources"]):
            ref = {"tag": tag, **known[tag].model_dump()} if tag in known else {"tag": tag}
            refs.append(ref)
            cited.setdefault(tag, ref)
        rows.append({**row, "references": refs})
    order = sorted(cited, key=lambda t: int(t[1:]))
    return rows, [cited[t] for t in order]


def _template_env() -> Environment:
    env = Environment(
        loader=PackageLoader("vigil.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["when"] = _when
    env.filters["clip"] = _clip
    env.globals["clip_length"] = CLIP_LENGTH
    return env


def _clip(value: object) -> str:
    """Text for a table cell of the PDF: a 5,000-character name would fill pages per row."""
    text = "" if value is None else str(value)
    return text if len(text) <= CLIP_LENGTH else text[: CLIP_LENGTH - 1] + "…"


def render_evidence_html(
    figures: EvidenceFigures,
    chart_paths: dict[str, str],
    generated_at: str,
    version: str,
    *,
    case_reference: str | None = None,
    prepared_by: str | None = None,
    timeline: list[TimelineRow] | None = None,
    rows_max: int | None = None,
) -> str:
    """The evidence report as HTML (chart paths relative to the package folder); its header
    names the case and the user it was prepared for, when given. With `rows_max` (the
    PDF's), the payment list and the exchange timeline are cut to about that many rows."""
    f = figures.facts
    indicators, references = _indicator_rows(f)
    their = f.counterparty_kind
    payments, cut = _payment_rows(f.payments, rows_max)
    timeline_rows = _timeline_rows([row.to_dict() for row in timeline or []], rows_max)
    return (
        _template_env()
        .get_template("evidence.html.j2")
        .render(
            f=f,
            fig=figures,
            summary=figures.summary(),
            role=ROLE[f.kind],
            their=their,
            theirs=PLURAL[their],
            kinds=PLURAL[f.kind],
            their_role=ROLE[their],
            charts=chart_paths,
            indicators=indicators,
            references=references,
            per_year=figures.per_year.to_dicts(),
            per_currency=figures.per_currency.to_dicts(),
            per_counterparty=figures.per_counterparty.to_dicts(),
            co_parties=f.co_parties.to_dicts(),
            payments=payments,
            payments_cut=cut,
            generated_at=generated_at,
            version=version,
            network_max=NETWORK_RING_MAX,
            case_reference=case_reference,
            prepared_by=prepared_by,
            timeline=timeline_rows,
            timeline_all=len(timeline or []),
        )
    )


def _payment_rows(
    payments: pl.DataFrame, rows_max: int | None
) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
    """The payments to list, numbered as in payments.csv, and what was left out: the first
    and last `rows_max // 2` (how it began, where it stands), cut in polars, not per row."""
    numbered = payments.with_row_index("n", offset=1)
    if rows_max is None or numbered.height <= rows_max:
        return numbered.to_dicts(), None
    half = rows_max // 2
    shown = pl.concat([numbered.head(half), numbered.tail(half)])
    left_out = numbered.height - 2 * half
    return shown.to_dicts(), {"after": half, "count": left_out, "first": half + 1}


def _timeline_rows(rows: list[dict[str, Any]], rows_max: int | None) -> list[dict[str, Any]]:
    """Every row linking a payment to a message, then the first and last of the others up to
    `rows_max`, in time order (timeline.csv holds them all)."""
    if rows_max is None or len(rows) <= rows_max:
        return rows
    linked = [i for i, r in enumerate(rows) if r["linked"]]
    rest = [i for i, r in enumerate(rows) if not r["linked"]]
    room = max(0, rows_max - len(linked))
    kept = set(linked) | set(rest[: room // 2]) | set(rest[len(rest) - (room - room // 2) :])
    return [rows[i] for i in sorted(kept)]


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _vigil_version() -> str:
    try:
        return metadata.version("vigil")
    except metadata.PackageNotFoundError:
        return "unknown"


def write_evidence_package(
    workspace: Path | str,
    party_id: str,
    out: Path | str,
    *,
    party_kind: str | None = None,
    case_reference: str | None = None,
    prepared_by: str | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> EvidencePackage:
    """Write the evidence package for one party into the folder `out`.

    Files: evidence.html, evidence.pdf, charts/*.png, payments.csv (formula-safe),
    manifest.json (SHA-256 and size of each file, when, which vigil, the workspace's file
    name (not the server's path), which party, case and user) and manifest.sha256
    (checkable with `sha256sum -c manifest.sha256` inside `out`). `progress(step, share)`
    hears of each step (share of the work done, 0 to 1).
    """
    tell = progress or (lambda step, share: None)
    workspace, out = Path(workspace), Path(out)
    if not workspace.is_file():
        raise VigilError(f"{workspace}: no such workspace (run `vigil scan` first)")
    if out.exists() and not out.is_dir():
        raise VigilError(f"{out}: exists and is not a folder")
    with Workspace.open(workspace, read_only=True) as ws:
        facts = load_party(ws, party_id, party_kind)
        links = _co_party_links(
            ws,
            facts,
            facts.co_parties.head(NETWORK_RING_MAX)["party_id"].to_list(),
            facts.counterparties.head(NETWORK_RING_MAX)["party_id"].to_list(),
        )
        timeline = party_timeline(ws, facts.kind, facts.party_id)
    figures = evidence_figures(facts)
    out.mkdir(parents=True, exist_ok=True)
    generated_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    version = _vigil_version()

    tell("charts", 0.1)
    chart_paths = _draw_charts(figures, links, out / CHARTS_DIR)
    extra_files = []
    if timeline:
        chart = exchange_timeline_chart(timeline, out / CHARTS_DIR / "exchanges.png")
        chart_paths["exchanges"] = chart.relative_to(out).as_posix()
        extra_files.append(write_safe_csv(timeline_frame(timeline), out / TIMELINE_FILE))
    tell("report", 0.4)

    def render(rows_max: int | None = None) -> str:
        return render_evidence_html(
            figures,
            chart_paths,
            generated_at,
            version,
            case_reference=case_reference,
            prepared_by=prepared_by,
            timeline=timeline,
            rows_max=rows_max,
        )

    html_path = out / HTML_FILE
    html_path.write_text(render(), encoding="utf-8")
    tell("pdf", 0.5)
    pdf_path = out / PDF_FILE
    _write_pdf(html_path, pdf_path, html=render(PDF_ROWS_MAX))
    tell("payments", 0.9)
    csv_rows = facts.payments.select(CSV_COLUMNS).with_columns(
        pl.col("ts_utc").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        # a converted amount is a float: written at cent precision, not 43.838829999999994
        pl.col("amount_reporting").round(2).cast(pl.Decimal(20, 2)),
    )
    csv_path = write_safe_csv(csv_rows, out / CSV_FILE)

    files = [html_path, pdf_path, *(out / p for p in chart_paths.values()), csv_path]
    files += extra_files
    manifest = {
        "generated_at": generated_at,
        "vigil_version": version,
        "workspace": workspace.name,  # the server's folders are nobody else's business
        "party": {"kind": facts.kind, "party_id": facts.party_id},
        "case": case_reference,
        "prepared_by": prepared_by,
        "files": {
            path.relative_to(out).as_posix(): {
                "sha256": sha256_of(path),
                "size": path.stat().st_size,
            }
            for path in files
        },
    }
    manifest_path = out / MANIFEST_FILE
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    checksums = {name: entry["sha256"] for name, entry in manifest["files"].items()}
    checksums[MANIFEST_FILE] = sha256_of(manifest_path)
    checksum_path = out / CHECKSUM_FILE
    checksum_path.write_text(
        "".join(f"{digest}  {name}\n" for name, digest in checksums.items()), encoding="utf-8"
    )
    tell("done", 1.0)
    return EvidencePackage(
        out=out,
        files=[*files, manifest_path, checksum_path],
        figures=figures,
        manifest=manifest,
    )


def _write_pdf(html_path: Path, pdf_path: Path, *, html: str | None = None) -> None:
    """`html_path` rendered to `pdf_path`; or `html`, with images relative to html_path."""
    import logging

    from weasyprint import HTML  # imported here: slow to import, only this command needs it

    # fontTools logs every subsetting step at INFO: a hundred lines per package in the log.
    for name in ("fontTools", "fontTools.subset", "fontTools.ttLib", "weasyprint"):
        logging.getLogger(name).setLevel(logging.WARNING)
    source = {"filename": str(html_path)} if html is None else {"string": html}
    HTML(**source, base_url=str(html_path.parent)).write_pdf(str(pdf_path))
