"""The stages of `vigil scan`, declared: what each reads, writes and takes.

The stage bodies live in their own packages (ingest/, network/, features/, indicators/,
scoring/); this module only wires them to the workspace's tables. A new stage is a new entry
in `SCAN_STAGES` (before the stage that first reads what it writes).
"""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.types as ir
import polars as pl

from vigil.cases.entity_decisions import rejected_pairs_beside
from vigil.exchanges.features import refresh_links, with_exchange_features
from vigil.features.contrast import households
from vigil.features.parties import (
    beneficiary_features,
    pair_features,
    person_sender_features,
)
from vigil.indicators.catalogue import Catalogue
from vigil.indicators.evaluate import evaluate_indicators
from vigil.indicators.watchlist import match_watchlist
from vigil.ingest import IngestResult, ingest
from vigil.network.graph import GraphSummary, graph_features
from vigil.network.resolution import ResolutionSummary, resolve_entities
from vigil.pipeline import increment, rescore
from vigil.pipeline.facts import build_payment_facts
from vigil.pipeline.runner import ScanContext, Stage
from vigil.schema import PARTY_KINDS as KINDS
from vigil.scoring.explain import contributions_sql, typology_fits_sql
from vigil.scoring.propagation import (
    beneficiary_network_features,
    reporter_network_features,
    sender_network_features,
)
from vigil.workspace import Workspace

PARTY_INDEXES = {"payments_by_sender": "sender_id", "payments_by_beneficiary": "beneficiary_id"}
MATCH_COLUMNS = ("party_kind", "party_id", "source", "how")


# --- ingest -------------------------------------------------------------------------------
def ingest_stage(ctx: ScanContext) -> IngestResult:
    drop_party_indexes(ctx.ws)  # appending is faster without them; rebuilt at the end
    return _ingest(ctx)


def ingest_increment(ctx: ScanContext) -> IngestResult:
    """A week into two years: the party indexes stay (they take the new rows as they come,
    while rebuilding them reads every payment), and the new payments are noted."""
    with increment.noting_new_payments(ctx.ws):
        return _ingest(ctx)


def _ingest(ctx: ScanContext) -> IngestResult:
    return ingest(
        ctx.ws,
        ctx.inputs,
        quarantine_path=ctx.quarantine,
        fx_rates=ctx.fx_rates,
        time_range=ctx.time_range,
        layout=ctx.layout,
        account_holder=ctx.account_holder,
        max_quarantine_share=ctx.max_quarantine_share,
        max_name_length=ctx.max_name_length,
        reporters=ctx.reporters,
    )


def drop_party_indexes(ws: Workspace) -> None:
    for index in PARTY_INDEXES:
        ws.con.execute(f"DROP INDEX IF EXISTS {index}")


def index_parties(ctx: ScanContext) -> None:
    """One party's payments, read by the web app's party page and the reports, come from an
    index lookup instead of a scan of every payment (250 ms → 7 ms at 10M payments)."""
    for index, column in PARTY_INDEXES.items():
        ctx.ws.con.execute(f"CREATE INDEX IF NOT EXISTS {index} ON payments ({column})")


# --- entity resolution --------------------------------------------------------------------
def resolution_stage(ctx: ScanContext) -> ResolutionSummary:
    return _resolve(ctx)


def _resolve(ctx: ScanContext, *, reuse_models: bool = False) -> ResolutionSummary:
    """Entity resolution, keeping apart every pair an analyst said is not the same person
    (the case store beside the workspace)."""
    rejected = rejected_pairs_beside(ctx.ws.path)
    return resolve_entities(
        ctx.ws,
        config=ctx.resolution,
        rejected=[(r.party_kind, r.left_id, r.right_id) for r in rejected],
        reuse_models=reuse_models,
    )


def resolution_increment(ctx: ScanContext) -> ResolutionSummary:
    """Every party is resolved again (new accounts may join old people) with the models the
    last full scan trained, and the mapping it replaces is kept for this session: the
    features increment recomputes the parties whose person changed."""
    increment.keep_previous_entities(ctx.ws)
    return _resolve(ctx, reuse_models=True)


