"""Scoring only the pairs that can link gives the very links the full scoring gives.

The first pass drops pairs without a distinctive counterpart in common whose best possible
weight stays under the threshold; these tests hold it to Splink scoring every blocked pair,
and check the one fact about the comparisons the bound rests on.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from splink.backends.duckdb import DuckDBAPI
from splink.internals.linker_components.training import LinkerTraining

from tests.network.test_resolution import _workspace
from tests.network.test_resolution_phone import phoned_population_rows
from vigil.network import resolution_scoring, resolution_training
from vigil.network.resolution import META_MODELS, resolve_entities
from vigil.network.resolution_config import DEFAULT_CONFIG, load_resolution_config
from vigil.network.resolution_model import (
    BENEFICIARY,
    SENDER,
    PartyKind,
    counterparts_comparison,
    party_records_sql,
)
from vigil.network.resolution_training import prior_model
from vigil.workspace import Workspace

ENTITIES = "SELECT * FROM beneficiary_entities UNION ALL SELECT * FROM sender_entities ORDER BY ALL"
LINKS = (
    "SELECT party_kind, left_id, right_id, match_probability, match_weight, explanation "
    "FROM entity_links ORDER BY ALL"
)


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    # With phones: the phone comparison's bound is held to the full scoring too.
    ws = _workspace(tmp_path_factory.mktemp("scoring"), phoned_population_rows())
    yield ws
    ws.close()


def test_pruned_scoring_links_exactly_what_scoring_every_pair_links(
    population: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve_entities(population)
    pruned = population.con.execute(LINKS).fetchall()
    entities = population.con.execute(ENTITIES).fetchall()
    # No bound: Splink scores every blocked pair, as before the two passes.
    monkeypatch.setattr(resolution_scoring, "behaviour_bound", lambda *_, **__: None)
    resolve_entities(population)
    full = population.con.execute(LINKS).fetchall()
    assert len(pruned) == len(full) > 10
    for mine, theirs in zip(pruned, full, strict=True):
        assert mine[:3] == theirs[:3]
        assert mine[3] == pytest.approx(theirs[3], abs=1e-12)
        assert mine[4] == pytest.approx(theirs[4], abs=1e-9)
        assert mine[5] == theirs[5]
    assert entities == population.con.execute(ENTITIES).fetchall()


def _two_accounts(
    con: duckdb.DuckDBPyConnection,
    second_name: str,
    counterparts: tuple[list[str], list[str]],
    rare: tuple[list[str], list[str]],
) -> None:
    """Tables `names` and `behaviour` of accounts A (Maria Cristina Santos) and B
    (`second_name`) in Cebu City, at two reporters, B starting as A stops."""
    con.execute(
        "CREATE TABLE names AS SELECT * FROM (VALUES "
        "('A', 'Maria Cristina Santos', 'PH', 'Cebu City', 'Bank A'), "
        "('B', $second_name, 'PH', 'Cebu City', 'Remit B')) "
        "t(party_id, name, country, city, reporter)",
        {"second_name": second_name},
    )
    con.execute(
        "CREATE TABLE behaviour AS SELECT * FROM (VALUES "
        "('A', $a, $rare_a, len($a), 19000, 19100), "
        "('B', $b, $rare_b, len($b), 19090, 19300)) "
        "t(party_id, counterparts, rare_counterparts, counterpart_count, first_day, last_day)",
        {"a": counterparts[0], "b": counterparts[1], "rare_a": rare[0], "rare_b": rare[1]},
    )


def _pair(
    kind: PartyKind,
    tmp_path: Path,
    second_name: str,
    counterparts: tuple[list[str], list[str]],
) -> duckdb.DuckDBPyConnection:
    """Table `pair`: the records of A and B side by side (`_l`, `_r`), every counterpart
    a rare one."""
    con = duckdb.connect(str(tmp_path / "pair.duckdb"))
    _two_accounts(con, second_name, counterparts, counterparts)
    config = load_resolution_config(None)
    con.execute(f"CREATE TABLE records AS {party_records_sql(kind, 'names', 'behaviour', config)}")
    columns = [c[0] for c in con.execute("DESCRIBE records").fetchall()]
    pairs = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns)
    con.execute(
        f"CREATE TABLE pair AS SELECT {pairs} FROM records l JOIN records r "
        "ON l.party_id = 'A' AND r.party_id = 'B'"
    )
    return con


@pytest.mark.parametrize("kind", [BENEFICIARY, SENDER], ids=lambda k: k.kind)
def test_without_a_counterpart_in_common_only_the_last_level_can_hold(
    kind: PartyKind, tmp_path: Path
) -> None:
    """The bound takes a pair that shares no distinctive counterpart to the counterparts
    comparison's last level ("none in common"): no other level may hold for it, even where
    each one's counterparts are all rare ones and the two accounts stop and start in turn."""
    disjoint = (["S1", "S2", "S3"], ["S4", "S5", "S6"])
    con = _pair(kind, tmp_path, "Maria Cristina Santos", disjoint)
    comparison = counterparts_comparison(kind)
    assert con.execute("SELECT name_in_country_l = name_in_country_r FROM pair").fetchall() == [
        (True,)
    ]
    for level in comparison.levels[:-1]:
        held = con.execute(f"SELECT {level.sql} FROM pair").fetchall()[0][0]
        assert not held, f"{comparison.name} level {level.key} holds without a shared counterpart"
    con.close()


