"""What the web app reads from the scanned DuckDB workspace: the alert queue, one party's
profile, its payments and counterparties. Every query aggregates in DuckDB and pages with
LIMIT/OFFSET, so a page costs the same on a workspace of ten million payments as on a small
one. The workspace is opened read-only once; each request reads through its own cursor
(DuckDB connections are not thread-safe, cursors of one database are independent)."""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vigil.errors import VigilError
from vigil.reports.sources import source_reference, source_tags
from vigil.schema import PARTY_KINDS as KINDS
from vigil.workspace import Workspace
from vigil.workspace.parties import typology_contrast

OTHER = {"sender": "beneficiary", "beneficiary": "sender"}
# queue columns an analyst may sort by -> the SQL expression
SORTABLE = {
    "score": "a.score",
    "rank": "a.rank",
    "payments": "a.payments",
    "total_usd": "a.total_usd",
    "name": "a.name",
    "country": "a.country",
    "party_id": "a.party_id",
    "status": "status",
}
MAX_PER_PAGE = 200
MAX_PAGE = 10**9  # beyond it the row offset no longer fits the database's integers
# amount distribution bins, in the reporting currency (the 10-200 band is where the
# typology's payments sit)
AMOUNT_EDGES = (0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


@functools.cache
def evening_window() -> tuple[int, int]:
    """The beneficiary's evening as R5 counts it (the shipped catalogue's parameter, e.g.
    17 to 1 o'clock): the party page highlights the same hours."""
    from vigil.indicators.catalogue import load_catalogue

    start, end = load_catalogue(None).parameters.beneficiary_evening_hours
    return int(start), int(end)


def evening_hours() -> list[int]:
    start, end = evening_window()
    return [h for h in range(24) if (start <= h < end if start < end else h >= start or h < end)]


PARTY_ROWS = "web_party_rows"  # a temporary table, private to one request's cursor


class PartyNotFound(VigilError):
    """No scored party of that kind and id (the app answers 404)."""


@dataclass(frozen=True)
class AlertState:
    """A party's triage state as the case store holds it (no state: `new`)."""

    status: str
    assignee: str | None = None


@dataclass(frozen=True)
class QueueFilters:
    kind: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    indicator: str | None = None
    status: str | None = None
    assignee: str | None = None
    country: str | None = None
    reporter: str | None = None  # FIU mode: senders reported by this institution
    sort: str = "score"
    descending: bool = True
    page: int = 1
    per_page: int = 50

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise VigilError(f"kind must be sender or beneficiary, not {self.kind!r}")
        if self.sort not in SORTABLE:
            raise VigilError(f"cannot sort by {self.sort!r}: one of {', '.join(SORTABLE)}")
        if not 1 <= self.page <= MAX_PAGE or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise VigilError(f"page must be 1 to {MAX_PAGE} and per_page 1 to {MAX_PER_PAGE}")

    def query_args(self, **changes: Any) -> dict[str, str]:
        """These filters (with `changes`) as URL query arguments, empty ones left out."""
        values = replace(self, **changes) if changes else self
        args = {
            "kind": values.kind,
            "min_score": values.min_score,
            "max_score": values.max_score,
            "indicator": values.indicator,
            "status": values.status,
            "assignee": values.assignee,
            "country": values.country,
            "reporter": values.reporter,
            "sort": values.sort,
            "order": "desc" if values.descending else "asc",
            "page": values.page,
            "per_page": values.per_page,
        }
        return {k: str(v) for k, v in args.items() if v is not None and v != ""}


@dataclass(frozen=True)
class QueuePage:
    filters: QueueFilters
    total: int
    rows: list[dict[str, Any]]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filters.per_page))


@dataclass(frozen=True)
class QueueOptions:
    """What the queue's filters offer: fixed for a read-only workspace, read once."""

    indicators: list[dict[str, str]]  # indicator, title, statement, party_kind (or both)
    countries: list[str]
    parties: dict[str, int] = field(default_factory=dict)  # kind -> parties scored
    reporters: list[str] = field(default_factory=list)  # FIU mode: the reporting institutions

    @property
    def tooltips(self) -> dict[str, str]:
        """Indicator id -> "title: statement", for the chips' tooltips."""
        return {i["indicator"]: f"{i['title']}: {i['statement']}" for i in self.indicators}