# --- features -----------------------------------------------------------------------------
def features_stage(ctx: ScanContext) -> None:
    ws = ctx.ws
    facts = build_payment_facts(ws, ctx.catalogue, ws.table("payments"))
    # Kept in the workspace for the next increment, which appends the new payments' facts
    # instead of computing them again for every payment of the parties it reaches.
    kept = rescore.keeps_inputs(ws)
    ws.replace_table(increment.FACTS, facts, temporary=not kept)
    facts = ws.table(increment.FACTS)
    ws.replace_table("pair_features", pair_features(facts))
    pairs = ws.table("pair_features")
    payments = ws.table("payments")
    # Each account's household once (regular expressions over names), for both kinds.
    ws.replace_table("beneficiary_households", households(payments), temporary=True)
    homes = ws.table("beneficiary_households")
    purposes = list(ctx.catalogue.parameters.purpose_words)
    senders = person_sender_features(
        payments, facts, pairs, purposes, ws.table("sender_entities"), homes
    )
    ws.replace_table("sender_payment_features", senders)
    beneficiaries = beneficiary_features(payments, facts, pairs, purposes, homes)
    ws.replace_table("beneficiary_payment_features", beneficiaries)
    for temporary in ("beneficiary_households", *(() if kept else (increment.FACTS,))):
        ws.drop_temporary(temporary)  # memory for what follows
    party_features(ws, ctx.watch)


def features_increment(ctx: ScanContext) -> None:
    increment.update_payment_features(ctx.ws, ctx.catalogue)
    party_features(ctx.ws, ctx.watch)


def party_features(ws: Workspace, watch: pl.DataFrame | None) -> None:
    """`{kind}_features`: the payment features with the watchlist's hits on each party."""
    senders = ws.table("sender_payment_features")
    beneficiaries = ws.table("beneficiary_payment_features")
    pairs = ws.table("pair_features")
    matches = _watchlist_matches(watch, senders, beneficiaries)
    ws.replace_table_rows("watchlist_matches", {c: "VARCHAR" for c in MATCH_COLUMNS}, matches)
    hits = ws.table("watchlist_matches")
    listed = hits.group_by("party_kind", "party_id").aggregate(
        watchlisted=hits.count(), watchlist_sources=hits.source.collect(distinct=True).join(", ")
    )
    own = listed.filter(listed.party_kind == "sender").drop("party_kind")
    paid = (
        pairs.join(
            listed.filter(listed.party_kind == "beneficiary"),
            pairs.beneficiary_id == listed.party_id,
        )
        .group_by("sender_id")
        .aggregate(
            watchlisted_beneficiaries=ibis._.beneficiary_id.nunique(),
            paid_sources=ibis._.watchlist_sources.collect(distinct=True).join(", "),
        )
        .rename(party_id="sender_id")
    )
    senders = senders.left_join(own, "party_id").drop("party_id_right")
    senders = senders.left_join(paid, "party_id").drop("party_id_right")
    senders = senders.mutate(
        watchlisted=senders.watchlisted.fill_null(0),
        watchlisted_beneficiaries=senders.watchlisted_beneficiaries.fill_null(0),
        watchlist_sources=ibis.coalesce(senders.watchlist_sources, senders.paid_sources, ""),
    ).drop("paid_sources")
    beneficiaries = beneficiaries.left_join(
        listed.filter(listed.party_kind == "beneficiary").drop("party_kind"), "party_id"
    ).drop("party_id_right")
    beneficiaries = beneficiaries.mutate(
        watchlisted=beneficiaries.watchlisted.fill_null(0),
        watchlist_sources=beneficiaries.watchlist_sources.fill_null(""),
    )
    exchanges = refresh_links(ws)  # chats and calls, when imported (vigil exchanges import)
    senders = with_exchange_features(ws, senders, "sender", refreshed=exchanges)
    beneficiaries = with_exchange_features(ws, beneficiaries, "beneficiary", refreshed=exchanges)
    ws.replace_table("sender_features", senders)
    ws.replace_table("beneficiary_features", beneficiaries)


