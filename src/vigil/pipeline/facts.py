"""Per-payment facts for the feature stage, full or incremental."""

from __future__ import annotations

import ibis.expr.types as ir

from vigil.features.local_time import OFFSET_COLUMNS, offset_intervals
from vigil.features.payments import payment_facts
from vigil.indicators.catalogue import Catalogue
from vigil.workspace import Workspace


def refresh_offsets(ws: Workspace) -> None:
    """`country_offsets`: each beneficiary country's UTC offsets over the workspace's period."""
    lo, hi = ws.con.execute("SELECT min(ts_utc), max(ts_utc) FROM payments").fetchall()[0]
    countries = [
        c for (c,) in ws.con.execute("SELECT DISTINCT beneficiary_country FROM payments").fetchall()
    ]
    ws.replace_table_rows("country_offsets", OFFSET_COLUMNS, offset_intervals(countries, lo, hi))


def facts_of(ws: Workspace, catalogue: Catalogue, payments: ir.Table) -> ir.Table:
    """Per-payment facts of `payments` (all of them, or the ones an increment reaches);
    `country_offsets` must be current."""
    return payment_facts(
        payments,
        ws.table("country_offsets"),
        catalogue.parameters,
        ws.table("sender_entities"),
        ws.table("beneficiary_entities"),
    )


def build_payment_facts(ws: Workspace, catalogue: Catalogue, payments: ir.Table) -> ir.Table:
    refresh_offsets(ws)
    return facts_of(ws, catalogue, payments)
