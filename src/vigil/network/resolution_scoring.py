"""Scoring the blocked pairs of one kind, without scoring the pairs that cannot link.

At 10M payments the blocking rules yield about five million pairs of beneficiaries, of which
fewer than one in a hundred link; most share a name word and the initials in one city and
nothing else. Splink's full comparison of a pair is dearest in its behavioural part (the
payers in common are counted once per level) and in the name levels past the exact one,
and a pair without a distinctive counterpart in common always falls in the counterparts
comparison's last level ("no payer in common") or its null level. So the pairs are scored
in two passes, with the model's own weights throughout:

1. Each pair is kept only where its best possible weight reaches the threshold: the
   prior; for each identity comparison (name, city, country) its weight where the pair is
   at its null or first level, else the greatest weight of its other levels, with the
   pair's term-frequency adjustment (Splink's weights and adjustment SQL); for the
   behavioural comparisons the most they could add to such a pair. That depends on what
   the pair shares (found by a join on the counterparts, not per pair): sharing no
   distinctive counterpart, the counterparts' last level or null; sharing one, the
   levels open to any names ("in common, under names that differ") or, only for a pair
   that needs more to reach the threshold and whose names are alike (ALIKE_NAMES, worked
   out for those pairs alone), every level; timing's best level. The bound never
   undercounts, so no pair that would link is dropped.
2. The kept pairs are scored by Splink's full model, exactly as before: the links, their
   probabilities and explanations are Splink's.

Splink blocks and scores the parties by an integer key (the records' row id), not their
text ids; the bound reads the blocked pairs before Splink makes them unique (a pair that
two rules block comes twice), and makes unique only the few it keeps.

Where the bound cannot be taken (a behavioural level weighed by term frequency), every
blocked pair is scored by the full model.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from splink.internals.blocking import (
    ExplodingBlockingRule,
    block_using_rules_sqls,
    materialise_exploded_id_tables,
)
from splink.internals.misc import prob_to_match_weight
from splink.internals.pipeline import CTEPipeline
from splink.internals.vertically_concatenate import enqueue_df_concat

from vigil.network.resolution_config import ResolutionConfig
from vigil.network.resolution_model import (
    ALIKE_NAMES,
    PartyKind,
    comparison_dicts,
    comparisons_for,
    shared_counterparts_sql,
)
from vigil.network.resolution_training import Model, linker_for

if TYPE_CHECKING:
    import duckdb
    from splink import Linker
    from splink.backends.duckdb import DuckDBAPI
    from splink.internals.splink_dataframe import SplinkDataFrame

# Bits of match weight the first pass keeps in hand, far above the rounding of a sum of a
# few dozen floating-point weights: a pair this close to the threshold is scored in full.
BOUND_MARGIN = 1e-6
GAMMA = "__level__"  # a placeholder for the comparison's level in Splink's adjustment SQL
PARTY_KEY = "party_key"  # the integer by which Splink tells the parties apart


def predict(
    cursor: duckdb.DuckDBPyConnection,
    db_api: DuckDBAPI,
    frame: SplinkDataFrame,
    kind: PartyKind,
    config: ResolutionConfig,
    model: Model,
    frequencies: dict[str, SplinkDataFrame],
) -> SplinkDataFrame:
    """Splink's predictions at `config.threshold` for the kind's blocked pairs: the same
    table `linker.inference.predict` gives, computed in the two passes of the module's
    docstring.

    Splink blocks, bounds and scores the parties by an integer key (PARTY_KEY, the
    record's row id, which costs no copy of the records): millions of blocked pairs join
    and deduplicate faster on integers than on text ids, which come back for the
    predicted pairs alone."""
    keyed = f"{kind.kind}_keyed_records"
    cursor.execute(
        f"CREATE OR REPLACE VIEW {keyed} AS "
        f"SELECT rowid AS {PARTY_KEY}, * FROM {frame.physical_name}"
    )
    keyed_frame = db_api.register(keyed, table_name=keyed)
    linker = linker_for(keyed_frame, kind, config, model, frequencies, unique_id=PARTY_KEY)
    # The most the behavioural comparisons add to a pair sharing no counterpart, to one
    # sharing a counterpart under names not alike, and to one sharing one under names alike.
    apart, unlike, alike = (
        behaviour_bound(kind, config, model, in_common=in_common)
        for in_common in ("none", "unlike_names", "any")
    )
    if apart is None or unlike is None or alike is None:
        return _with_party_ids(cursor, db_api, _full(linker, config), kind, keyed)
    blocked_pairs = _blocked_pairs_with_repeats(linker)
    blocked = blocked_pairs.physical_name
    sharing, candidates = f"{kind.kind}_sharing_pairs", f"{kind.kind}_candidate_pairs"
    cursor.execute(f"CREATE OR REPLACE TABLE {sharing} AS {sharing_pairs_sql(keyed, kind)}")
    settings = linker._settings_obj  # the model exactly as Splink will score it
    behavioural = {c.name for c in comparisons_for(kind) if c.behavioural}
    identity = [c for c in settings.comparisons if c.output_column_name not in behavioural]
    missing = {c.name: c.null_sql for c in comparisons_for(kind) if c.unheeded_sql}
    bounds = [
        _comparison_bound_sql(c.comparison_levels, missing.get(c.output_column_name))
        for c in identity
    ]
    prior = prob_to_match_weight(settings._probability_two_random_records_match)
    reach = _weight(config.threshold) - prior - BOUND_MARGIN
    record_columns = [c[0] for c in cursor.execute(f"DESCRIBE {keyed}").fetchall()]
    side = _side_sql(keyed, record_columns, frequencies, " ".join(bounds))
    names = _side_sql(keyed, record_columns, {}, ALIKE_NAMES)
    pair_keys = [c[0] for c in cursor.execute(f"SELECT * FROM {blocked} LIMIT 0").description]
    keys = ", ".join(pair_keys)
    cursor.execute(
        f"""
        CREATE OR REPLACE TABLE {candidates} AS
        WITH side AS MATERIALIZED ({side.sql}),
        bounded AS MATERIALIZED (
            SELECT * FROM (
                SELECT {keys}, shares_counterpart,
                       {" + ".join(f"({bound})" for bound in bounds)} AS identity
                FROM (
                    SELECT {", ".join(f"b.{c}" for c in pair_keys)}, {_pair_columns(side)},
                           s.left_id IS NOT NULL AS shares_counterpart
                    FROM {blocked} b LEFT JOIN {sharing} s ON {_same_pair("b", "s")}
                    JOIN side l ON l.{PARTY_KEY} = b.join_key_l
                    JOIN side r ON r.{PARTY_KEY} = b.join_key_r
                )
            )
            WHERE identity + CASE WHEN shares_counterpart THEN {alike!r} ELSE {apart!r} END
                >= {reach!r}
        ),
        -- Pairs that reach the threshold only with payers in common under names alike:
        -- whether the names are alike is worked out for these alone.
        if_alike AS (
            SELECT {keys} FROM bounded
            WHERE shares_counterpart AND identity + {unlike!r} < {reach!r}
                AND identity + {alike!r} >= {reach!r}
        )
        -- A pair two rules block comes twice: once per pair among the few kept, with
        -- the first rule's key (match_key), as Splink's blocking gives it.
        SELECT min(match_key) AS match_key, join_key_l, join_key_r FROM (
            SELECT {keys} FROM bounded
            WHERE identity + CASE WHEN shares_counterpart THEN {unlike!r} ELSE {apart!r} END
                >= {reach!r}
            UNION ALL
            SELECT {keys} FROM (
                SELECT {", ".join(f"b.{c}" for c in pair_keys)}, {_pair_columns(names)}
                FROM if_alike b
                JOIN ({names.sql}) l ON l.{PARTY_KEY} = b.join_key_l
                JOIN ({names.sql}) r ON r.{PARTY_KEY} = b.join_key_r
            )
            WHERE {ALIKE_NAMES}
        )
        GROUP BY join_key_l, join_key_r
        """
    )
    blocked_pairs.drop_table_from_database_and_remove_from_cache()
    linker.table_management.register_blocked_pairs_for_predict(
        db_api.register(candidates, table_name=candidates)
    )
    predictions = _with_party_ids(cursor, db_api, _full(linker, config), kind, keyed)
    for table in (sharing, candidates):
        cursor.execute(f"DROP TABLE {table}")
    return predictions


def _blocked_pairs_with_repeats(linker: Linker) -> SplinkDataFrame:
    """The pairs the linker's blocking rules yield (match_key, join_key_l, join_key_r),
    with a pair that two rules yield listed twice: Splink's blocking for predict less its
    last step, which groups millions of pairs to drop the few repeats (the first pass
    drops them after its bound, among the pairs it keeps)."""
    settings = linker._settings_obj
    columns = settings.column_info_settings
    rules = settings._blocking_rules_to_generate_predictions
    materialise_exploded_id_tables(
        link_type=settings._link_type,
        blocking_rules=rules,
        db_api=linker._db_api,
        splink_df_dict=linker._input_tables_dict,
        source_dataset_input_column=columns.source_dataset_input_column,
        unique_id_input_column=columns.unique_id_input_column,
    )
    pipeline = CTEPipeline()
    enqueue_df_concat(linker, pipeline)
    sqls = block_using_rules_sqls(
        input_tablename_l="__splink__df_concat",
        input_tablename_r="__splink__df_concat",
        blocking_rules=rules,
        link_type=settings._link_type,
        source_dataset_input_column=columns.source_dataset_input_column,
        unique_id_input_column=columns.unique_id_input_column,
    )
    # Every rule's pairs, one after the other (without an exploding rule, already unique).
    pipeline.enqueue_sql(sqls[0]["sql"], "__splink__blocked_id_pairs_with_repeats")
    pairs = linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
    for rule in rules:
        if isinstance(rule, ExplodingBlockingRule):
            rule.drop_materialised_id_pairs_dataframe()
    return pairs


def _pair_columns(side: _Side) -> str:
    """The side's columns of both parties of a pair (`l` and `r`), as `column_l` and
    `column_r`."""
    return ", ".join(
        f"{side_name}.{column} AS {column}_{side_name}"
        for column in side.columns
        for side_name in ("l", "r")
    )


def _with_party_ids(
    cursor: duckdb.DuckDBPyConnection,
    db_api: DuckDBAPI,
    predictions: SplinkDataFrame,
    kind: PartyKind,
    keyed: str,
) -> SplinkDataFrame:
    """Splink's predictions with the parties' ids (party_id_l, party_id_r) in place of
    their keys, the smaller id on the left as Splink puts it when it compares by id:
    where the keys run the other way, each pair of `_l` / `_r` columns is swapped (every
    comparison is symmetric, so only the sides change)."""
    columns = [c[0] for c in cursor.execute(f"DESCRIBE {predictions.physical_name}").fetchall()]
    sided = [c[:-2] for c in columns if c.endswith("_l") and f"{c[:-2]}_r" in columns]
    sided.remove(PARTY_KEY)
    swapped = "l.party_id > r.party_id"
    selected = ["least(l.party_id, r.party_id) AS party_id_l"]
    selected.append("greatest(l.party_id, r.party_id) AS party_id_r")
    for column in columns:
        name, side = column[:-2], column[-2:]
        if name == PARTY_KEY:
            continue
        if name in sided:
            other = f"{name}_r" if side == "_l" else f"{name}_l"
            selected.append(f"CASE WHEN {swapped} THEN p.{other} ELSE p.{column} END AS {column}")
        else:
            selected.append(f"p.{column}")
    table = f"{kind.kind}_predictions"
    cursor.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT {", ".join(selected)}
        FROM {predictions.physical_name} p
        JOIN {keyed} l ON l.{PARTY_KEY} = p.{PARTY_KEY}_l
        JOIN {keyed} r ON r.{PARTY_KEY} = p.{PARTY_KEY}_r
        """
    )
    predictions.drop_table_from_database_and_remove_from_cache()
    cursor.execute(f"DROP VIEW {keyed}")
    return db_api.register(table, table_name=table)