class WorkspaceReader:
    """The scanned workspace, open read-only, lending one cursor per request."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._workspace = Workspace.open(self.path, read_only=True)
        self._lock = threading.Lock()
        with self.reading() as ws:
            if not ws.has_table("alerts"):
                self.close()
                raise VigilError(f"{self.path}: this workspace has not been scanned yet")
            self.has_offsets = ws.has_table("country_offsets")
            # Read once: a scan cannot write while the app holds the file open.
            self.incomplete: str | None = ws.incomplete_message() if ws.scan_incomplete else None
            self.options = _queue_options(ws)

    @contextmanager
    def reading(self) -> Iterator[Workspace]:
        """A Workspace on a fresh cursor of the shared read-only database."""
        with self._lock:
            cursor = self._workspace.con.cursor()
        try:
            cursor.execute("SET TimeZone = 'UTC'")
            yield Workspace(cursor, str(self.path))
        finally:
            cursor.close()

    def close(self) -> None:
        self._workspace.close()


def _rows(ws: Workspace, sql: str, params: list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
    result = ws.con.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _queue_options(ws: Workspace) -> QueueOptions:
    # An indicator of both kinds (N1-N3) is offered once: the filter matches it by id.
    indicators = _rows(
        ws,
        """SELECT indicator, arbitrary(title) AS title, arbitrary(statement) AS statement,
               CASE WHEN count(DISTINCT party_kind) > 1 THEN 'both'
                    ELSE min(party_kind) END AS party_kind
           FROM indicator_catalogue GROUP BY indicator
           ORDER BY party_kind, length(indicator), indicator""",
        [],
    )
    countries = [
        r[0]
        for r in ws.con.execute(
            "SELECT DISTINCT country FROM alerts WHERE country IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    parties = dict(ws.con.execute("SELECT party_kind, count(*) FROM alerts GROUP BY 1").fetchall())
    reporters = (
        [
            r[0]
            for r in ws.con.execute(
                "SELECT DISTINCT reporter FROM alerts WHERE reporter IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
        if alerts_name_reporters(ws)
        else []
    )
    return QueueOptions(
        indicators=indicators, countries=countries, parties=parties, reporters=reporters
    )


def alerts_name_reporters(ws: Workspace) -> bool:
    """The alerts table has the FIU mode's reporter columns (a workspace scanned by an older
    Vigil has not)."""
    return bool(
        ws.con.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'alerts' "
            "AND column_name = 'reporter'"
        ).fetchall()
    )


def _reporter_columns(ws: Workspace) -> str:
    """The alerts' reporter and the sender's id at it, NULL where the table lacks them."""
    if alerts_name_reporters(ws):
        return "a.reporter, a.reported_id"
    return "NULL::VARCHAR AS reporter, NULL::VARCHAR AS reported_id"


# --- alert queue ---------------------------------------------------------------------------


def _states_source(states: Mapping[tuple[str, str], AlertState]) -> tuple[str, dict[str, Any]]:
    """A relation of the triage states (few: those someone has touched) to join alerts."""
    if not states:
        return (
            "(SELECT NULL::VARCHAR AS party_kind, NULL::VARCHAR AS party_id, "
            "NULL::VARCHAR AS status, NULL::VARCHAR AS assignee WHERE false)",
            {},
        )
    keys = list(states)
    params = {
        "state_kinds": [k for k, _ in keys],
        "state_ids": [i for _, i in keys],
        "state_statuses": [states[k].status for k in keys],
        "state_assignees": [states[k].assignee for k in keys],
    }
    sql = (
        "(SELECT unnest($state_kinds::VARCHAR[]) AS party_kind, "
        "unnest($state_ids::VARCHAR[]) AS party_id, "
        "unnest($state_statuses::VARCHAR[]) AS status, "
        "unnest($state_assignees::VARCHAR[]) AS assignee)"
    )
    return sql, params


def alert_queue(
    ws: Workspace, states: Mapping[tuple[str, str], AlertState], filters: QueueFilters
) -> QueuePage:
    """One page of parties ranked by the chosen column, with their triage states."""
    source, params = _states_source(states)
    where: list[str] = []
    if filters.kind:
        where.append("a.party_kind = $kind")
        params["kind"] = filters.kind
    if filters.min_score is not None:
        where.append("a.score >= $min_score")
        params["min_score"] = filters.min_score
    if filters.max_score is not None:
        where.append("a.score <= $max_score")
        params["max_score"] = filters.max_score
    if filters.indicator:
        where.append("list_contains(string_split(a.indicators, ';'), $indicator)")
        params["indicator"] = filters.indicator
    if filters.status:
        where.append("coalesce(s.status, 'new') = $status")
        params["status"] = filters.status
    if filters.assignee:
        where.append("s.assignee = $assignee")
        params["assignee"] = filters.assignee
    if filters.country:
        where.append("a.country = $country")
        params["country"] = filters.country.upper()
    reporter_columns = _reporter_columns(ws)
    if filters.reporter:
        # a beneficiary has no reporter: it is listed when a sender of that reporter paid it
        where.append(
            "(a.party_kind = 'sender' AND a.reporter = $reporter) OR (a.party_kind = "
            "'beneficiary' AND a.party_id IN (SELECT beneficiary_id FROM payments "
            "WHERE reporter = $reporter))"
            if alerts_name_reporters(ws)
            else "false"
        )
        where[-1] = f"({where[-1]})"
        params["reporter"] = filters.reporter
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    joined = f"alerts a LEFT JOIN {source} s USING (party_kind, party_id)"
    total = ws.con.execute(f"SELECT count(*) FROM {joined} {condition}", params).fetchall()[0][0]
    direction = "DESC" if filters.descending else "ASC"
    # Ties (equal scores, the same country …) follow the ranking, then the id.
    order = f"{SORTABLE[filters.sort]} {direction} NULLS LAST, a.rank, a.party_kind, a.party_id"
    rows = _rows(
        ws,
        f"""SELECT a.party_kind, a.party_id, a.score, a.rank, a.indicators, a.name, a.country,
                   a.payments, a.total_usd, a.top_reason, {reporter_columns},
                   coalesce(s.status, 'new') AS status, s.assignee
            FROM {joined} {condition}
            ORDER BY {order} LIMIT $limit OFFSET $offset""",
        {
            **params,
            "limit": filters.per_page,
            "offset": (filters.page - 1) * filters.per_page,
        },
    )
    return QueuePage(filters=filters, total=int(total), rows=rows)


# --- one party -----------------------------------------------------------------------------


def require_party(ws: Workspace, kind: str, party_id: str) -> None:
    """Raise PartyNotFound unless the workspace scored this party."""
    found = (
        kind in KINDS
        and ws.con.execute(
            "SELECT 1 FROM alerts WHERE party_kind = ? AND party_id = ?", [kind, party_id]
        ).fetchall()
    )
    if not found:
        raise PartyNotFound(f"no scored {kind} with id {party_id!r}")


def party_summary(ws: Workspace, kind: str, party_id: str) -> dict[str, Any]:
    """Score, rank and totals of one party, with its indicators' contributions explained."""
    if kind not in KINDS:
        raise PartyNotFound(f"no party kind {kind!r}: sender or beneficiary")
    found = _rows(
        ws,
        f"""SELECT a.party_kind, a.party_id, a.name, a.country, a.score, a.rank, a.payments,
                   a.total_usd, a.indicators, a.top_reason, {_reporter_columns(ws)},
                   strftime(s.first_ts, '%Y-%m-%d %H:%M') AS first_payment,
                   strftime(s.last_ts, '%Y-%m-%d %H:%M') AS last_payment
            FROM alerts a JOIN {kind}_scores s ON s.party_id = a.party_id
            WHERE a.party_kind = $kind AND a.party_id = $id""",
        {"kind": kind, "id": party_id},
    )
    if not found:
        raise PartyNotFound(f"no scored {kind} with id {party_id!r}")
    summary = found[0]
    summary["reporting_currency"] = ws.meta_get("reporting_currency") or "USD"
    summary["contributions"] = contributions(ws, kind, party_id)
    summary["same_person"] = same_person(ws, kind, party_id)
    summary["reporters"] = reporter_views(ws, kind, party_id)
    summary["typologies"] = typology_contrast(ws, kind, party_id)
    return summary


