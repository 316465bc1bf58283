"""`vigil exchanges correlate`: the links between one party's exchanges and its payments.

- reference: the payment's txn id or transfer reference (an `mtcn` / `reference` column the
  input carried) is written in a message, within the reference window either side;
- amount: a message in a thread with the payment's counterpart states the payment's amount
  (same currency, or converted within the FX tolerance) within the window before it;
- account: a message in the party's threads writes the beneficiary's wallet or phone within
  that window before the payment;
- timing: a message with the counterpart within the negotiation window before the payment,
  or a call with the counterpart starting within the session window after it.

`gap_seconds` is the payment time minus the message time (positive: the message came first).
Every link carries the figures behind it in `detail`; the SQL finds them, nothing is guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vigil.errors import VigilError
from vigil.exchanges.bridge import LINKS as PARTY_LINKS
from vigil.exchanges.config import CorrelationWindows, load_windows
from vigil.exchanges.store import MESSAGES
from vigil.schema import PARTY_KINDS
from vigil.workspace import Workspace
from vigil.workspace.parties import resolve_kind

LINK_KINDS = ("reference", "amount", "account", "timing")
EXCHANGE_LINKS = "exchange_links"
REFERENCE_KEYS = ("mtcn", "reference", "transfer_reference", "reference_number")


@dataclass(frozen=True)
class Correlation:
    party: dict[str, Any]
    links: list[dict[str, Any]]
    windows: CorrelationWindows

    def to_dict(self) -> dict[str, Any]:
        return {"party": self.party, "windows": self.windows.model_dump(), "links": self.links}


def party_kind(ws: Workspace, party_id: str, kind: str | None) -> str:
    """The party's kind: from the scores when the workspace is scanned, else the payments."""
    if ws.has_table("sender_scores"):
        return resolve_kind(ws, party_id, kind)
    kinds = [kind] if kind else list(PARTY_KINDS)
    found = [
        k
        for k in kinds
        if ws.con.execute(f"SELECT 1 FROM payments WHERE {k}_id = ? LIMIT 1", [party_id]).fetchall()
    ]
    if not found:
        raise VigilError(f"{ws.path}: no party with id {party_id!r} in the payments")
    if len(found) > 1:
        raise VigilError(
            f"{party_id!r} is both a sender and a beneficiary: say which with --party-kind"
        )
    return found[0]


def _reference_sql(source: str = "vigil_corr_pay") -> str:
    """Each payment's references: its txn id and any transfer reference it carried."""
    extra = " UNION ALL ".join(
        "SELECT txn_id, upper(replace(replace("
        f"json_extract_string(extra, '$.{key}'), '-', ''), ' ', '')) "
        f"AS ref, '{key}' AS ref_kind FROM {source} WHERE extra IS NOT NULL"
        for key in REFERENCE_KEYS
    )
    return (
        "SELECT txn_id, upper(replace(txn_id, '-', '')) AS ref, 'txn_id' AS ref_kind "
        f"FROM {source} UNION ALL {extra}"
    )


def build_exchange_links(ws: Workspace, windows: CorrelationWindows | None = None) -> int:
    """Rebuild `exchange_links` for every payment whose sender or beneficiary takes part in
    an imported thread (and every payment whose reference a message cites); returns its
    row count. A payment's pair threads are those tied to both its sender and beneficiary."""
    w = windows or load_windows()
    con = ws.con
    if not ws.has_table(MESSAGES) or not ws.has_table(PARTY_LINKS):
        con.execute(f"CREATE OR REPLACE TABLE {EXCHANGE_LINKS} AS {_EMPTY}")
        return 0
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE vigil_corr_pay AS
        SELECT p.txn_id, p.ts_utc, p.amount, p.currency, p.amount_reporting, p.extra,
               p.sender_id, p.beneficiary_id,
               regexp_replace(p.beneficiary_id, '[^0-9]', '', 'g') AS beneficiary_digits
        FROM payments p
        WHERE p.sender_id IN (SELECT party_id FROM {PARTY_LINKS} WHERE party_kind = 'sender')
           OR p.beneficiary_id IN (SELECT party_id FROM {PARTY_LINKS}
                                   WHERE party_kind = 'beneficiary')
           OR p.txn_id IN (SELECT r.txn_id FROM ({_reference_sql("payments")}) r
                           JOIN exchange_identifiers i
                               ON i.kind = 'reference' AND i.value = r.ref)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE vigil_corr_threads AS
        SELECT DISTINCT p.txn_id, s.thread_key
        FROM vigil_corr_pay p
        JOIN {PARTY_LINKS} s ON s.party_kind = 'sender' AND s.party_id = p.sender_id
        JOIN {PARTY_LINKS} b ON b.party_kind = 'beneficiary' AND b.party_id = p.beneficiary_id
            AND b.thread_key = s.thread_key"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE vigil_corr_own_threads AS
        SELECT DISTINCT p.txn_id, l.thread_key
        FROM vigil_corr_pay p JOIN {PARTY_LINKS} l
            ON (l.party_kind = 'sender' AND l.party_id = p.sender_id)
            OR (l.party_kind = 'beneficiary' AND l.party_id = p.beneficiary_id)"""
    )
    gap = "CAST(epoch(p.ts_utc) - epoch(m.ts_utc) AS BIGINT)"
    con.execute(
        f"""CREATE OR REPLACE TABLE {EXCHANGE_LINKS} AS
