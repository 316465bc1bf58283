"""Two scans of the same payments compared: the same parties, the same scores, the same
alerts? (`--engine spark` against DuckDB: benchmarks/spark_parity.py and its test.)"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from vigil.schema import PARTY_KINDS as KINDS

SCORE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class KindParity:
    """One party kind of two scans: parties each holds, and how far their figures differ."""

    parties: int  # in the first scan
    only_first: int  # parties the second scan lacks
    only_second: int  # parties the first scan lacks
    max_score_difference: float
    max_points_difference: float
    rank_differences: int  # parties ranked differently (ties may swap)
    fired_differences: int  # parties whose fired indicators differ


@dataclass(frozen=True)
class Parity:
    kinds: dict[str, KindParity]
    alerts_rows: int
    # alerts.csv rows (party, score to 1e-6, indicators fired) not in both
    alerts_differences: int

    @property
    def same(self) -> bool:
        """Same parties, scores within SCORE_TOLERANCE, same indicators fired, same alerts."""
        return self.alerts_differences == 0 and all(
            k.only_first == 0
            and k.only_second == 0
            and k.max_score_difference <= SCORE_TOLERANCE
            and k.fired_differences == 0
            for k in self.kinds.values()
        )

    def to_dict(self) -> dict:
        return {**asdict(self), "same": self.same}


def compare_scans(first: Path, second: Path) -> Parity:
    """Compares two finished scans: their workspace files and the alerts.csv beside each
    (`first` and `second` are the scans' output folders, each with vigil.duckdb)."""
    con = duckdb.connect()
    try:
        for alias, folder in (("a", first), ("b", second)):
            path = str(Path(folder) / "vigil.duckdb").replace("'", "''")
            con.execute(f"ATTACH '{path}' AS {alias} (READ_ONLY)")
        kinds = {kind: _kind(con, kind) for kind in KINDS}
        rows, differences = _alerts(con, Path(first) / "alerts.csv", Path(second) / "alerts.csv")
    finally:
        con.close()
    return Parity(kinds, rows, differences)


def _kind(con: duckdb.DuckDBPyConnection, kind: str) -> KindParity:
    figures = con.execute(
        f"""SELECT count(x.party_id), count(*) FILTER (y.party_id IS NULL),
                   count(*) FILTER (x.party_id IS NULL),
                   coalesce(max(abs(x.score - y.score)), 0),
                   coalesce(max(abs(x.points - y.points)), 0),
                   count(*) FILTER (x.rank <> y.rank)
            FROM a.{kind}_scores x FULL JOIN b.{kind}_scores y USING (party_id)"""
    ).fetchall()[0]
    fired = con.execute(
        f"""WITH x AS (SELECT party_id, string_agg(indicator, ';' ORDER BY indicator) AS ids
                       FROM a.indicator_hits WHERE party_kind = '{kind}' GROUP BY ALL),
                 y AS (SELECT party_id, string_agg(indicator, ';' ORDER BY indicator) AS ids
                       FROM b.indicator_hits WHERE party_kind = '{kind}' GROUP BY ALL)
            SELECT count(*) FROM x FULL JOIN y USING (party_id)
            WHERE x.ids IS DISTINCT FROM y.ids"""
    ).fetchall()[0][0]
    return KindParity(*(int(v) for v in figures[:3]), *figures[3:5], int(figures[5]), fired)


def _alerts(con: duckdb.DuckDBPyConnection, first: Path, second: Path) -> tuple[int, int]:
    """alerts.csv rows in one file and not the other, comparing party, score (to 1e-6) and
    the indicators fired (ranks are compared per kind: two scores equal but for the 16th
    digit may swap places). Indicators are listed by contribution, and two of equal
    contribution may come in either order (their sums differ in the 16th digit between
    engines), so they are compared as a set."""
    rows = []
    for path in (first, second):
        quoted = str(path).replace("'", "''")
        rows.append(
            "SELECT party_kind, party_id, round(score::DOUBLE, 6) AS score, "
            "list_sort(string_split(indicators, ';')) AS indicators "
            f"FROM read_csv('{quoted}', all_varchar = true, header = true)"
        )
    total = con.execute(f"SELECT count(*) FROM ({rows[0]})").fetchall()[0][0]
    only = con.execute(
        f"SELECT count(*) FROM (({rows[0]} EXCEPT ALL {rows[1]}) "
        f"UNION ALL ({rows[1]} EXCEPT ALL {rows[0]}))"
    ).fetchall()[0][0]
    return int(total), int(only)