def reporter_views(ws: Workspace, kind: str, party_id: str) -> list[dict[str, Any]]:
    """FIU mode: what each reporting institution saw of this party (empty outside it).

    A sender: every customer id, at every reporter, of the person entity resolution made of
    it (this one included), with the payments and total each reporter reported. A
    beneficiary: each reporter whose customers paid it, with how many customers, payments
    and the total: a facilitator fed from several institutions stands out."""
    if not alerts_name_reporters(ws):
        return []
    if kind == "beneficiary":
        return _rows(
            ws,
            """SELECT reporter, count(DISTINCT sender_id) AS payers, count(*) AS payments,
                      round(sum(amount_reporting), 2) AS total, min(ts_utc)::DATE AS first,
                      max(ts_utc)::DATE AS last
               FROM payments WHERE beneficiary_id = $id AND reporter IS NOT NULL
               GROUP BY reporter ORDER BY total DESC, reporter""",
            {"id": party_id},
        )
    members = "SELECT $id AS party_id"
    if ws.has_table("sender_entities"):
        members = """SELECT party_id FROM sender_entities WHERE entity_id =
                         (SELECT entity_id FROM sender_entities WHERE party_id = $id)
                     UNION SELECT $id"""
    return _rows(
        ws,
        f"""SELECT p.reporter, p.reporter_sender_id AS reported_id, p.sender_id AS party_id,
                   any_value(p.sender_name) AS name, count(*) AS payments,
                   round(sum(p.amount_reporting), 2) AS total,
                   count(DISTINCT p.beneficiary_id) AS beneficiaries,
                   min(p.ts_utc)::DATE AS first, max(p.ts_utc)::DATE AS last,
                   p.sender_id = $id AS this_party
            FROM payments p WHERE p.sender_id IN ({members}) AND p.reporter IS NOT NULL
            GROUP BY ALL ORDER BY this_party DESC, p.reporter, reported_id""",
        {"id": party_id},
    )


