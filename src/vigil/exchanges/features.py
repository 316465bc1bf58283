"""Per-party exchange features for the indicator catalogue (E1, E2, E3, E5).

When the workspace holds exchanges, the scan rebuilds the identifier bridge and the
payment-message links (payments may have been added since the import) and counts, per
sender and per beneficiary: counterparts met in a chat or call, and payments with a
reference, amount or session link. Without exchanges every count is 0, so the catalogue's
exchange indicators never fire and the scores are those of the payments alone.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from vigil.exchanges.bridge import LINKS as PARTY_LINKS
from vigil.exchanges.bridge import build_links
from vigil.exchanges.config import load_windows
from vigil.exchanges.correlate import EXCHANGE_LINKS, build_exchange_links
from vigil.exchanges.store import has_exchanges
from vigil.workspace import Workspace

FEATURES: tuple[str, ...] = (
    "exchange_counterparts",
    "exchange_reference_payments",
    "exchange_amount_payments",
    "exchange_session_payments",
)


def refresh_links(ws: Workspace) -> bool:
    """Rebuild the bridge and the links when exchanges exist; True when they do."""
    if not has_exchanges(ws):
        return False
    build_links(ws)
    build_exchange_links(ws)
    return True


def _counts_sql(kind: str) -> str:
    windows = load_windows()
    shortest = windows.session_min_duration_minutes * 60
    longest = windows.session_max_duration_minutes * 60
    other = "beneficiary" if kind == "sender" else "sender"
    return f"""
WITH counterparts AS (
    SELECT mine.party_id, count(DISTINCT theirs.party_id) AS exchange_counterparts
    FROM {PARTY_LINKS} mine
    JOIN {PARTY_LINKS} theirs ON theirs.thread_key = mine.thread_key
        AND theirs.party_kind = '{other}'
    JOIN pair_features pf ON pf.{kind}_id = mine.party_id AND pf.{other}_id = theirs.party_id
    WHERE mine.party_kind = '{kind}'
    GROUP BY mine.party_id
),
linked AS (
    SELECT {kind}_id AS party_id,
        count(DISTINCT txn_id) FILTER (kind = 'reference') AS exchange_reference_payments,
        count(DISTINCT txn_id) FILTER (kind = 'amount') AS exchange_amount_payments,
        count(DISTINCT txn_id) FILTER (kind = 'timing' AND message_kind = 'call'
            AND duration_seconds BETWEEN {shortest} AND {longest}) AS exchange_session_payments
    FROM {EXCHANGE_LINKS} GROUP BY ALL
)
SELECT coalesce(c.party_id, l.party_id) AS party_id,
    coalesce(c.exchange_counterparts, 0) AS exchange_counterparts,
    coalesce(l.exchange_reference_payments, 0) AS exchange_reference_payments,
    coalesce(l.exchange_amount_payments, 0) AS exchange_amount_payments,
    coalesce(l.exchange_session_payments, 0) AS exchange_session_payments
FROM counterparts c FULL JOIN linked l USING (party_id)"""


def with_exchange_features(
    ws: Workspace, features: ir.Table, kind: str, *, refreshed: bool
) -> ir.Table:
    """`features` with the exchange counts joined on (0 for parties without exchanges)."""
    if not refreshed:
        return features.mutate(**{name: ibis.literal(0, "int64") for name in FEATURES})
    table = f"{kind}_exchange_features"
    ws.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {_counts_sql(kind)}")
    counts = ws.table(table)
    joined = features.left_join(counts, "party_id").drop("party_id_right")
    return joined.mutate(**{name: joined[name].fill_null(0).cast("int64") for name in FEATURES})
