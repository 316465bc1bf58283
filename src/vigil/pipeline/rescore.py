"""Scores of an increment: only the parties whose scored inputs changed are evaluated again.

A party's strengths, points, typology fits and score are a function of the feature columns
the catalogue reads for its kind and of the catalogue itself, row by row
(vigil.indicators.evaluate). Where those values are the ones the last scan evaluated, what
it wrote is what evaluating them again would give, bit for bit; only ranks are global. So
each scores table keeps, in `score_inputs`, a hash of each party's inputs and of the
catalogue, and an increment evaluates only the parties whose hash is not the one kept.

`score_inputs` describes a scores table only while that table holds what the scan's
evaluation wrote: whatever rescores it otherwise (a ranking model, shared figures) forgets
its rows (`forget`), and the next scan evaluates every party again.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import ibis
import ibis.expr.types as ir

from vigil.indicators.catalogue import Catalogue
from vigil.indicators.evaluate import evaluate_indicators
from vigil.workspace import Workspace

INPUTS = "score_inputs"  # scores table, party_id, input_hash
SCORED_INPUT = "scoring_input"  # every party's inputs (temporary)
EVALUATED_ROWS = "scoring_rows"  # the parties evaluated (a temporary view)
META_SQL = "evaluation_sql"


def read_columns(catalogue: Catalogue, kind: str, stages: tuple[str, ...]) -> list[str]:
    """The feature columns evaluation reads for `kind` at `stages`."""
    columns = {i.feature for i in catalogue.for_party(kind) if i.stage in stages}
    columns |= {s.feature for t in catalogue.typologies_for(kind) for s in t.signals}
    return sorted(columns)


def _fingerprint(catalogue: Catalogue, kind: str, stages: tuple[str, ...]) -> str:
    """The catalogue (indicators, weights, typologies, scales) and the evaluation code."""
    digest = hashlib.sha256(catalogue.model_dump_json().encode())
    digest.update(resources.files("vigil.indicators").joinpath("evaluate.py").read_bytes())
    digest.update(resources.files("vigil.pipeline").joinpath("rescore.py").read_bytes())
    digest.update(f"{kind}:{','.join(stages)}".encode())
    return digest.hexdigest()


def keeps_inputs(ws: Workspace) -> bool:
    """Only DuckDB's own workspace keeps them (a scan on Spark evaluates everything)."""
    return ws.ibis.name == "duckdb"


def forget(ws: Workspace, scores: tuple[str, ...]) -> None:
    """The scores tables named were rescored by other means: their kept inputs no longer
    describe them."""
    if ws.has_table(INPUTS):
        names = ", ".join(f"'{s}'" for s in scores)
        ws.con.execute(f"DELETE FROM {INPUTS} WHERE scores IN ({names})")


