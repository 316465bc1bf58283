"""FollowTheMoney entities for Aleph / OpenAleph: the parties, their accounts and payments.

One holder (Person, or LegalEntity when the name reads like an organisation) and one
account per sender and per beneficiary, one Payment per payment, and a Family link where
the scan inferred a relationship (`pair_features.related`: sender and beneficiary share a
surname). Account schema by the party's main channel: a BankAccount (tied to its holder by
an Ownership, and named on the payments) for bank transfers, a UserAccount (with `owner`)
for every other channel (e-wallets, online and agent remittance, cards, crypto).

Entity ids come from `make_id("vigil", kind, party_id)` and the like, so exporting again
gives the same ids and Aleph merges rather than duplicates. Payments are streamed from
DuckDB in Arrow record batches and written one JSON line at a time: a whole workspace of
millions of payments is never held in memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import IO, Any

from followthemoney import model
from followthemoney.proxy import EntityProxy
from followthemoney.util import make_entity_id

from vigil.errors import VigilError
from vigil.indicators.catalogue import load_catalogue
from vigil.reports.ftm_exchanges import exchange_entities
from vigil.workspace import Workspace
from vigil.workspace.parties import KINDS, resolve_kind

BATCH_ROWS = 100_000
BANK_CHANNELS = frozenset({"bank_transfer"})
FAMILY_NOTE = "shared surname, inferred by Vigil"

_WORD = re.compile(r"[^\W\d_]+")

_PARTIES_TABLE = "_ftm_parties"


@cache
def _organisation_words() -> frozenset[str]:
    """The catalogue's list: the same words that keep shops out of R1's person-to-person."""
    return frozenset(w.lower() for w in load_catalogue().parameters.organisation_words)


def looks_like_organisation(name: str) -> bool:
    """True when `name` holds a word such as Inc, Foundation, Store or Trading."""
    words = _organisation_words()
    return any(word.lower() in words for word in _WORD.findall(name or ""))


def holder_schema(name: str) -> str:
    return "LegalEntity" if looks_like_organisation(name) else "Person"


def account_schema(channel: str | None) -> str:
    return "BankAccount" if channel in BANK_CHANNELS else "UserAccount"


def holder_id(kind: str, party_id: str) -> str:
    return _make_id(kind, party_id)


def account_id(kind: str, party_id: str) -> str:
    return _make_id(f"{kind}-account", party_id)


def payment_id(txn_id: str) -> str:
    return _make_id("payment", txn_id)


def _make_id(*parts: str) -> str:
    """What `entity.make_id("vigil", *parts)` gives, without building an entity."""
    made = make_entity_id("vigil", *parts)
    assert made is not None
    return made


def export_ftm(
    workspace: Path | Workspace,
    out: Path,
    *,
    party_ids: list[str] | None = None,
    case_id: str | None = None,
    database_url: str | None = None,
    actor: str = "cli",
) -> int:
    """Write the FtM entities of `party_ids` (each party, its counterparties and the
    payments between them), of the parties of case `case_id` (its id or reference, from
    the case store at `database_url`, default beside the workspace; the export is then
    recorded in the audit trail as `actor`'s `export.ftm`) or, when neither is given, of
    the whole workspace, to `out` as JSON lines. Returns the number of entities written."""
    if case_id is not None and party_ids:
        raise VigilError("export by --party-id or by --case, not both")
    if not isinstance(workspace, Workspace):
        path = Path(workspace)
        if not path.is_file():
            raise VigilError(f"{path}: no such workspace (run `vigil scan` first)")
        with Workspace.open(path, read_only=True) as ws:
            return export_ftm(
                ws,
                out,
                party_ids=party_ids,
                case_id=case_id,
                database_url=database_url,
                actor=actor,
            )
    ws = workspace
    if not ws.has_table("alerts"):
        raise VigilError(f"{ws.path}: this workspace has not been scanned yet")
    ws.require_scan_complete()
    if case_id is not None:
        return _export_case(ws, out, case_id, database_url, actor)
    return _export(ws, out, _Scope.of(ws, party_ids))


def _export_case(
    ws: Workspace, out: Path, case_id: str, database_url: str | None, actor: str
) -> int:
    """Export a case's parties (each of the kind the case names) and audit the export."""
    from vigil.cases import audit
    from vigil.cases.store import CaseStore, default_database_url
    from vigil.cases.workflow import get_case_by_reference

    with CaseStore.open(database_url or default_database_url(ws.path)) as store:
        case = get_case_by_reference(store, case_id)
        if case is None:
            raise VigilError(f"no case {case_id} in the case store {store.url}")
        if not case.parties:
            raise VigilError(f"case {case.reference} has no parties to export")
        parties = [(p.party_kind, p.party_id) for p in case.parties]
        count = _export(ws, out, _Scope.of_parties(ws, parties))
        audit.record(
            store,
            actor,
            "export.ftm",
            f"case:{case.id}",
            {"reference": case.reference, "entities": count, "format": "ftm"},
        )
    return count


def export_ftm_where(ws: Workspace, out: Path, condition: str, params: dict[str, Any]) -> int:
    """The entities of the payments matching `condition` (SQL over `p`, which is `payments`
    or `pair_features`: name only sender_id and beneficiary_id): their parties, accounts,
    payments and, for those parties, their exchanges."""
    return _export(ws, out, _Scope(condition, params))


def _export(ws: Workspace, out: Path, scope: _Scope) -> int:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    count = 0
    try:
        with partial.open("w", encoding="utf-8") as fh:
            _create_parties_table(ws, scope)
            try:
                for entity in _entities(ws, scope):
                    _write(fh, entity)
                    count += 1
            finally:
                ws.con.execute(f"DROP TABLE IF EXISTS {_PARTIES_TABLE}")
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count


class _Scope:
    """Which payments to export: SQL condition on `payments` and its parameters."""

    def __init__(self, condition: str, params: dict[str, Any]) -> None:
        self.condition = condition
        self.params = params

    @classmethod
    def of_parties(cls, ws: Workspace, parties: list[tuple[str, str]]) -> _Scope:
        """Exactly these (party_kind, party_id) parties; each must be in the workspace."""
        chosen: dict[str, list[str]] = {kind: [] for kind in KINDS}
        for kind, party_id in dict.fromkeys(parties):
            if not ws.con.execute(
                f"SELECT 1 FROM {kind}_scores WHERE party_id = ?", [party_id]
            ).fetchall():
                raise VigilError(f"{kind} {party_id} is not in the workspace {ws.path}")
            chosen[kind].append(party_id)
        return cls._condition(chosen)

    @classmethod
    def _condition(cls, chosen: dict[str, list[str]]) -> _Scope:
        return cls(
            "(list_contains(CAST($senders AS VARCHAR[]), p.sender_id) "
            "OR list_contains(CAST($beneficiaries AS VARCHAR[]), p.beneficiary_id))",
            {"senders": chosen["sender"], "beneficiaries": chosen["beneficiary"]},
        )

    @classmethod
    def of(cls, ws: Workspace, party_ids: list[str] | None) -> _Scope:
        if not party_ids:
            return cls("TRUE", {})
        chosen: dict[str, list[str]] = {kind: [] for kind in KINDS}
        for party_id in dict.fromkeys(party_ids):
            found = [
                kind
                for kind in KINDS
                if ws.con.execute(
                    f"SELECT 1 FROM {kind}_scores WHERE party_id = ?", [party_id]
                ).fetchall()
            ]
            if not found:
                resolve_kind(ws, party_id)  # raises the workspace's usual error
            for kind in found:  # an id both a sender and a beneficiary: export both
                chosen[kind].append(party_id)
        return cls._condition(chosen)


def _create_parties_table(ws: Workspace, scope: _Scope) -> None:
    """A temporary table of every party in scope: kind, id, name, country, city, main
    channel, score, rank, parties of its kind and fired indicators."""
    selects = []
    for kind in KINDS:
        city = "p.beneficiary_city" if kind == "beneficiary" else "CAST(NULL AS VARCHAR)"
        selects.append(
            f"""
            SELECT '{kind}' AS kind, f.party_id,
                   coalesce(s.name, f.name) AS name,
                   coalesce(s.country, f.country) AS country,
                   f.city, f.channel, s.score, s.rank,
                   (SELECT count(*) FROM {kind}_scores) AS of_kind,
                   a.indicators
            FROM (
                SELECT party_id, min(name) AS name, min(country) AS country,
                       min(city) AS city, first(channel ORDER BY n DESC, channel) AS channel
                FROM (
                    SELECT p.{kind}_id AS party_id, p.channel,
                           min(p.{kind}_name) AS name, min(p.{kind}_country) AS country,
                           min({city}) AS city, count(*) AS n
                    FROM payments p WHERE {scope.condition}
                    GROUP BY ALL
                ) GROUP BY party_id
            ) f
            LEFT JOIN {kind}_scores s USING (party_id)
            LEFT JOIN alerts a ON a.party_kind = '{kind}' AND a.party_id = f.party_id
            """
        )
    ws.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_PARTIES_TABLE} AS " + " UNION ALL ".join(selects),
        scope.params,
    )