WITH refs AS ({_reference_sql()}),
reference AS (
    SELECT p.txn_id, m.message_id, 'reference' AS kind, {gap} AS gap_seconds,
        i.raw AS said, r.ref_kind AS what
    FROM refs r JOIN vigil_corr_pay p USING (txn_id)
    JOIN exchange_identifiers i ON i.kind = 'reference' AND i.role = 'body' AND i.value = r.ref
    JOIN {MESSAGES} m USING (message_id)
    WHERE r.ref IS NOT NULL AND r.ref <> '' AND abs({gap}) <= $reference_s
),
amount AS (
    SELECT p.txn_id, m.message_id, 'amount', {gap}, i.raw,
        CASE WHEN i.currency = p.currency THEN 'same currency'
             ELSE 'converted: ' || round(i.amount_reporting, 2) || ' vs '
                  || round(p.amount_reporting, 2) || ' in the reporting currency' END
    FROM vigil_corr_threads t JOIN vigil_corr_pay p USING (txn_id)
    JOIN {MESSAGES} m ON m.thread_key = t.thread_key
    JOIN exchange_identifiers i ON i.message_id = m.message_id AND i.kind = 'amount'
        AND i.role = 'body'
    WHERE {gap} BETWEEN 0 AND $amount_s
        AND ((i.currency = p.currency AND abs(i.amount - p.amount) < 0.005)
             OR (i.currency <> p.currency AND i.amount_reporting IS NOT NULL
                 AND abs(i.amount_reporting - p.amount_reporting)
                     <= $fx_tolerance * p.amount_reporting))
),
account AS (
    SELECT p.txn_id, m.message_id, 'account', {gap}, i.raw, 'beneficiary ' || p.beneficiary_id
    FROM vigil_corr_own_threads t JOIN vigil_corr_pay p USING (txn_id)
    JOIN {MESSAGES} m ON m.thread_key = t.thread_key
    JOIN exchange_identifiers i ON i.message_id = m.message_id AND i.role = 'body'
        AND i.kind IN ('phone', 'account')
    WHERE {gap} BETWEEN 0 AND $amount_s AND length(p.beneficiary_digits) >= 8
        AND (upper(p.beneficiary_id) = i.value
             OR p.beneficiary_digits = regexp_replace(i.value, '[^0-9]', '', 'g')
             OR p.beneficiary_digits = '0' || i.national)
),
timing AS (
    SELECT p.txn_id, m.message_id, 'timing', {gap}, NULL, m.kind
    FROM vigil_corr_threads t JOIN vigil_corr_pay p USING (txn_id)
    JOIN {MESSAGES} m ON m.thread_key = t.thread_key
    WHERE (m.kind = 'message' AND {gap} BETWEEN 0 AND $negotiation_s)
       OR (m.kind = 'call' AND {gap} BETWEEN -$session_s AND 0)
),
found AS (
    SELECT DISTINCT * FROM (
        SELECT * FROM reference UNION ALL SELECT * FROM amount UNION ALL
        SELECT * FROM account UNION ALL SELECT * FROM timing)
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY txn_id, message_id ORDER BY
        CASE kind WHEN 'reference' THEN 1 WHEN 'amount' THEN 2 WHEN 'account' THEN 3 ELSE 4 END,
        said) AS nth
    FROM found
)
SELECT r.txn_id, r.message_id, r.kind, r.gap_seconds, m.source_file AS source, r.said,
    r.what, p.ts_utc AS payment_ts, p.amount, p.currency, p.sender_id, p.beneficiary_id,
    m.ts_utc AS message_ts, m.ts_raw, m.tz_source, m.tz_assumed, m.utc_offset_minutes,
    m.kind AS message_kind, m.thread, m.position, m.sender_name, m.sender_identifier,
    m.duration_seconds, m.file_sha256
