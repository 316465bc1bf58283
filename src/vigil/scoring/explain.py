"""Per-indicator contributions that add up to the score, each with the figures behind it."""

from __future__ import annotations

import re

from vigil.indicators.catalogue import Catalogue, Indicator, Signal

_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]*))?\}")


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def figures_sql(indicator: Indicator | Signal, constants: dict[str, float]) -> str:
    """The catalogue's figures template as a DuckDB format() call over feature columns."""
    args: list[str] = []

    def format_field(match: re.Match[str]) -> str:
        name, spec = match.group(1), match.group(2) or ""
        column = repr(constants[name]) if name in constants else f'"{name}"'
        if spec.endswith("%"):  # Python's percent format, which DuckDB's fmt lacks
            args.append(f"CAST({column} AS DOUBLE) * 100")
            return "{:" + spec[:-1] + "f}%"
        args.append(f"CAST({column} AS DOUBLE)" if spec else column)
        return "{:" + spec + "}" if spec else "{}"

    template = _PLACEHOLDER.sub(format_field, indicator.figures)
    template = template.replace("'", "''")
    return f"format('{template}'{''.join(', ' + a for a in args)})"


def contributions_sql(
    catalogue: Catalogue, kind: str, scored_table: str, constants: dict[str, float]
) -> str:
    """One row per fired indicator of each party: contribution = score × points / all points."""
    selects = []
    for ind in catalogue.for_party(kind):
        selects.append(
            f"""SELECT '{kind}' AS party_kind, party_id, {_sql_string(ind.id)} AS indicator,
                   "p_{ind.id}" AS points, "s_{ind.id}" AS strength,
                   CAST("{ind.feature}" AS DOUBLE) AS value,
                   score * "p_{ind.id}" / points AS contribution,
                   {figures_sql(ind, constants)} AS figures
            FROM {scored_table} WHERE "p_{ind.id}" > 0"""
        )
    return "\nUNION ALL\n".join(selects)


def typology_fits_sql(
    catalogue: Catalogue, kind: str, scored_table: str, constants: dict[str, float]
) -> str | None:
    """One row per look-alike typology a party fits: its fit and the figures of its signals."""
    selects = []
    for typ in catalogue.typologies_for(kind):
        figures = " || '; ' || ".join(figures_sql(s, constants) for s in typ.signals)
        selects.append(
            f"""SELECT '{kind}' AS party_kind, party_id, {_sql_string(typ.id)} AS typology,
                   "fit_{typ.id}" AS fit, {figures} AS figures
            FROM {scored_table} WHERE "fit_{typ.id}" > 0"""
        )
    return "\nUNION ALL\n".join(selects) or None
