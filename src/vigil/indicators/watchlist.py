"""Watchlists from police or the FIU: matched by id exactly and by name fuzzily (rapidfuzz)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rapidfuzz import fuzz, process, utils

from vigil.errors import InputError
from vigil.geo import country_codes

KINDS = ("beneficiary", "sender")
NAME_MATCH_SCORE = 90  # token-sort ratio: order, case and punctuation do not matter


def load_watchlist(path: Path) -> pl.DataFrame:
    """kind, id, name, country, source: one entry per row, each with an id or a name."""
    try:
        table = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise InputError(f"{path}: cannot read the watchlist: {error}") from error
    missing = [c for c in ("kind", "source") if c not in table.columns]
    if missing or not ({"id", "name"} & set(table.columns)):
        need = ", ".join(missing) if missing else "id or name"
        raise InputError(f"{path}: watchlist needs column(s) {need}")
    for column in ("id", "name", "country"):
        if column not in table.columns:
            table = table.with_columns(pl.lit(None, pl.String).alias(column))
    table = table.with_row_index("row", offset=1).with_columns(
        pl.col("id", "name", "country", "kind", "source").str.strip_chars().replace("", None)
    )
    checks = [
        (~pl.col("kind").is_in(KINDS), "kind", "must be beneficiary or sender"),
        (pl.col("id").is_null() & pl.col("name").is_null(), "id", "needs an id or a name"),
        (
            pl.col("country").is_not_null() & ~pl.col("country").is_in(sorted(country_codes())),
            "country",
            "is not an ISO 3166-1 alpha-2 code",
        ),
    ]
    for condition, column, rule in checks:
        bad = table.filter(condition.fill_null(True) if column == "kind" else condition)
        if bad.height:
            raise InputError(f"{path}: row {bad['row'][0]}, column '{column}': {rule}")
    return table.with_columns(pl.col("source").fill_null("watchlist"))


def match_watchlist(watchlist: pl.DataFrame, parties: pl.DataFrame) -> pl.DataFrame:
    """Matches of (party_kind, party_id, name, country) against the list: party, source, how."""
    matches: list[pl.DataFrame] = []
    by_id = watchlist.filter(pl.col("id").is_not_null())
    if by_id.height:
        matches.append(
            parties.join(by_id, left_on=["party_kind", "party_id"], right_on=["kind", "id"]).select(
                "party_kind", "party_id", "source", how=pl.lit("id")
            )
        )
    for entry in watchlist.filter(pl.col("name").is_not_null()).iter_rows(named=True):
        # One entry at a time (lists are short); rapidfuzz scans the names in C.
        pool = parties.filter(pl.col("party_kind") == entry["kind"])
        if entry["country"]:
            pool = pool.filter(pl.col("country") == entry["country"])
        found = process.extract(
            entry["name"],
            pool["name"].to_list(),
            scorer=fuzz.token_sort_ratio,
            processor=utils.default_process,
            score_cutoff=NAME_MATCH_SCORE,
            limit=None,
        )
        if found:
            rows = [index for _name, _score, index in found]
            matches.append(
                pool[rows].select(
                    "party_kind", "party_id", source=pl.lit(entry["source"]), how=pl.lit("name")
                )
            )
    if not matches:
        return pl.DataFrame(
            schema={
                "party_kind": pl.String,
                "party_id": pl.String,
                "source": pl.String,
                "how": pl.String,
            }
        )
    return pl.concat(matches).unique(["party_kind", "party_id", "source"], maintain_order=True)