def _watchlist_matches(
    watch: pl.DataFrame | None, senders: ir.Table, beneficiaries: ir.Table
) -> list[tuple]:
    if watch is None or watch.height == 0:
        return []
    parties = pl.concat(
        [
            pl.from_arrow(t.select("party_id", "name", "country").to_pyarrow()).with_columns(
                party_kind=pl.lit(kind)
            )
            for kind, t in (("sender", senders), ("beneficiary", beneficiaries))
        ]
    )
    return match_watchlist(watch, parties).select(MATCH_COLUMNS).rows()


# --- scores -------------------------------------------------------------------------------
def base_scores_and_graph(ctx: ScanContext) -> GraphSummary:
    """Round one: every party scored on its own behaviour; the graph stage starts from these.
    An increment evaluates only the parties whose features changed (vigil.pipeline.rescore)."""
    ws, catalogue = ctx.ws, ctx.catalogue
    for kind in KINDS:
        rescore.write_scores(
            ws,
            f"{kind}_base_scores",
            ws.table(f"{kind}_features"),
            catalogue,
            kind,
            ("behaviour",),
            increment=ctx.increment,
            columns=("party_id", "score"),
        )
    return graph_features(ws, catalogue.parameters)


def final_scores(ctx: ScanContext) -> None:
    """Round two: senders by what their co-payers and network look like; then beneficiaries
    by what their payers look like after that round (an offender's score has by then taken in
    its network; a look-alike's, with no network, has not).

    FIU mode: then senders again with the collaboration indicator N6 computed from the pooled
    payments (what `vigil share import` tells an institution: co-payers at other reporters
    who look suspicious once their own network is counted), and beneficiaries by their
    payers' scores after that. Without it the pooled scan saw less than `vigil share` does:
    an offender's light id at one remitter, unlinked to his id at another, pays a
    facilitator whose other payer at the other remitter shows the pattern only through his
    network, which round two's co-payer link (N1, on base scores) does not see."""
    ws = ctx.ws
    _score_senders(ws, ctx.catalogue, None, ctx.increment)
    if not in_fiu_mode(ws):
        _score_beneficiaries(ws, ctx.catalogue, None, ctx.increment)
        return
    catalogue = ctx.catalogue.with_pooled_collaboration()
    payments = ws.table("payments")
    reporters = payments.filter(payments.reporter.notnull()).select("sender_id", "reporter")
    figures = reporter_network_features(
        ws.table("pair_features"),
        reporters.distinct(),
        ws.table("sender_scores").select("party_id", "score"),
        catalogue.parameters.suspicious_score,
    )
    ws.replace_table("sender_pooled_features", figures, temporary=True)
    score_parties(ws, catalogue, {"sender": ws.table("sender_pooled_features")})


def score_parties(
    ws: Workspace,
    catalogue: Catalogue,
    extra: dict[str, ir.Table] | None = None,
    *,
    increment: bool = False,
) -> None:
    """Round two, as `final_scores`; `extra` adds feature columns per party kind (keyed by
    `party_id`, 0 where missing), such as the cross-institution signals of `vigil share
    import`, for the catalogue's indicators that read them. `increment`: evaluate only the
    parties whose inputs changed since the last scan (vigil.pipeline.rescore)."""
    _score_senders(ws, catalogue, extra, increment)
    _score_beneficiaries(ws, catalogue, extra, increment)


def _score_senders(
    ws: Workspace, catalogue: Catalogue, extra: dict[str, ir.Table] | None, increment: bool
) -> None:
    threshold = catalogue.parameters.suspicious_score
    pairs = ws.table("pair_features")
    network = sender_network_features(pairs, ws.table("sender_base_scores"), threshold)
    _score_kind(ws, catalogue, "sender", network, extra, increment)


