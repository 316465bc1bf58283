"""`vigil leads`: places ranked as victim-location leads.

The crime scene is usually the home of the facilitator, a relative or a neighbour, and the
money is collected near it (research/exchanges.md §4 [C9][C10]). From the scanned workspace:
beneficiaries scoring at least the catalogue's `suspicious_score` are suspected
facilitators; their accounts are grouped into households (entity resolution's persons, then
persons sharing a recorded phone, or a surname in one city); and each place where their
money arrives, a city and each recorded collection point, is ranked by the suspicious money
collected there and by the number of distinct facilitator households (at a collection
point, those that collect there as a routine: at least twice and a fifth of their
collections), with the evidence
behind it (the beneficiaries, their scores, the households). Leads, not findings.

Writes DIR/leads.csv (every place, both rankings and a grade), DIR/leads_map.png (cities
placed by offline GeoNames coordinates, size by money, colour by households) and
DIR/leads.json (the same with the evidence lists).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import igraph as ig
import polars as pl

from vigil.errors import VigilError
from vigil.indicators.catalogue import load_catalogue
from vigil.reports.places import city_coordinates
from vigil.reports.safe_csv import write_safe_csv
from vigil.workspace import Workspace

EVIDENCE_MAX = 10
# A household counts at a collection point when it collected there at least twice and at
# least this share of all its recorded collections: a routine near home, not the pick-ups
# spread over a city's agents that ordinary receivers make.
MIN_COLLECTIONS = 2
ROUTINE_SHARE = 0.2
MAP_LABELS = 12


@dataclass(frozen=True)
class LeadsResult:
    out: Path
    csv: Path
    map: Path
    json: Path
    places: pl.DataFrame
    threshold: float


def _frame(ws: Workspace, sql: str, params: list | None = None) -> pl.DataFrame:
    return pl.from_arrow(ws.con.sql(sql, params=params or []).to_arrow_table())


def _households(suspects: pl.DataFrame) -> dict[str, str]:
    """beneficiary_id -> household key: persons (entity ids) joined by a shared phone or a
    shared surname in one city (connected components)."""
    ids = suspects["beneficiary_id"].to_list()
    index = {b: i for i, b in enumerate(ids)}
    edges: list[tuple[int, int]] = []
    for column in ("entity_id", "phone", "surname_city"):
        groups = (
            suspects.filter(pl.col(column).is_not_null())
            .group_by(column)
            .agg(pl.col("beneficiary_id"))
        )
        for members in groups["beneficiary_id"].to_list():
            first = index[members[0]]
            edges.extend((first, index[m]) for m in members[1:])
    graph = ig.Graph(n=len(ids), edges=edges)
    components = graph.connected_components()
    household: dict[str, str] = {}
    for component in components:
        members = sorted(ids[i] for i in component)
        for m in members:
            household[m] = f"household of {members[0]}"
    return household


def compute_leads(ws: Workspace, min_score: float | None = None) -> tuple[pl.DataFrame, float]:
    if not ws.has_table("beneficiary_scores"):
        raise VigilError(f"{ws.path}: this workspace has not been scanned yet")
    threshold = load_catalogue().parameters.suspicious_score if min_score is None else min_score
    entity = "e.entity_id" if ws.has_table("beneficiary_entities") else "CAST(NULL AS VARCHAR)"
    join = (
        "LEFT JOIN beneficiary_entities e ON e.party_id = s.party_id"
        if ws.has_table("beneficiary_entities")
        else ""
    )
    suspects = _frame(
        ws,
        f"""SELECT s.party_id AS beneficiary_id, s.name, s.country, s.score, {entity} AS entity_id,
                   (SELECT any_value(beneficiary_phone) FROM payments p
                    WHERE p.beneficiary_id = s.party_id) AS phone,
                   (SELECT lower(regexp_extract(any_value(beneficiary_name), '(\\S+)$')) || '|'
                           || any_value(beneficiary_city)
                    FROM payments p WHERE p.beneficiary_id = s.party_id) AS surname_city
            FROM beneficiary_scores s {join} WHERE s.score >= ?""",
        [threshold],
    )
    if suspects.height == 0:
        return pl.DataFrame(), threshold
    households = _households(suspects)
    suspects = suspects.with_columns(household=pl.col("beneficiary_id").replace_strict(households))
    ws.con.register(
        "vigil_lead_suspects", suspects.select("beneficiary_id", "score", "household").to_arrow()
    )
    try:
        money = _frame(
            ws,
            """SELECT p.beneficiary_country AS country, p.beneficiary_city AS city,
                      p.payout_location, p.beneficiary_id, any_value(s.score) AS score,
                      any_value(s.household) AS household, count(*) AS payments,
                      count(DISTINCT p.sender_id) AS payers, sum(p.amount_reporting) AS amount,
                      list(DISTINCT p.sender_id) AS payer_ids
               FROM payments p JOIN vigil_lead_suspects s USING (beneficiary_id)
               GROUP BY ALL""",
        )
    finally:
        ws.con.unregister("vigil_lead_suspects")
    city = _places(money, ["country", "city"], "city")
    point = _places(
        money.filter(pl.col("payout_location").is_not_null()),
        ["country", "city", "payout_location"],
        "collection point",
    )
    return pl.concat([city, point], how="diagonal_relaxed"), threshold


def _places(money: pl.DataFrame, keys: list[str], level: str) -> pl.DataFrame:
    if money.height == 0:
        return pl.DataFrame()
    here = pl.col("payments").sum().over([*keys, "household"])
    overall = pl.col("payments").sum().over("household")
    repeated = (
        (here >= MIN_COLLECTIONS) & (here >= ROUTINE_SHARE * overall)
        if "payout_location" in keys
        else pl.lit(True)
    )
    money = money.with_columns(counted_household=pl.when(repeated).then(pl.col("household")))
    grouped = (
        money.sort(["amount", "beneficiary_id"], descending=[True, False])
        .group_by(keys)
        .agg(
            suspicious_amount=pl.col("amount").sum().round(2),
            suspicious_payments=pl.col("payments").sum(),
            suspected_facilitators=pl.col("beneficiary_id").n_unique(),
            facilitator_households=pl.col("counted_household").drop_nulls().n_unique(),
            payers=pl.col("payer_ids")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .n_unique(),
            evidence=pl.format(
                "{} (score {}, {} payments, {})",
                pl.col("beneficiary_id"),
                pl.col("score").round(3),
                pl.col("payments"),
                pl.col("amount").round(2),
            )
            .head(EVIDENCE_MAX)
            .str.join("; "),
            households=pl.col("household").unique().sort().head(EVIDENCE_MAX).str.join("; "),
        )
    )
    place = pl.col("payout_location") if "payout_location" in keys else pl.col("city")
    grouped = grouped.with_columns(
        level=pl.lit(level),
        place=pl.coalesce(place, pl.lit("(city not recorded)")),
        rank_by_amount=pl.col("suspicious_amount").rank("ordinal", descending=True),
        rank_by_households=pl.struct("facilitator_households", "suspicious_amount").rank(
            "ordinal", descending=True
        ),
    )
    grade = (
        pl.when(pl.col("facilitator_households") >= 2)
        .then(pl.lit("A: several facilitator households"))
        .when(pl.col("suspicious_payments") >= 20)
        .then(pl.lit("B: one household, repeated collections"))
        .otherwise(pl.lit("C: few collections"))
    )
    coordinates = [city_coordinates(c, t) for c, t in grouped.select("country", "city").rows()]
    return (
        grouped.with_columns(
            grade=grade,
            latitude=pl.Series([p[0] if p else None for p in coordinates], dtype=pl.Float64),
            longitude=pl.Series([p[1] if p else None for p in coordinates], dtype=pl.Float64),
        )
        .sort(["rank_by_households"])
        .select(
            "level",
            "place",
            "city",
            "country",
            "rank_by_households",
            "rank_by_amount",
            "facilitator_households",
            "suspected_facilitators",
            "suspicious_amount",
            "suspicious_payments",
            "payers",
            "grade",
            "latitude",
            "longitude",
            "evidence",
            "households",
        )
    )


def _map(cities: pl.DataFrame, currency: str, path: Path) -> Path:
    from matplotlib.figure import Figure

    from vigil.reports.charts import _save

    fig = Figure(figsize=(7.2, 5.4))
    ax = fig.subplots()
    placed = cities.filter(pl.col("latitude").is_not_null())
    if placed.height:
        amount = placed["suspicious_amount"].to_numpy()
        size = 30 + 600 * amount / max(amount.max(), 1)
        dots = ax.scatter(
            placed["longitude"].to_list(),
            placed["latitude"].to_list(),
            s=size,
            c=placed["facilitator_households"].to_list(),
            cmap="YlOrRd",
            edgecolors="#555",
            linewidths=0.5,
            alpha=0.85,
            zorder=3,
        )
        fig.colorbar(dots, ax=ax, label="facilitator households")
        for row in placed.sort("rank_by_households").head(MAP_LABELS).iter_rows(named=True):
            ax.annotate(
                f"{row['rank_by_households']}. {row['place']}",
                (row["longitude"], row["latitude"]),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
            )
        ax.set_aspect("equal", adjustable="datalim")
    missing = cities.height - placed.height
    note = f" ({missing} cities without known coordinates)" if missing else ""
    ax.set_title(
        f"Victim-location leads: suspicious money collected ({currency}, dot size) "
        f"and facilitator households (colour){note}",
        fontsize=8,
    )
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def write_leads(
    workspace: Path | str, out: Path | str, *, min_score: float | None = None
) -> LeadsResult:
    workspace, out = Path(workspace), Path(out)
    if not workspace.is_file():
        raise VigilError(f"{workspace}: no such workspace (run `vigil scan` first)")
    with Workspace.open(workspace, read_only=True) as ws:
        places, threshold = compute_leads(ws, min_score)
        currency = ws.meta_get("reporting_currency") or "USD"
    if places.height == 0:
        raise VigilError(f"no beneficiary scores {threshold} or more: no place to rank")
    out.mkdir(parents=True, exist_ok=True)
    csv_path = write_safe_csv(places, out / "leads.csv")
    map_path = _map(places.filter(pl.col("level") == "city"), currency, out / "leads_map.png")
    json_path = out / "leads.json"
    json_path.write_text(
        json.dumps(
            {"min_score": threshold, "currency": currency, "places": places.to_dicts()},
            indent=2,
            ensure_ascii=False,
            default=str,
        )
        + "\n",
        encoding="utf-8",
    )
    return LeadsResult(out, csv_path, map_path, json_path, places, threshold)