@dataclass(frozen=True)
class _Side:
    sql: str  # one row per party: its key and the columns the bounds read
    columns: tuple[str, ...]


def _side_sql(
    records: str, columns: list[str], frequencies: dict[str, SplinkDataFrame], bounds: str
) -> _Side:
    """The party records' columns (and term frequencies) that the bounds read, by the
    names the bounds give them (`name_in_country_l`, `tf_name_in_country_r`)."""
    read = set(re.findall(r"\b(\w+?)_[lr]\b", bounds))
    joins, selected = [], []
    for column, table in frequencies.items():
        if f"tf_{column}" in read:
            alias = f"tf_{len(joins)}"
            joins.append(
                f" LEFT JOIN {table.physical_name} {alias} ON {alias}.{column} = p.{column}"
            )
            selected.append(f"{alias}.tf_{column}")
    names = [f"tf_{column}" for column in frequencies if f"tf_{column}" in read]
    record_columns = sorted(read.intersection(columns) - {PARTY_KEY})
    selected = [f"p.{PARTY_KEY}", *(f"p.{c}" for c in record_columns), *selected]
    sql = f"SELECT {', '.join(selected)} FROM {records} p{''.join(joins)}"
    return _Side(sql, (*record_columns, *names))


def _comparison_bound_sql(levels: list[Any], missing: str | None = None) -> str:
    """The most match weight (with the pair's term-frequency adjustment) one identity
    comparison can give a pair: exact where the pair is at its null level (0) or its first
    level, else the greatest of its other levels' weights. Splink's own weights and
    adjustment SQL, so the bound is the very sum Splink would form at those levels.
    `missing` (a comparison with unheeded pairs, see Comparison.unheeded_sql): the null
    level's condition without them; a pair at the first level may then be unheeded, and
    counts the greater of 0 and the level's weight (no names compared for millions of
    blocked pairs)."""
    null = [level for level in levels if level.is_null_level]
    scored = [level for level in levels if not level.is_null_level]
    first, rest = scored[0], scored[1:]
    cases = [f"WHEN {missing or level.sql_condition} THEN 0" for level in null[:1]]
    if first._is_else_level or not rest:
        best = _greatest_weight_sql(scored, levels)
        return f"CASE {' '.join(cases)} ELSE {best} END" if cases else best
    first_weight = _greatest_weight_sql([first], levels)
    if missing is not None:
        first_weight = f"greatest(0.0, {first_weight})"
    cases.append(f"WHEN {first.sql_condition} THEN {first_weight}")
    return f"CASE {' '.join(cases)} ELSE {_greatest_weight_sql(rest, levels)} END"