def test_the_behaviour_bound_is_the_best_a_pair_sharing_no_one_can_get() -> None:
    """Priors: payers "none in common" weighs log2(0.1 / 0.9452) < 0, so nothing is added
    for it; timing adds its better level, "active side by side" (log2(0.9 / 0.98) < 0
    too) or its null level (0)."""
    config = load_resolution_config(None)
    bound = resolution_scoring.behaviour_bound(BENEFICIARY, config, prior_model(config, 1000))
    none, churn, other = (0.1 / 0.9452), (0.1 / 0.02), (0.9 / 0.98)
    expected = max(0.0, math.log2(none)) + max(0.0, math.log2(churn), math.log2(other))
    assert bound == pytest.approx(expected)
    assert bound == pytest.approx(math.log2(5.0))


def test_predictions_keep_each_side_whatever_order_the_records_are_stored_in(
    tmp_path: Path,
) -> None:
    """Splink compares the parties by their row in the records; stored the other way
    round, a pair still comes out with the smaller id on the left and each side's own
    figures beside it (the explanation reads them: "2 of 3 and 4 distinctive payers")."""
    con = duckdb.connect(str(tmp_path / "sides.duckdb"))
    _two_accounts(
        con,
        "Maria Cristina Santos",
        (["S1", "S2", "S3"], ["S1", "S2", "S4", "S5"]),
        (["S1"], ["S1"]),
    )
    config = load_resolution_config(None)
    records = party_records_sql(BENEFICIARY, "names", "behaviour", config)
    found = {}
    for order in ("ASC", "DESC"):
        table = f"records_{order.lower()}"
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM ({records}) ORDER BY party_id {order}")
        db_api = DuckDBAPI(con)
        frame = db_api.register(table, table_name=f"{table}_input")
        predictions = resolution_scoring.predict(
            con, db_api, frame, BENEFICIARY, config, prior_model(config, 2), {}
        )
        found[order] = con.execute(
            "SELECT party_id_l, party_id_r, len(counterparts_l), len(counterparts_r), "
            f"first_day_l, match_weight FROM {predictions.physical_name}"
        ).fetchall()
    assert found["ASC"] == [("A", "B", 3, 4, 19000, pytest.approx(found["ASC"][0][5]))]
    assert found["DESC"] == found["ASC"]
    con.close()