def _score_beneficiaries(
    ws: Workspace, catalogue: Catalogue, extra: dict[str, ir.Table] | None, increment: bool
) -> None:
    """By their payers' scores of round two, which must be written first."""
    threshold = catalogue.parameters.suspicious_score
    payers = ws.table("sender_scores").select("party_id", "score")
    network = beneficiary_network_features(ws.table("pair_features"), payers, threshold)
    _score_kind(ws, catalogue, "beneficiary", network, extra, increment)


def _score_kind(
    ws: Workspace,
    catalogue: Catalogue,
    kind: str,
    network: ir.Table,
    extra: dict[str, ir.Table] | None,
    increment: bool,
) -> None:
    table = f"{kind}_scores"
    joined = _fill_left(ws.table(f"{kind}_features"), network)
    joined = _fill_left(joined, ws.table(f"{kind}_graph_features").drop("entity_id"))
    stages = ("behaviour", "network")
    if extra is not None:  # shared figures: these scores are not the scan's own
        if extra.get(kind) is not None:
            joined = _fill_left(joined, extra[kind])
        scored = evaluate_indicators(joined, catalogue, kind, stages)
        ws.replace_table(table, rescore.with_rank(scored))
        rescore.forget(ws, (table,))
        return
    rescore.write_scores(
        ws, table, joined, catalogue, kind, stages, increment=increment, ranked=True
    )


def _fill_left(features: ir.Table, extra: ir.Table) -> ir.Table:
    joined = features.left_join(extra, "party_id")
    joined = joined.drop(*[c for c in joined.columns if c.endswith("_right")])
    return joined.mutate(**{c: joined[c].fill_null(0) for c in extra.columns if c != "party_id"})


# --- explanations and alerts --------------------------------------------------------------
def alerts_stage(ctx: ScanContext) -> dict[str, int]:
    """Explanations, the learned ranking when a model is given, alerts.csv and alerts.json;
    returns the parties scored per kind."""
    catalogue = ctx.catalogue.with_pooled_collaboration() if in_fiu_mode(ctx.ws) else ctx.catalogue
    return write_alerts(ctx.ws, catalogue, ctx.out, model=ctx.model)


def write_alerts(
    ws: Workspace, catalogue: Catalogue, out: Path, *, model: Path | None = None
) -> dict[str, int]:
    """Explanations of the workspace's scores, the learned ranking when a model is given,
    and `out`/alerts.csv and alerts.json; returns the parties scored per kind."""
    _explain(ws, catalogue)
    if model is not None:  # the learned ranking: expert score kept as expert_score
        from vigil.scoring.model import apply_model

        apply_model(ws, model, catalogue)
        rescore.forget(ws, tuple(f"{kind}_scores" for kind in KINDS))
    _write_alerts(ws, out)
    return {
        kind: ws.con.execute(f"SELECT count(*) FROM {kind}_scores").fetchall()[0][0]
        for kind in KINDS
    }


def _explain(ws: Workspace, catalogue: Catalogue) -> None:
    lo, hi = catalogue.parameters.small_band_usd
    constants = {"small_lo": lo, "small_hi": hi}
    union = "\nUNION ALL\n".join(
        contributions_sql(catalogue, kind, f"{kind}_scores", constants) for kind in KINDS
    )
    ws.con.execute(f"CREATE OR REPLACE TABLE indicator_hits AS {union}")
    columns = ("party_kind", "indicator", "title", "statement", "sources")
    rows = [
        (i.party, i.id, i.title, i.statement, ", ".join(i.sources)) for i in catalogue.indicators
    ]
    ws.replace_table_rows("indicator_catalogue", dict.fromkeys(columns, "VARCHAR"), rows)
    fits = [typology_fits_sql(catalogue, kind, f"{kind}_scores", constants) for kind in KINDS]
    fits_sql = "\nUNION ALL\n".join(f for f in fits if f) or (
        "SELECT NULL::VARCHAR AS party_kind, NULL::VARCHAR AS party_id, "
        "NULL::VARCHAR AS typology, NULL::DOUBLE AS fit, NULL::VARCHAR AS figures LIMIT 0"
    )
    ws.con.execute(f"CREATE OR REPLACE TABLE typology_fits AS {fits_sql}")
    columns = ("party_kind", "typology", "title", "statement", "sources", "discount")
    rows = [
        (t.party, t.id, t.title, t.statement, ", ".join(t.sources), str(t.discount))
        for t in catalogue.typologies
    ]
    ws.replace_table_rows("typology_catalogue", dict.fromkeys(columns, "VARCHAR"), rows)