def _entities(ws: Workspace, scope: _Scope) -> Iterator[EntityProxy]:
    for row in _rows(ws, f"SELECT * FROM {_PARTIES_TABLE} ORDER BY kind DESC, party_id", {}):
        yield from _party_entities(row)
    family = f"""
        SELECT p.sender_id, p.beneficiary_id, s.name AS sender_name, b.name AS beneficiary_name
        FROM pair_features p
        JOIN {_PARTIES_TABLE} s ON s.kind = 'sender' AND s.party_id = p.sender_id
        JOIN {_PARTIES_TABLE} b ON b.kind = 'beneficiary' AND b.party_id = p.beneficiary_id
        WHERE p.related AND {scope.condition}
        ORDER BY p.sender_id, p.beneficiary_id
    """
    for row in _rows(ws, family, scope.params):
        entity = _family(row)
        if entity is not None:
            yield entity
    payments = f"""
        SELECT p.txn_id, p.ts_utc, p.ts_local, p.sender_id, p.beneficiary_id, p.amount,
               p.currency, p.channel, p.narrative, p.amount_reporting,
               s.channel AS sender_channel, b.channel AS beneficiary_channel,
               s.name AS sender_name, b.name AS beneficiary_name
        FROM payments p
        JOIN {_PARTIES_TABLE} s ON s.kind = 'sender' AND s.party_id = p.sender_id
        JOIN {_PARTIES_TABLE} b ON b.kind = 'beneficiary' AND b.party_id = p.beneficiary_id
        WHERE {scope.condition}
    """
    usd = (ws.meta_get("reporting_currency") or "USD") == "USD"
    for row in _rows(ws, payments, scope.params):
        yield _payment(row, usd=usd)
    yield from exchange_entities(
        ws, _PARTIES_TABLE, holder_id, lambda sql, params: _rows(ws, sql, params)
    )


