"""`vigil share link`: the linkage unit's work, done without any key.

It joins the institutions' share files on their tokens: one account token is one account
whoever pays it; two account tokens are one beneficiary when they carry the same phone
token *and* their name encodings agree (Dice ≥ `name_threshold`), since a phone alone may be
a family's or an agent's and a name alone is common (collaboration.md: names cap precision,
so they only ever support a link). It then writes, for each institution, one file with the
cross-institution aggregates of the beneficiaries *that institution sent*: how many other
institutions pay it, how many of their customers paying it look suspicious, their score
band. An institution thus learns only about beneficiaries it already pays, and the counts
it learns are bands summed over institutions, never another institution's customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import igraph
import numpy as np
import polars as pl

from vigil.errors import InputError
from vigil.share.encode import CLK_BYTES, dice
from vigil.share.export import (
    EXPORT_COLUMNS,
    FORMAT,
    LINKED_FORMAT,
    band_sql,
    read_parquet,
    write_parquet,
)

NAME_THRESHOLD = 0.8
LINKED_COLUMNS = (
    "account_token",
    "linked_by",
    "elsewhere_institutions",
    "elsewhere_payers",
    "elsewhere_suspicious_payers",
    "elsewhere_pattern_payers",
    "elsewhere_suspicious_institutions",
    "elsewhere_score_band",
)


@dataclass(frozen=True)
class LinkResult:
    out: Path
    files: dict[str, Path]  # institution → its linked file
    beneficiaries: int  # linked beneficiaries paid at two institutions or more
    phone_links: int  # account pairs joined by phone and name


def link_shares(
    exports: Sequence[Path | str], out: Path | str, *, name_threshold: float = NAME_THRESHOLD
) -> LinkResult:
    """Link the share files `exports` and write `out`/<institution>.parquet for each."""
    records, institutions, fingerprint = [], [], None
    for path in map(Path, exports):
        frame, meta = read_parquet(path, FORMAT)
        missing = [c for c in EXPORT_COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(f"{path}: share file lacks {', '.join(missing)}")
        name = meta.get("institution", "")
        if not name or name in institutions:
            raise InputError(f"{path}: institution {name!r} is missing or given twice")
        if fingerprint not in (None, meta.get("key_fingerprint")):
            raise InputError(
                f"{path}: made with another key than {exports[0]} (their tokens never match)"
            )
        fingerprint = meta.get("key_fingerprint")
        institutions.append(name)
        records.append(frame.select(EXPORT_COLUMNS).with_columns(institution=pl.lit(name)))
    if len(institutions) < 2:
        raise InputError("linking needs the share files of two institutions or more")
    every = pl.concat(records)

    clusters, phone_links = _clusters(every, name_threshold)
    linked = _aggregates(every.join(clusters, on="account_token"))
    out = Path(out)
    files = {}
    for name in institutions:
        file = out / f"{_safe(name)}.parquet"
        write_parquet(
            linked.filter(pl.col("institution") == name).select(LINKED_COLUMNS),
            file,
            {"format": LINKED_FORMAT, "institution": name, "institutions": str(len(institutions))},
        )
        files[name] = file
    paid_widely = linked.filter(pl.col("elsewhere_institutions") > 0)["cluster"].n_unique()
    return LinkResult(out, files, paid_widely, phone_links)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _clusters(every: pl.DataFrame, name_threshold: float) -> tuple[pl.DataFrame, int]:
    """`account_token → cluster`: connected components of the account tokens, joined where
    two tokens share a phone token and their names agree."""
    accounts = every.group_by("account_token").agg(
        pl.col("phone_token").drop_nulls().first(), pl.col("name_clk").first()
    )
    accounts = accounts.sort("account_token").with_row_index("vertex")
    pairs = duckdb.sql(
        """SELECT a.vertex AS left_vertex, b.vertex AS right_vertex
           FROM accounts a JOIN accounts b
             ON a.phone_token = b.phone_token AND a.vertex < b.vertex"""
    ).pl()
    clk = np.frombuffer(b"".join(accounts["name_clk"].to_list()), dtype=np.uint8).reshape(
        -1, CLK_BYTES
    )
    left, right = pairs["left_vertex"].to_numpy(), pairs["right_vertex"].to_numpy()
    agree = dice(clk[left], clk[right]) >= name_threshold
    graph = igraph.Graph(
        n=accounts.height, edges=np.column_stack([left[agree], right[agree]]).tolist()
    )
    membership = graph.connected_components().membership
    clusters = accounts.select(
        "account_token",
        cluster=pl.Series(membership, dtype=pl.Int64),
        by_phone=pl.Series(
            np.bincount(np.concatenate([left[agree], right[agree]]), minlength=accounts.height) > 0
        ),
    )
    return clusters, int(agree.sum())


def _aggregates(records: pl.DataFrame) -> pl.DataFrame:
    """Per institution and account token it sent: the figures of the other institutions
    paying the same beneficiary (its cluster)."""
    return duckdb.sql(
        f"""
        WITH per_institution AS (
            SELECT cluster, institution, sum(payers_band) AS payers,
                   sum(suspicious_payers_band) AS suspicious,
                   sum(pattern_payers_band) AS pattern, max(score_band) AS score_band
            FROM records GROUP BY cluster, institution
        ),
        elsewhere AS (
            SELECT o.cluster, o.institution,
                   count(e.institution) AS institutions,
                   coalesce(sum(e.payers), 0) AS payers,
                   coalesce(sum(e.suspicious), 0) AS suspicious,
                   coalesce(sum(e.pattern), 0) AS pattern,
                   count(e.institution) FILTER (e.suspicious > 0) AS suspicious_institutions,
                   coalesce(max(e.score_band), 0) AS score_band
            FROM per_institution o
            LEFT JOIN per_institution e ON e.cluster = o.cluster AND e.institution <> o.institution
            GROUP BY o.cluster, o.institution
        )
        SELECT r.institution, r.account_token, r.cluster,
               CASE WHEN r.by_phone THEN 'account, phone and name' ELSE 'account' END
                   AS linked_by,
               e.institutions::INTEGER AS elsewhere_institutions,
               {band_sql("e.payers")}::INTEGER AS elsewhere_payers,
               {band_sql("e.suspicious")}::INTEGER AS elsewhere_suspicious_payers,
               {band_sql("e.pattern")}::INTEGER AS elsewhere_pattern_payers,
               e.suspicious_institutions::INTEGER AS elsewhere_suspicious_institutions,
               e.score_band AS elsewhere_score_band
        FROM records r JOIN elsewhere e USING (cluster, institution)
        ORDER BY r.institution, r.account_token
        """
    ).pl()