_SAFE = "CASE WHEN regexp_matches({c}, '^[=+\\-@\\t\\r]') THEN '''' || {c} ELSE {c} END"


def in_fiu_mode(ws: Workspace) -> bool:
    """FIU mode: some payment names its reporter (then sender ids are per reporter)."""
    return bool(
        ws.con.execute(
            "SELECT EXISTS (SELECT 1 FROM payments WHERE reporter IS NOT NULL)"
        ).fetchall()[0][0]
    )


def _write_alerts(ws: Workspace, out: Path) -> tuple[Path, Path]:
    """The `alerts` table (party_id: the workspace's key; `reporter` and `reported_id`, the
    sender's id at its reporter, in FIU mode), alerts.csv and alerts.json. Outside FIU mode
    the files are what they always were; in it, a sender's party_id is the id its reporter
    gave, and a `reporter` column (empty for beneficiaries) follows it."""
    alerts, alerts_json = out / "alerts.csv", out / "alerts.json"
    fiu = in_fiu_mode(ws)
    reporters = (
        """SELECT 'sender' AS party_kind, sender_id AS party_id,
                  any_value(reporter) AS reporter, any_value(reporter_sender_id) AS reported_id
           FROM payments WHERE reporter IS NOT NULL GROUP BY sender_id"""
        if fiu
        else "SELECT NULL::VARCHAR AS party_kind, NULL::VARCHAR AS party_id, "
        "NULL::VARCHAR AS reporter, NULL::VARCHAR AS reported_id LIMIT 0"
    )
    parties = "\nUNION ALL\n".join(
        f"""SELECT '{kind}' AS party_kind, party_id, name, country, payments, total_usd,
                   score, rank, points, best_typology FROM {kind}_scores"""
        for kind in KINDS
    )
    ws.con.execute(
        f"""CREATE OR REPLACE TABLE alerts AS
        WITH parties AS ({parties}),
        fired AS (
            SELECT party_kind, party_id,
                   string_agg(indicator, ';' ORDER BY contribution DESC, indicator) AS indicators,
                   arg_max(figures, contribution) AS top_reason
            FROM indicator_hits GROUP BY ALL
        ),
        reporters AS ({reporters})
        -- Nine decimals: scores near the expert's differ past the sixth (no false ties).
        SELECT p.party_kind, p.party_id, round(p.score, 9) AS score, p.rank,
               coalesce(f.indicators, '') AS indicators, p.name, p.country, p.payments,
               round(p.total_usd, 2) AS total_usd, coalesce(f.top_reason, '') AS top_reason,
               p.best_typology, r.reporter, r.reported_id
        FROM parties p LEFT JOIN fired f USING (party_kind, party_id)
            LEFT JOIN reporters r USING (party_kind, party_id)"""
    )
    safe_name, safe_reason = _SAFE.format(c="name"), _SAFE.format(c="top_reason")
    shown_id, json_id = "party_id", "a.party_id"
    if fiu:
        shown_id = "coalesce(reported_id, party_id) AS party_id, coalesce(reporter, '') AS reporter"
        json_id = "coalesce(a.reported_id, a.party_id) AS party_id, a.reporter"
    ws.con.execute(
        f"""COPY (SELECT party_kind, {shown_id}, score, rank, indicators, {safe_name} AS name,
                         country, payments, total_usd, {safe_reason} AS top_reason,
                         best_typology
                  FROM alerts ORDER BY score DESC, party_kind DESC, rank)
            TO '{_sql_path(alerts)}' (HEADER, DELIMITER ',')"""
    )
    # Each party's contributions and typologies gathered by its key alone, then joined to
    # its row: grouping the joined rows by every alerts column cost more than the rest.
    ws.con.execute(
        f"""COPY (
            WITH contributions AS (
                SELECT h.party_kind, h.party_id,
                       list({{'indicator': h.indicator, 'title': c.title,
                             'contribution': round(h.contribution, 6),
                             'strength': round(h.strength, 4), 'value': h.value,
                             'figures': h.figures, 'statement': c.statement,
                             'sources': c.sources}}
                            ORDER BY h.contribution DESC) AS contributions
                FROM indicator_hits h
                LEFT JOIN indicator_catalogue c USING (party_kind, indicator)
                GROUP BY h.party_kind, h.party_id
            ),
            typologies AS (
                SELECT f.party_kind, f.party_id,
                       list({{'typology': f.typology, 'title': k.title,
                             'fit': round(f.fit, 4), 'figures': f.figures,
                             'statement': k.statement, 'sources': k.sources}}
                            ORDER BY f.fit DESC) AS typologies
                FROM typology_fits f JOIN typology_catalogue k USING (party_kind, typology)
                GROUP BY f.party_kind, f.party_id
            )
            SELECT a.party_kind, {json_id}, a.name, a.country, a.score, a.rank, a.payments,
                   a.total_usd, coalesce(h.contributions, []) AS contributions,
                   a.best_typology, coalesce(t.typologies, []) AS typologies
            FROM alerts a
            LEFT JOIN contributions h USING (party_kind, party_id)
            LEFT JOIN typologies t USING (party_kind, party_id)
            ORDER BY a.score DESC, a.party_kind DESC, a.rank
        ) TO '{_sql_path(alerts_json)}' (FORMAT json, ARRAY true)"""
    )
    return alerts, alerts_json


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