def _rows(ws: Workspace, sql: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    reader = ws.con.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
    try:
        for batch in reader:
            yield from batch.to_pylist()
    finally:
        reader.close()  # a result left open blocks the connection


def _party_entities(row: dict[str, Any]) -> Iterator[EntityProxy]:
    kind, party_id, name = row["kind"], row["party_id"], row["name"]
    holder = model.make_entity(holder_schema(name))
    holder.id = holder_id(kind, party_id)
    holder.add("name", name)
    holder.add("country", row["country"], quiet=True)
    if row["city"]:
        holder.add("address", f"{row['city']}, {row['country']}")
    holder.add("notes", _score_note(row))
    holder.add("keywords", f"vigil {kind}")
    yield holder

    schema = account_schema(row["channel"])
    account = model.make_entity(schema)
    account.id = account_id(kind, party_id)
    account.add("name", f"{name} ({kind} account {party_id})")
    account.add("country", row["country"], quiet=True)
    account.add("notes", f"Main channel: {_channel_label(row['channel'])}")
    if schema == "BankAccount":
        account.add("accountNumber", party_id)
        account.add("accountType", _channel_label(row["channel"]))
        yield account
        ownership = model.make_entity("Ownership")
        ownership.id = _make_id("ownership", kind, party_id)
        ownership.add("owner", holder.id)
        ownership.add("asset", account.id)
        ownership.add("role", "account holder")
        yield ownership
    else:
        account.add("username", party_id)
        account.add("service", _channel_label(row["channel"]))
        account.add("owner", holder.id)
        yield account


def _score_note(row: dict[str, Any]) -> str:
    if row["score"] is None:
        return f"Vigil {row['kind']}: not scored"
    indicators = row["indicators"] or "none"
    return (
        f"Vigil {row['kind']} score {row['score']:.2f}, "
        f"rank {row['rank']:,} of {row['of_kind']:,}; indicators {indicators}"
    )


def _family(row: dict[str, Any]) -> EntityProxy | None:
    """A Family link when both ends are people (a shared surname says nothing of firms)."""
    if looks_like_organisation(row["sender_name"]) or looks_like_organisation(
        row["beneficiary_name"]
    ):
        return None
    family = model.make_entity("Family")
    family.id = _make_id("family", row["sender_id"], row["beneficiary_id"])
    family.add("person", holder_id("sender", row["sender_id"]))
    family.add("relative", holder_id("beneficiary", row["beneficiary_id"]))
    family.add("relationship", f"relative ({FAMILY_NOTE})")
    family.add("description", f"Possible relatives: {FAMILY_NOTE}, not verified.")
    return family


def _payment(row: dict[str, Any], *, usd: bool) -> EntityProxy:
    payment = model.make_entity("Payment")
    payment.id = payment_id(row["txn_id"])
    payment.add("payer", holder_id("sender", row["sender_id"]))
    payment.add("beneficiary", holder_id("beneficiary", row["beneficiary_id"]))
    if account_schema(row["sender_channel"]) == "BankAccount":
        payment.add("payerAccount", account_id("sender", row["sender_id"]))
    if account_schema(row["beneficiary_channel"]) == "BankAccount":
        payment.add("beneficiaryAccount", account_id("beneficiary", row["beneficiary_id"]))
    payment.add("amount", _decimal_text(row["amount"]))
    payment.add("currency", row["currency"], quiet=True)
    if usd and row["amount_reporting"] is not None:
        payment.add("amountUsd", f"{row['amount_reporting']:.2f}")
    ts: datetime = row["ts_utc"]
    payment.add("date", ts.isoformat(timespec="seconds"))  # naive UTC, as in the workspace
    payment.add("transactionNumber", row["txn_id"])
    payment.add("recordId", row["txn_id"])
    if row["narrative"]:
        payment.add("purpose", row["narrative"])
    channel = _channel_label(row["channel"])
    payment.add("programme", channel)
    payment.add(
        "summary",
        f"{channel} from {row['sender_name']} to {row['beneficiary_name']}; "
        f"sender's local time {row['ts_local']}",
    )
    return payment


def _decimal_text(amount: Decimal | float | int) -> str:
    if isinstance(amount, Decimal):
        return f"{amount.normalize():f}"
    return str(amount)


def _channel_label(channel: str | None) -> str:
    return (channel or "unknown channel").replace("_", " ")


def _write(fh: IO[str], entity: EntityProxy) -> None:
    fh.write(json.dumps(entity.to_dict(), sort_keys=True, ensure_ascii=False))
    fh.write("\n")