def _greatest_weight_sql(candidates: list[Any], levels: list[Any]) -> str:
    """The greatest of the `candidates` levels' weights for the pair. Levels whose
    term-frequency adjustment is the same expression (every name level adjusts by how
    common the name is) are taken together: the adjustment is computed once and added to
    the greatest of their weights."""
    best: dict[str, float] = {}
    for level in candidates:
        # Splink's adjustment of the pair as if it were at this level.
        adjustment = level._tf_adjustment_sql(GAMMA, levels).replace(
            f"{GAMMA} = {level.comparison_vector_value}", "TRUE", 1
        )
        weight = level._match_weight
        best[adjustment] = max(best.get(adjustment, weight), weight)
    terms = [
        f"(cast({weight!r} as float8) + (CASE {adjustment} END))"
        for adjustment, weight in best.items()
    ]
    return terms[0] if len(terms) == 1 else f"greatest({', '.join(terms)})"


def _full(linker: Linker, config: ResolutionConfig) -> SplinkDataFrame:
    return linker.inference.predict(
        threshold_match_probability=config.threshold, warning_mode="never"
    )


def _weight(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def _same_pair(blocked: str, sharing: str) -> str:
    return (
        f"{sharing}.left_id = least({blocked}.join_key_l, {blocked}.join_key_r) "
        f"AND {sharing}.right_id = greatest({blocked}.join_key_l, {blocked}.join_key_r)"
    )


def sharing_pairs_sql(records: str, kind: PartyKind) -> str:
    """Every pair of parties (their keys, left_id < right_id) with a distinctive
    counterpart in common, or (a kind with a rare level) a rare counterpart person in
    common: the rare level needs no account in common (two wallets of one facilitator,
    one paid from each remitter). A join on the counterparts, each shared by at most
    `behaviour.max_counterpart_parties` parties, so bounded like the blocking rule on them."""
    exploded = shared_counterparts_sql(records, kind, PARTY_KEY)
    return f"""
        WITH exploded AS ({exploded})
        SELECT DISTINCT l.{PARTY_KEY} AS left_id, r.{PARTY_KEY} AS right_id
        FROM exploded l JOIN exploded r
            ON l.listed = r.listed AND l.counterpart = r.counterpart
            AND l.{PARTY_KEY} < r.{PARTY_KEY}
    """


def behaviour_bound(
    kind: PartyKind,
    config: ResolutionConfig,
    model: Model,
    *,
    in_common: Literal["none", "unlike_names", "any"] = "none",
) -> float | None:
    """The most match weight the behavioural comparisons can add to a pair: the best
    level of each (its null level counts 0), where the counterparts comparison is held
    to the levels a pair can reach with `in_common`: "none" (no distinctive counterpart in
    common) its last level ("none in common"); "unlike_names" (counterparts in common,
    names not alike: ALIKE_NAMES false) the levels that do not ask for names alike; "any"
    every level. None where a behavioural level is weighed by term frequency (no fixed
    bound)."""
    comparisons = comparisons_for(kind)
    behavioural = {c.name for c in comparisons if c.behavioural}
    bound = 0.0
    for comparison in comparison_dicts(kind, config, model.levels, term_frequencies=model.trained):
        name = comparison["output_column_name"]
        if name not in behavioural:
            continue
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        if any(lv.get("tf_adjustment_column") for lv in levels):
            return None
        if name == kind.counterparts and in_common == "none":
            levels = levels[-1:]  # no counterpart in common: only the last level
        elif name == kind.counterparts and in_common == "unlike_names":
            levels = [lv for lv in levels if not _asks_for_alike_names(lv["sql_condition"])]
        bound += max(0.0, *(_level_weight(lv) for lv in levels))
    return bound


def _asks_for_alike_names(condition: str) -> bool:
    """Whether a level's condition holds only for names alike: ALIKE_NAMES is one of the
    terms its top-level ANDs join (a condition with an OR outside parentheses is not
    read, and so counts as not asking)."""
    depth, top_level = 0, []
    for char in condition:
        depth += (char == "(") - (char == ")")
        top_level.append(char if depth == 0 else "_")
    masked = "".join(top_level)
    if re.search(r"\bOR\b", masked, re.IGNORECASE):
        return False
    # Cut the condition where its top-level ANDs stand: a term is ALIKE_NAMES itself, not
    # a NOT (...) or a comparison that merely contains it.
    cuts = [m.span() for m in re.finditer(r"\s+AND\s+", masked, re.IGNORECASE)]
    starts, ends = [0, *(end for _, end in cuts)], [*(start for start, _ in cuts), len(condition)]
    return any(condition[a:b].strip() == ALIKE_NAMES for a, b in zip(starts, ends, strict=True))


def _level_weight(level: dict[str, Any]) -> float:
    return math.log2(level["m_probability"] / level["u_probability"])