# --- the declaration ----------------------------------------------------------------------
_ENTITIES = ("sender_entities", "beneficiary_entities", "entity_links")
_PAYMENT_FEATURES = ("pair_features", "sender_payment_features", "beneficiary_payment_features")
_FEATURES = ("sender_features", "beneficiary_features", "watchlist_matches")
_GRAPH = (
    "sender_base_scores",
    "beneficiary_base_scores",
    "sender_graph_features",
    "beneficiary_graph_features",
    "communities",
)
_SCORES = ("sender_scores", "beneficiary_scores")

SCAN_STAGES: list[Stage] = [
    Stage(
        "ingest",
        "Ingesting",
        reads=(),
        writes=("payments",),
        params=(
            "inputs",
            "fx_rates",
            "time_range",
            "layout",
            "account_holder",
            "max_quarantine_share",
            "max_name_length",
            "reporters",
        ),
        run=ingest_stage,
        increment=ingest_increment,
    ),
    Stage(
        "resolution",
        "Resolving entities",
        reads=("payments",),
        writes=_ENTITIES,
        params=("resolution",),
        run=resolution_stage,
        increment=resolution_increment,
    ),
    Stage(
        "features",
        "Computing features",
        reads=("payments", "sender_entities", "beneficiary_entities"),
        writes=("country_offsets", "payment_facts", *_PAYMENT_FEATURES, *_FEATURES),
        params=("catalogue", "watch"),
        run=features_stage,
        increment=features_increment,
    ),
    Stage(
        "graph",
        "Building the graph",
        reads=("sender_features", "beneficiary_features", "pair_features", "watchlist_matches"),
        writes=_GRAPH,
        params=("catalogue",),
        run=base_scores_and_graph,
    ),
    Stage(
        "scores",
        "Scoring",
        reads=(*_GRAPH, "sender_features", "beneficiary_features", "pair_features"),
        writes=_SCORES,
        params=("catalogue",),
        run=final_scores,
    ),
    Stage(
        "alerts",
        "Writing alerts",
        reads=_SCORES,
        writes=("indicator_hits", "indicator_catalogue", "alerts"),
        params=("catalogue", "model", "out"),
        run=alerts_stage,
    ),
    Stage(
        "index",
        "Indexing",
        reads=("payments",),
        writes=(),
        params=(),
        run=index_parties,
    ),
]