def same_person(ws: Workspace, kind: str, party_id: str) -> list[dict[str, Any]]:
    """The other accounts entity resolution linked to this one, each with the match
    probability, the match weight and the comparisons that justify it."""
    if not ws.has_table("entity_links"):
        return []
    return _rows(
        ws,
        f"""SELECT CASE WHEN l.left_id = $id THEN l.right_id ELSE l.left_id END AS party_id,
                   s.name, round(l.match_probability, 4) AS match_probability,
                   round(l.match_weight, 2) AS match_weight, l.explanation
            FROM entity_links l
            JOIN {kind}_scores s
              ON s.party_id = CASE WHEN l.left_id = $id THEN l.right_id ELSE l.left_id END
            WHERE l.party_kind = $kind AND (l.left_id = $id OR l.right_id = $id)
            ORDER BY l.match_probability DESC, party_id""",
        {"kind": kind, "id": party_id},
    )


def contributions(ws: Workspace, kind: str, party_id: str) -> list[dict[str, Any]]:
    """Each indicator that fired: contribution to the score, statement, figures, sources."""
    rows = _rows(
        ws,
        """SELECT h.indicator, c.title, c.statement, c.sources, h.contribution, h.strength,
                  h.figures
           FROM indicator_hits h JOIN indicator_catalogue c USING (party_kind, indicator)
           WHERE h.party_kind = $kind AND h.party_id = $id
           ORDER BY h.contribution DESC, h.indicator""",
        {"kind": kind, "id": party_id},
    )
    for row in rows:
        references = []
        for tag in source_tags(row["sources"]):
            try:
                references.append(source_reference(tag))
            except KeyError:
                references.append({"tag": tag, "title": "", "publisher": "", "url": ""})
        row["references"] = references
    return rows


def _amount_bins() -> list[str]:
    labels = [f"{lo:,}–{hi:,}" for lo, hi in itertools.pairwise(AMOUNT_EDGES)]
    return [*labels, f"{AMOUNT_EDGES[-1]:,}+"]


@contextmanager
def party_rows(ws: Workspace, kind: str, party_id: str) -> Iterator[str]:
    """The narrow facts of the party's payments (row id, time, offset, beneficiary country,
    amount) in a temporary table of this cursor, for `party_profile` and `payments_page`:
    the payments table is scanned once per page, not once per chart."""
    if kind not in KINDS:
        raise PartyNotFound(f"no party kind {kind!r}: sender or beneficiary")
    ws.con.execute(
        f"""CREATE OR REPLACE TEMPORARY TABLE {PARTY_ROWS} AS
            SELECT rowid AS row_id, txn_id, ts_utc, sender_utc_offset_minutes,
                   beneficiary_country, amount_reporting
            FROM payments WHERE {kind}_id = $id""",
        {"id": party_id},
    )
    try:
        yield PARTY_ROWS
    finally:
        ws.con.execute(f"DROP TABLE IF EXISTS {PARTY_ROWS}")


