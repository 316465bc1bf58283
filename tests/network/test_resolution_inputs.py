"""The tables entity resolution builds before Splink: the party records and the namesake
shares, on tiny hand-made parties.

Both are worked out the short way (records once per name, country and city; namesake pairs
compared in full only where they share a counterpart): these tests hold them to what the
long way gives.
"""

from __future__ import annotations

import duckdb
import pytest

from vigil.network.resolution_config import load_resolution_config
from vigil.network.resolution_model import (
    BENEFICIARY,
    PAIR_COLUMNS,
    SENDER,
    comparisons_for,
    namesake_levels_sql,
    party_records_sql,
)

# Sender ids at two remitters: (party_id, name, reporter, payees, first day, last day).
# Four "Juan Cruz" (one written "CRUZ, Juan") at remitter A, one at remitter B, one
# "Ana Reyes" alone: a customer's two ids handing over the same two payees, a namesake with
# no distinctive payee, and two whose one payee in common is another's too.
SENDERS = [
    ("S1", "Juan Cruz", "A", ["B1", "B2"], 19000, 19100),
    ("S2", "CRUZ, Juan", "A", ["B1", "B2"], 19090, 19300),
    ("S3", "Juan Cruz", "A", None, 19000, 19010),
    ("S4", "Juan Cruz", "A", ["B2", "B7", "B8", "B9"], 19020, 19400),
    ("S5", "Juan Cruz", "B", ["B1"], 19100, 19500),
    ("S6", "Ana Reyes", "A", ["B3"], 19000, 19200),
]


TIMING_LEVELS = {("timing", "churn"), ("timing", "other")}


def _senders(con: duckdb.DuckDBPyConnection) -> None:
    names = ", ".join(f"('{p}', '{n}', 'PH', NULL, '{r}')" for p, n, r, *_ in SENDERS)
    con.execute(
        f"CREATE TABLE names AS SELECT * FROM (VALUES {names}) "
        "t(party_id, name, country, city, reporter)"
    )
    behaviour = ", ".join(
        f"('{p}', {'NULL' if payees is None else payees}::VARCHAR[], "
        f"{'NULL' if payees is None else payees}::VARCHAR[], {len(payees or [1])}, {a}, {b})"
        for p, _, _, payees, a, b in SENDERS
    )
    con.execute(
        f"CREATE TABLE behaviour AS SELECT * FROM (VALUES {behaviour}) "
        "t(party_id, counterparts, rare_counterparts, counterpart_count, first_day, last_day)"
    )
    config = load_resolution_config(None)
    con.execute(
        f"CREATE TABLE records AS {party_records_sql(SENDER, 'names', 'behaviour', config)}"
    )
    con.execute("CREATE TABLE reporters AS SELECT party_id, reporter FROM names")


def _every_namesake_pair(con: duckdb.DuckDBPyConnection, by_reporter: bool) -> list[tuple]:
    """The namesake shares the long way: every pair of one name, every level tried."""
    columns = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in PAIR_COLUMNS)
    same_reporter = " AND l.reporter = r.reporter" if by_reporter else ""
    con.execute(
        f"CREATE OR REPLACE TABLE pairs AS SELECT {columns} FROM records l JOIN records r "
        f"ON l.namesake_key = r.namesake_key AND l.party_id < r.party_id{same_reporter}"
    )
    selects = []
    for comparison in comparisons_for(SENDER):
        if comparison.behavioural:
            levels = comparison.levels
            cases = " ".join(f"WHEN {level.sql} THEN '{level.key}'" for level in levels[:-1])
            selects.append(
                f"SELECT '{comparison.name}', CASE {cases} ELSE '{levels[-1].key}' END AS level, "
                "count(*) / sum(count(*)) OVER (), sum(count(*)) OVER () "
                f"FROM pairs WHERE NOT ({comparison.null_sql}) GROUP BY level"
            )
    return con.execute(" UNION ALL ".join(selects) + " ORDER BY ALL").fetchall()


@pytest.mark.parametrize("by_reporter", [False, True], ids=["one remitter", "FIU"])
def test_namesake_shares_are_those_of_every_namesake_pair(by_reporter: bool) -> None:
    con = duckdb.connect()
    _senders(con)
    reporters = "SELECT party_id, reporter FROM reporters" if by_reporter else None
    shares = con.execute(namesake_levels_sql(SENDER, "records", reporters)).fetchall()
    assert shares == _every_namesake_pair(con, by_reporter)
    pairs = {comparison: pairs for comparison, _, _, pairs in shares}
    levels = {(comparison, level) for comparison, level, _, _ in shares}
    if by_reporter:
        # Only the four at remitter A are paired (S3, without a distinctive payee, only
        # on timing): no payee in common at another remitter can show.
        assert pairs == {"payees": 3, "timing": 6}
        assert levels == {("payees", "most"), ("payees", "one"), *TIMING_LEVELS}
    else:
        assert pairs == {"payees": 6, "timing": 10}
        payees = {"handover", "most", "none", "one", "rare"}
        assert levels == {*(("payees", level) for level in payees), *TIMING_LEVELS}


def test_a_record_counts_the_parties_of_its_name_key_not_its_spellings() -> None:
    """Two parties of one name in one city share one worked-out record but count as two:
    with a block cap of 2, a third "Juan Cruz" in another city puts the name over the cap
    in the country, and the pair in Cebu stays under it in the city."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE names AS SELECT * FROM (VALUES "
        "('B1', 'Juan Cruz', 'PH', 'Cebu City', NULL), "
        "('B2', 'Juan Cruz', 'PH', 'Cebu City', NULL), "
        "('B3', 'Juan Cruz', 'PH', 'Davao', NULL), "
        "('B4', 'Ana Reyes', 'ph', 'Cebu City', NULL)) "
        "t(party_id, name, country, city, reporter)"
    )
    con.execute(
        "CREATE TABLE behaviour AS SELECT * FROM (VALUES "
        "('B1', ['S1'], ['S1'], 1, 19000, 19100), ('B2', NULL, NULL, 1, 19000, 19100), "
        "('B3', ['S3'], ['S3'], 1, 19000, 19100), ('B4', ['S4'], NULL, 1, 19000, 19100)) "
        "t(party_id, counterparts, rare_counterparts, counterpart_count, first_day, last_day)"
    )
    config = load_resolution_config(None)
    config = config.model_copy(update={"max_block_size": 2, "max_country_block_size": 2})
    con.execute(
        f"CREATE TABLE records AS {party_records_sql(BENEFICIARY, 'names', 'behaviour', config)}"
    )
    rows = con.execute(
        "SELECT party_id, country, token_keys_city, token_keys_country, core_key, "
        "counterpart_keys, rare_counterparts FROM records"
    ).fetchall()
    assert rows == [
        ("B1", "PH", ["cruz cj", "juan cj"], None, None, ["S1"], ["S1"]),
        ("B2", "PH", ["cruz cj", "juan cj"], None, None, [], []),
        ("B3", "PH", ["cruz cj", "juan cj"], None, None, ["S3"], ["S3"]),
        ("B4", "PH", ["ana ar", "reyes ar"], ["ana ar", "reyes ar"], "ana reyes", ["S4"], []),
    ]
