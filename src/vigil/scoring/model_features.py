"""What the ranking model reads: the numeric columns of a scores table, their typology
direction, and the catalogue indicator each one explains.

The feature list is derived from the table's schema, never spelled here: new feature
columns (network, entity resolution) join the model when it is retrained.
"""

from __future__ import annotations

import re

import duckdb

from vigil.indicators.catalogue import Catalogue

# Identity, the expert's own combination of the indicators, and what the model itself writes.
EXCLUDED_COLUMNS = frozenset(
    {"party_id", "name", "country", "points", "score", "rank", "expert_score", "expert_rank"}
)
EXCLUDED_PREFIXES = ("p_",)  # points per indicator: the expert weights, not evidence
STRENGTH_PREFIX = "s_"
FIT_PREFIX = "fit_"  # a party's fit to a look-alike typology
OTHER_BEHAVIOUR = "other"  # explanation bucket for features that feed no indicator
_NUMERIC = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|DOUBLE|FLOAT|REAL|DECIMAL.*|BOOLEAN)$")


def numeric_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The model's candidate features: numeric columns of `table` in schema order."""
    rows = con.execute(f'DESCRIBE "{table}"').fetchall()
    return [
        name
        for name, column_type, *_ in rows
        if _NUMERIC.match(str(column_type).upper())
        and name not in EXCLUDED_COLUMNS
        and not name.startswith(EXCLUDED_PREFIXES)
        and not name.endswith("_id")  # identifiers (a community's number says nothing)
    ]


def monotone_directions(features: list[str], catalogue: Catalogue, kind: str) -> list[int]:
    """+1 where more of the feature can only mean more risk (an indicator's strength, or
    the feature an indicator tests upwards), -1 for a test downwards, 0 where the typology
    does not say (context figures, volumes, amounts)."""
    direction: dict[str, set[int]] = {}
    for ind in catalogue.for_party(kind):
        direction.setdefault(f"{STRENGTH_PREFIX}{ind.id}", set()).add(1)
        direction.setdefault(ind.feature, set()).add(1 if ind.direction == "above" else -1)
    out = []
    for feature in features:
        signs = direction.get(feature, set())
        if feature.startswith(FIT_PREFIX) or feature == "contrast_discount":
            signs = {-1}  # a better fit to a look-alike typology never means more risk
        if feature == "expert_score":
            signs = {1}
        out.append(signs.pop() if len(signs) == 1 else 0)
    return out


def indicator_groups(features: list[str], catalogue: Catalogue, kind: str) -> dict[str, list[str]]:
    """Each feature's indicators: its strength column, the feature it tests, then the figures
    it is reported with; a feature no indicator names explains as 'other behaviour'."""
    indicators = catalogue.for_party(kind)
    tested: dict[str, list[str]] = {}
    shown: dict[str, list[str]] = {}
    for ind in indicators:
        tested.setdefault(ind.feature, []).append(ind.id)
        for name in ind.figure_fields:
            if name != ind.feature and ind.id not in shown.get(name, []):
                shown.setdefault(name, []).append(ind.id)
    groups = {}
    for feature in features:
        if feature == "expert_score":
            groups[feature] = ["expert"]
        elif feature.startswith(STRENGTH_PREFIX) and any(
            feature == f"{STRENGTH_PREFIX}{i.id}" for i in indicators
        ):
            groups[feature] = [feature.removeprefix(STRENGTH_PREFIX)]
        else:
            groups[feature] = tested.get(feature) or shown.get(feature) or [OTHER_BEHAVIOUR]
    return groups