def _own_rows(kind: str, rows: str | None) -> str:
    """The party's payment facts: the temporary table when there is one, else a scan."""
    if rows is not None:
        return rows
    return f"""(SELECT rowid AS row_id, txn_id, ts_utc, sender_utc_offset_minutes,
                    beneficiary_country, amount_reporting FROM payments WHERE {kind}_id = $id)"""


def party_profile(
    ws: Workspace, kind: str, party_id: str, *, offsets: bool, rows: str | None = None
) -> dict[str, Any]:
    """The party's payments summarised for the charts, in one pass over its payments: per
    month, by hour in the sender's and in the beneficiary's local time, by amount. `rows`
    names the table `party_rows` made (else the payments are scanned here)."""
    offset_join = (
        """LEFT JOIN country_offsets o ON o.country = m.beneficiary_country
               AND m.ts_utc >= o.valid_from AND m.ts_utc < o.valid_to"""
        if offsets
        else "LEFT JOIN (SELECT NULL::INTEGER AS offset_minutes WHERE false) o ON true"
    )
    edges = ", ".join(str(e) for e in AMOUNT_EDGES[1:])
    found = ws.con.execute(
        f"""WITH mine AS MATERIALIZED (SELECT * FROM {_own_rows(kind, rows)}),
            timed AS (
                SELECT m.*, m.ts_utc + to_minutes(m.sender_utc_offset_minutes) AS sender_local,
                       m.ts_utc + to_minutes(o.offset_minutes) AS beneficiary_local
                FROM mine m {offset_join})
            SELECT 'month', strftime(date_trunc('month', ts_utc), '%Y-%m'), count(*),
                   sum(amount_reporting) FROM timed GROUP BY 2
            UNION ALL
            SELECT 'hour_sender', hour(sender_local)::VARCHAR, count(*), sum(amount_reporting)
            FROM timed WHERE sender_local IS NOT NULL GROUP BY 2
            UNION ALL
            SELECT 'hour_beneficiary', hour(beneficiary_local)::VARCHAR, count(*),
                   sum(amount_reporting)
            FROM timed WHERE beneficiary_local IS NOT NULL GROUP BY 2
            UNION ALL
            SELECT 'amount', len(list_filter([{edges}], lambda e: e <= amount_reporting))::VARCHAR,
                   count(*), sum(amount_reporting)
            FROM timed GROUP BY 2
            UNION ALL
            SELECT 'country', beneficiary_country, count(*), sum(amount_reporting)
            FROM timed GROUP BY 2""",
        {} if rows else {"id": party_id},
    ).fetchall()
    months: dict[str, tuple[int, float]] = {}
    hours = {"hour_sender": [0] * 24, "hour_beneficiary": [0] * 24}
    bins = _amount_bins()
    amounts = [0] * len(bins)
    countries: dict[str, int] = {}
    for series, bucket, count, _total in found:
        if series == "month":
            months[bucket] = (int(count), float(_total or 0.0))
        elif series in hours:
            hours[series][int(bucket)] = int(count)
        elif series == "amount":
            amounts[int(bucket)] = int(count)
        else:
            countries[bucket] = int(count)
    labels = _month_range(sorted(months))
    return {
        "months": labels,
        "monthly_payments": [months.get(m, (0, 0.0))[0] for m in labels],
        "monthly_amount": [round(months.get(m, (0, 0.0))[1], 2) for m in labels],
        "hours_sender": hours["hour_sender"],
        "hours_beneficiary": hours["hour_beneficiary"],
        "hours_beneficiary_unknown": sum(c for c in countries.values())
        - sum(hours["hour_beneficiary"]),
        "beneficiary_countries": sorted(countries, key=lambda c: -countries[c]),
        "amount_bins": bins,
        "amount_counts": amounts,
        "evening_hours": evening_hours(),
    }