FROM ranked r JOIN vigil_corr_pay p USING (txn_id) JOIN {MESSAGES} m USING (message_id)
WHERE r.nth = 1 OR r.kind <> 'timing'""",
        {
            "reference_s": w.reference_window_hours * 3600,
            "amount_s": w.amount_window_hours * 3600,
            "fx_tolerance": w.amount_fx_tolerance,
            "negotiation_s": w.negotiation_window_minutes * 60,
            "session_s": w.session_window_minutes * 60,
        },
    )
    for temp in ("vigil_corr_own_threads", "vigil_corr_threads", "vigil_corr_pay"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    return ws.count(EXCHANGE_LINKS)


_EMPTY = """SELECT NULL::VARCHAR AS txn_id, NULL::VARCHAR AS message_id, NULL::VARCHAR AS kind,
    NULL::BIGINT AS gap_seconds, NULL::VARCHAR AS source, NULL::VARCHAR AS said,
    NULL::VARCHAR AS what, NULL::TIMESTAMP AS payment_ts, NULL::DECIMAL(20, 4) AS amount,
    NULL::VARCHAR AS currency, NULL::VARCHAR AS sender_id, NULL::VARCHAR AS beneficiary_id,
    NULL::TIMESTAMP AS message_ts, NULL::VARCHAR AS ts_raw, NULL::VARCHAR AS tz_source,
    NULL::BOOLEAN AS tz_assumed, NULL::INTEGER AS utc_offset_minutes,
    NULL::VARCHAR AS message_kind, NULL::VARCHAR AS thread, NULL::VARCHAR AS position,
    NULL::VARCHAR AS sender_name, NULL::VARCHAR AS sender_identifier,
    NULL::INTEGER AS duration_seconds, NULL::VARCHAR AS file_sha256 WHERE false"""


def find_links(ws: Workspace, party_id: str, kind: str | None = None) -> Correlation:
    """The links of one party's payments, read from `exchange_links`."""
    kind = party_kind(ws, party_id, kind)
    other = "beneficiary" if kind == "sender" else "sender"
    head = ws.con.execute(
        f"SELECT any_value({kind}_name), any_value({kind}_country), count(*) FROM payments "
        f"WHERE {kind}_id = ?",
        [party_id],
    ).fetchall()[0]
    party = {
        "kind": kind,
        "party_id": party_id,
        "name": head[0],
        "country": head[1],
        "payments": int(head[2]),
    }
    windows = load_windows()
    if not ws.has_table(EXCHANGE_LINKS):
        return Correlation(party, [], windows)
    result = ws.con.execute(
        f"""SELECT *, {other}_id AS counterpart_id FROM {EXCHANGE_LINKS}
        WHERE {kind}_id = ?
        ORDER BY payment_ts, txn_id, message_ts, message_id, kind""",
        [party_id],
    )
    names = [d[0] for d in result.description]
    links = [_link(dict(zip(names, row, strict=True))) for row in result.fetchall()]
    return Correlation(party, links, windows)


def _when(gap: int) -> str:
    minutes = abs(gap) / 60
    span = f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"
    return f"{span} {'before' if gap >= 0 else 'after'} the payment"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _link(row: dict[str, Any]) -> dict[str, Any]:
    gap = int(row["gap_seconds"])
    paid = f"{row['amount']:f} {row['currency']}".replace(".0000 ", " ")
    who = row["sender_name"] or row["sender_identifier"] or "someone"
    if row["kind"] == "reference":
        detail = (
            f"message from {who} writes {row['said']!r}, the payment's {row['what']}; "
            f"payment of {paid} to {row['counterpart_id']}; message {_when(gap)}"
        )
    elif row["kind"] == "amount":
        detail = (
            f"message from {who} in a thread with {row['counterpart_id']} states "
            f"{row['said']!r} ({row['what']}); payment of {paid}; message {_when(gap)}"
        )
    elif row["kind"] == "account":
        detail = (
            f"message from {who} writes {row['said']!r}, the wallet of {row['what']}; "
            f"payment of {paid}; message {_when(gap)}"
        )
    elif row["message_kind"] == "call":
        duration = row["duration_seconds"]
        length = f"{duration / 60:.0f} min" if duration else "unknown length"
        detail = (
            f"call ({length}) with {row['counterpart_id']} starting "
            f"{abs(gap) / 60:.0f} min after the payment of {paid}"
        )
    else:
        detail = f"message from {who} with {row['counterpart_id']} {_when(gap)} of {paid}"
    return {
        "txn_id": row["txn_id"],
        "message_id": row["message_id"],
        "kind": row["kind"],
        "gap_seconds": gap,
        "source": row["source"],
        "detail": detail,
        "payment_ts_utc": _iso(row["payment_ts"]),
        "message_ts_utc": _iso(row["message_ts"]),
        "message_ts_raw": row["ts_raw"],
        "tz_source": row["tz_source"],
        "tz_assumed": bool(row["tz_assumed"]),
        "message_kind": row["message_kind"],
        "thread": row["thread"],
        "position": row["position"],
        "source_sha256": row["file_sha256"],
        "counterpart_id": row["counterpart_id"],
    }


def correlate(
    workspace: Path, party_id: str, out: Path, *, party_kind: str | None = None
) -> Correlation:
    if not Path(workspace).is_file():
        raise VigilError(f"{workspace}: no such workspace (run `vigil scan` first)")
    with Workspace.open(workspace, read_only=True) as ws:
        result = find_links(ws, party_id, party_kind)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return result