def write_scores(
    ws: Workspace,
    scores: str,
    features: ir.Table,
    catalogue: Catalogue,
    kind: str,
    stages: tuple[str, ...],
    *,
    increment: bool,
    columns: tuple[str, ...] | None = None,
    ranked: bool = False,
) -> None:
    """Writes `scores`: `evaluate_indicators(features, ...)`, `columns` of it (all by
    default), ranked by score when `ranked`. In an increment the parties whose inputs
    changed are evaluated, and every other party's evaluated columns come from `scores` as
    the last scan wrote them (its pass-through columns, such as a community id, are the
    current ones). Then keeps the inputs for the next scan."""
    if not keeps_inputs(ws):
        evaluated = _only(evaluate_indicators(features, catalogue, kind, stages), columns)
        ws.replace_table(scores, with_rank(evaluated) if ranked else evaluated)
        ws.con.execute(f"DROP TABLE IF EXISTS {INPUTS}")
        return
    sql = ws.con.execute
    ws.replace_table(SCORED_INPUT, features, temporary=True)
    read = read_columns(catalogue, kind, stages)
    fingerprint = _fingerprint(catalogue, kind, stages)
    hashed = ", ".join([*(f'"{c}"' for c in read), f"'{fingerprint}'"])
    sql(
        f"CREATE OR REPLACE TEMP TABLE scoring_hashes AS "
        f"SELECT party_id, hash({hashed}) AS input_hash FROM {SCORED_INPUT}"
    )
    reuse = increment and _kept(ws, scores)
    changed = "TRUE"
    if reuse:
        sql(
            f"""CREATE OR REPLACE TEMP TABLE scoring_changed AS
            SELECT party_id FROM scoring_hashes h
            ANTI JOIN {INPUTS} k ON k.scores = '{scores}' AND k.party_id = h.party_id
                AND k.input_hash = h.input_hash"""
        )
        changed = "party_id IN (SELECT party_id FROM scoring_changed)"
    sql(
        f"CREATE OR REPLACE TEMP VIEW {EVALUATED_ROWS} AS "
        f"SELECT * FROM {SCORED_INPUT} WHERE {changed}"
    )
    query = _evaluation_sql(ws, scores, catalogue, kind, stages, fingerprint, columns)
    if reuse:
        evaluated = [row[0] for row in sql(f"DESCRIBE {query}").fetchall()]
        current = {row[0] for row in sql(f"DESCRIBE {SCORED_INPUT}").fetchall()}
        derived = ", ".join(f'"{c}"' for c in evaluated if c not in current)
        listed = ", ".join(f'"{c}"' for c in evaluated)
        query = f"""SELECT {listed} FROM ({query})
            UNION ALL
            SELECT {listed} FROM {SCORED_INPUT}
            JOIN (SELECT party_id, {derived} FROM {scores}) USING (party_id)
            WHERE NOT {changed}"""
    if ranked:
        query = (
            "SELECT *, row_number() OVER (ORDER BY score DESC, points DESC, party_id) AS rank "
            f"FROM ({query})"
        )
    sql(f"CREATE OR REPLACE TABLE {scores} AS {query}")
    with ws.transaction() as con:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {INPUTS} "
            "(scores VARCHAR, party_id VARCHAR, input_hash UBIGINT)"
        )
        con.execute(f"DELETE FROM {INPUTS} WHERE scores = ?", [scores])
        con.execute(
            f"INSERT INTO {INPUTS} SELECT '{scores}', party_id, input_hash FROM scoring_hashes"
        )
    sql(f"DROP VIEW {EVALUATED_ROWS}")
    for temporary in (SCORED_INPUT, "scoring_hashes", "scoring_changed"):
        sql(f"DROP TABLE IF EXISTS temp.{temporary}")


def with_rank(scored: ir.Table) -> ir.Table:
    """Rank 1 is the highest score (then the most points, then the party id)."""
    order = [ibis.desc("score"), ibis.desc("points"), "party_id"]
    return scored.mutate(rank=ibis.row_number().over(ibis.window(order_by=order)) + 1)


def _evaluation_sql(
    ws: Workspace,
    scores: str,
    catalogue: Catalogue,
    kind: str,
    stages: tuple[str, ...],
    fingerprint: str,
    columns: tuple[str, ...] | None,
) -> str:
    """The SQL evaluating `EVALUATED_ROWS`, kept in the workspace's meta: building and
    compiling the expression costs more than evaluating a day's changed parties."""
    schema = ws.con.execute(
        f"SELECT string_agg(name || ' ' || type, ', ' ORDER BY cid) "
        f"FROM pragma_table_info('{SCORED_INPUT}')"
    ).fetchall()[0][0]
    key = hashlib.sha256(f"{fingerprint}|{columns}|{schema}".encode()).hexdigest()
    meta = f"{META_SQL}:{scores}"
    kept = ws.meta_get(meta)
    if kept and kept.startswith(key + "\n"):
        return kept[len(key) + 1 :]
    expression = evaluate_indicators(
        ws.ibis.table(EVALUATED_ROWS, database=("temp", "main")), catalogue, kind, stages
    )
    query = ws.ibis.compile(_only(expression, columns))
    if "memtable" not in query:  # an in-memory table's name is this session's only
        ws.meta_set(meta, f"{key}\n{query}")
    return query


def _only(table: ir.Table, columns: tuple[str, ...] | None) -> ir.Table:
    return table.select(*columns) if columns else table


def _kept(ws: Workspace, scores: str) -> bool:
    if not (ws.has_table(INPUTS) and ws.has_table(scores)):
        return False
    return bool(
        ws.con.execute(
            f"SELECT EXISTS (SELECT 1 FROM {INPUTS} WHERE scores = ?)", [scores]
        ).fetchall()[0][0]
    )