def _month_range(found: list[str]) -> list[str]:
    """Every month from the first to the last found (months without payments show as 0)."""
    if not found:
        return []
    year, month = (int(x) for x in found[0].split("-"))
    last = tuple(int(x) for x in found[-1].split("-"))
    labels = []
    while (year, month) <= last:
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels


def payments_page(
    ws: Workspace,
    kind: str,
    party_id: str,
    *,
    page: int = 1,
    per_page: int = 50,
    rows: str | None = None,
) -> dict[str, Any]:
    """The party's payments, newest first, one page at a time: the page's row ids are
    chosen on the narrow facts, then only those rows are read in full."""
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PER_PAGE:
        raise VigilError(f"page must be 1 to {MAX_PAGE} and per_page 1 to {MAX_PER_PAGE}")
    other = OTHER[kind]
    params: dict[str, Any] = {"limit": per_page, "offset": (page - 1) * per_page}
    if rows is None:
        params["id"] = party_id
    found = _rows(
        ws,
        f"""WITH mine AS MATERIALIZED (SELECT row_id, txn_id, ts_utc FROM {_own_rows(kind, rows)}),
                 chosen AS (SELECT row_id, (SELECT count(*) FROM mine) AS total FROM mine
                            ORDER BY ts_utc DESC, txn_id DESC LIMIT $limit OFFSET $offset)
            SELECT p.txn_id, strftime(p.ts_utc, '%Y-%m-%d %H:%M') AS ts_utc, p.ts_local,
                   p.{other}_id AS counterparty_id, p.{other}_name AS counterparty_name,
                   p.{other}_country AS counterparty_country, p.amount::DOUBLE AS amount,
                   p.currency, round(p.amount_reporting, 2) AS amount_reporting, p.channel,
                   p.narrative, c.total
            FROM payments p JOIN chosen c ON p.rowid = c.row_id
            ORDER BY p.ts_utc DESC, p.txn_id DESC""",
        params,
    )
    if found:
        total = int(found[0]["total"])
    else:  # a page past the end: count on its own
        total = ws.con.execute(
            f"SELECT count(*) FROM {_own_rows(kind, rows)}",
            {"id": party_id} if rows is None else {},
        ).fetchall()[0][0]
    for row in found:
        del row["total"]
    return {
        "page": page,
        "per_page": per_page,
        "total": int(total),
        "pages": max(1, -(-int(total) // per_page)),
        "counterparty_kind": other,
        "rows": found,
    }


def counterparties(ws: Workspace, kind: str, party_id: str, *, limit: int = 100) -> dict[str, Any]:
    """Who the party paid or was paid by, busiest first, with their own scores."""
    own, other = f"{kind}_id", OTHER[kind]
    rows = _rows(
        ws,
        f"""WITH busiest AS (
                SELECT {other}_id AS party_id, payments, amount_usd, first_ts, last_ts,
                       count(*) OVER () AS total
                FROM pair_features WHERE {own} = $id
                ORDER BY payments DESC, amount_usd DESC, party_id LIMIT $limit)
            SELECT b.party_id, s.name, s.country, b.payments::BIGINT AS payments,
                   round(b.amount_usd, 2) AS total_usd,
                   strftime(b.first_ts, '%Y-%m-%d') AS first_payment,
                   strftime(b.last_ts, '%Y-%m-%d') AS last_payment, s.score, s.rank,
                   a.indicators, b.total
            FROM busiest b JOIN {other}_scores s ON s.party_id = b.party_id
            LEFT JOIN alerts a ON a.party_kind = $other AND a.party_id = b.party_id
            ORDER BY b.payments DESC, b.amount_usd DESC, b.party_id""",
        {"id": party_id, "other": other, "limit": limit},
    )
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        del row["total"]
    return {"kind": other, "total": total, "rows": rows}


def party_names(ws: Workspace, parties: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """Name, country, score and rank of a few parties (a case's), by (kind, id)."""
    if not parties:
        return {}
    rows = _rows(
        ws,
        """SELECT a.party_kind, a.party_id, a.name, a.country, a.score, a.rank, a.indicators
           FROM alerts a
           JOIN (SELECT unnest($kinds::VARCHAR[]) AS party_kind,
                        unnest($ids::VARCHAR[]) AS party_id) w USING (party_kind, party_id)""",
        {"kinds": [k for k, _ in parties], "ids": [i for _, i in parties]},
    )
    return {(r["party_kind"], r["party_id"]): r for r in rows}