def test_senders_paying_one_facilitator_through_different_wallets_are_scored_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One customer at two remitters pays two wallets of one resolved facilitator (person
    P1): no account in common, yet the senders' rare level holds, and the pruned scoring
    links the pair exactly as scoring every pair does."""
    con = duckdb.connect(str(tmp_path / "wallets.duckdb"))
    _two_accounts(
        con, "M Cristina Santos", (["W1", "W2", "W3"], ["W4", "W5", "W6"]), (["P1"], ["P1"])
    )
    config = load_resolution_config(None)
    con.execute(
        f"CREATE TABLE records AS {party_records_sql(SENDER, 'names', 'behaviour', config)}"
    )

    def linked() -> list[tuple[Any, ...]]:
        db_api = DuckDBAPI(con)  # a fresh one each time: predict registers its tables
        frame = db_api.register("records", table_name="records_input")
        predictions = resolution_scoring.predict(
            con, db_api, frame, SENDER, config, prior_model(config, 1000), {}
        )
        return con.execute(
            f"SELECT party_id_l, party_id_r, gamma_payees, match_weight "
            f"FROM {predictions.physical_name}"
        ).fetchall()

    pruned = linked()
    monkeypatch.setattr(resolution_scoring, "behaviour_bound", lambda *_, **__: None)
    rare = [lv.key for lv in reversed(counterparts_comparison(SENDER).levels)].index("rare")
    assert pruned == linked() == [("A", "B", rare, pytest.approx(pruned[0][3]))]
    con.close()


@pytest.mark.parametrize("kind", [BENEFICIARY, SENDER], ids=lambda k: k.kind)
def test_payers_in_common_under_unlike_names_reach_only_the_levels_that_allow_them(
    kind: PartyKind, tmp_path: Path
) -> None:
    """The bound of a pair sharing counterparts under names not alike leaves out the levels
    that ask for names alike: every level but "in common, under names that differ" and
    "none in common" asks, and none of them holds for Maria Santos and Jose Reyes, who
    share all their (rare) counterparts and stop and start in turn."""
    con = _pair(kind, tmp_path, "Jose Reyes", (["S1", "S2", "S3"], ["S1", "S2", "S3"]))
    levels = counterparts_comparison(kind).levels
    asking = [lv.key for lv in levels if resolution_scoring._asks_for_alike_names(lv.sql)]
    assert asking == [lv.key for lv in levels if lv.key not in ("unlike_names", "none")]
    assert con.execute(f"SELECT {resolution_scoring.ALIKE_NAMES} FROM pair").fetchall() == [
        (False,)
    ]
    for level in levels[:-1]:  # the last, "none in common", is ELSE
        held = con.execute(f"SELECT {level.sql} FROM pair").fetchall()[0][0]
        assert bool(held) == (level.key == "unlike_names"), level.key
    con.close()


def test_em_on_the_records_taken_out_first_learns_what_splink_sampling_learns(
    population: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With few EM pairs allowed, Splink samples records by a hash of their id; training
    on those records, taken out before the pass, learns the very model Splink's own
    sampling over every record learns."""
    config = tmp_path / "resolution.yaml"
    config.write_text(
        re.sub(r"(?m)^(\s*)em_max_pairs: .*$", r"\1em_max_pairs: 1000", DEFAULT_CONFIG.read_text())
    )
    sampled, probes = [], []
    original = resolution_training._em_sample
    threshold = resolution_training.resolve_em_sample_threshold

    def noting(*args: object, **kwargs: object) -> object:
        sample = original(*args, **kwargs)
        sampled.append(sample is not args[0])
        return sample

    def probing(**kwargs: Any) -> object:
        probes.append(kwargs["probe_proportion"])
        return threshold(**kwargs)

    monkeypatch.setattr(resolution_training, "_em_sample", noting)
    monkeypatch.setattr(resolution_training, "resolve_em_sample_threshold", probing)
    resolve_entities(population, config=config)
    taken_out = _models(population)
    assert any(sampled)  # the pass on names and cities sampled (the namesakes are few)
    # Splink's own sampling over every record, with the same pair cap and probe.
    monkeypatch.setattr(resolution_training, "_em_sample", lambda frame, *_, **__: frame)
    em = LinkerTraining.estimate_parameters_using_expectation_maximisation
    calls = iter(probes)

    def splink_sampling(self: LinkerTraining, rule: object, **kwargs: Any) -> object:
        kwargs.update(max_pairs=1000, record_sample_proportion=next(calls))
        return em(self, rule, **kwargs)

    monkeypatch.setattr(
        LinkerTraining, "estimate_parameters_using_expectation_maximisation", splink_sampling
    )
    resolve_entities(population, config=config)
    splinks = _models(population)
    assert taken_out.keys() == splinks.keys()
    for kind, model in taken_out.items():
        assert model == pytest.approx(splinks[kind], abs=1e-12), kind


def _models(ws: Workspace) -> dict[str, list[float]]:
    """Each kind's kept model as numbers: the prior, then every level's m and u."""
    kept = json.loads(ws.meta_get(META_MODELS))["models"]
    return {
        kind: [
            model["probability_two_random_records_match"],
            *(value or 0.0 for *_, m, u in model["levels"] for value in (m, u)),
        ]
        for kind, model in kept.items()
    }


@pytest.mark.parametrize(
    ("condition", "asks"),
    [
        ("{shared} >= 1 AND {alike}", True),
        ("{alike} AND {shared} >= 2", True),
        ("{shared} >= 1 AND NOT (len(counterparts_l) > 5 AND {alike})", False),
        ("{shared} >= 1 OR {alike}", False),
    ],
)
def test_a_level_asks_for_names_alike_only_where_they_are_one_of_its_terms(
    condition: str, asks: bool
) -> None:
    """A level left out of the bound for unlike names must hold only for names alike: a
    condition that holds where names are NOT alike stays in."""
    sql = condition.format(shared="len(list_intersect(a, b))", alike=resolution_scoring.ALIKE_NAMES)
    assert resolution_scoring._asks_for_alike_names(sql) is asks
