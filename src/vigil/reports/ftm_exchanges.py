"""FollowTheMoney entities for the exchanges of the parties in an export: a `UserAccount`
per chat participant, a `Message` per message and a `Call` per call.

Only threads the identifier bridge ties to a party in scope are exported. A participant the
bridge ties to a payment party is owned by that party's holder (the same entity id as its
Person / LegalEntity, so Aleph joins them); any other participant is a `LegalEntity` of its
own. FtM dates are UTC (at second precision); the raw time text, where its zone came from
and the place in the source file are kept in `metadata`, as the research note asks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from followthemoney import model
from followthemoney.proxy import EntityProxy
from followthemoney.util import make_entity_id

from vigil.exchanges.bridge import LINKS as PARTY_LINKS
from vigil.exchanges.store import MEMBERS, MESSAGES
from vigil.workspace import Workspace


def _id(*parts: str | None) -> str:
    made = make_entity_id("vigil", "exchange", *[p or "" for p in parts])
    assert made is not None
    return made


def _member_key(name: str | None, identifier: str | None) -> str:
    return f"{name or ''}|{identifier or ''}"


def exchange_entities(
    ws: Workspace, parties_table: str, holder_id: Any, rows: Any
) -> Iterator[EntityProxy]:
    """Entities for the threads tied to the parties of `parties_table` (kind, party_id).

    `holder_id(kind, party_id)` gives a party's holder entity id; `rows(sql, params)` streams
    query results as dicts (the FtM export's own helpers, so ids and batching agree)."""
    if not (ws.has_table(MESSAGES) and ws.has_table(PARTY_LINKS)):
        return
    threads = f"""SELECT DISTINCT l.thread_key FROM {PARTY_LINKS} l
        JOIN {parties_table} s ON s.kind = l.party_kind AND s.party_id = l.party_id"""
    owners: dict[tuple[str, str], str] = {}
    for row in rows(
        f"""SELECT l.thread_key, l.member_name, l.member_identifier,
                   min(l.party_kind) AS party_kind, min(l.party_id) AS party_id
            FROM {PARTY_LINKS} l WHERE l.thread_key IN ({threads})
                AND (l.member_name IS NOT NULL OR l.member_identifier IS NOT NULL)
            GROUP BY ALL HAVING count(DISTINCT l.party_kind || l.party_id) = 1""",
        {},
    ):
        key = (row["thread_key"], _member_key(row["member_name"], row["member_identifier"]))
        owners[key] = holder_id(row["party_kind"], row["party_id"])
    accounts: dict[tuple[str, str], str] = {}
    for row in rows(
        f"""SELECT m.thread_key, m.name, m.identifier, m.id_kind, m.id_value, f.format
            FROM {MEMBERS} m JOIN exchange_files f USING (file_sha256)
            WHERE m.thread_key IN ({threads}) ORDER BY m.thread_key, m.name, m.identifier""",
        {},
    ):
        key = (row["thread_key"], _member_key(row["name"], row["identifier"]))
        yield from _account(row, owners.get(key), accounts)
    for row in rows(
        f"""SELECT m.*, f.format AS file_format FROM {MESSAGES} m
            JOIN exchange_files f USING (file_sha256)
            WHERE m.thread_key IN ({threads}) ORDER BY m.ts_utc, m.message_id""",
        {},
    ):
        yield from _message(row, owners, accounts)


def _account(
    row: dict[str, Any], owner: str | None, accounts: dict[tuple[str, str], str]
) -> Iterator[EntityProxy]:
    label = row["identifier"] or row["name"]
    account = model.make_entity("UserAccount")
    account.id = _id("account", row["format"], row["id_value"] or label)
    account.add("username", label)
    account.add("service", row["format"])
    if row["name"]:
        account.add("name", row["name"])
    if row["id_kind"] == "phone":
        account.add("phone", row["id_value"])
    elif row["id_kind"] == "email":
        account.add("email", row["id_value"])
    if owner is None:
        holder = model.make_entity("LegalEntity")
        holder.id = _id("participant", row["format"], row["id_value"] or label)
        holder.add("name", row["name"] or label)
        if row["id_kind"] == "phone":
            holder.add("phone", row["id_value"])
        yield holder
        owner = holder.id
    account.add("owner", owner)
    accounts[(row["thread_key"], _member_key(row["name"], row["identifier"]))] = account.id
    accounts[(row["thread_key"], "owner-of:" + account.id)] = owner
    yield account


def _message(
    row: dict[str, Any], owners: dict[tuple[str, str], str], accounts: dict[tuple[str, str], str]
) -> Iterator[EntityProxy]:
    thread = row["thread_key"]
    sender_key = (thread, _member_key(row["sender_name"], row["sender_identifier"]))
    sender_account = accounts.get(sender_key)
    sender = owners.get(sender_key) or (
        accounts.get((thread, "owner-of:" + sender_account)) if sender_account else None
    )
    recipients = [
        accounts[(thread, key)]
        for key in (_member_key(name, ident) for name, ident in json.loads(row["recipients"]))
        if (thread, key) in accounts
    ]
    date = row["ts_utc"].strftime("%Y-%m-%dT%H:%M:%S")
    metadata = {
        "ts_raw": row["ts_raw"],
        "tz_source": row["tz_source"],
        "tz_assumed": row["tz_assumed"],
        "utc_offset_minutes": row["utc_offset_minutes"],
        "source_file": row["source_file"],
        "source_sha256": row["file_sha256"],
        "position": row["position"],
        "warnings": list(row["warnings"] or []),
    }
    if row["kind"] == "call":
        call = model.make_entity("Call")
        call.id = _id("call", row["message_id"])
        call.add("date", date)
        if row["duration_seconds"] is not None:
            call.add("duration", str(row["duration_seconds"]))
        if sender:
            call.add("caller", sender)
        if row["sender_identifier"]:
            call.add("callerNumber", row["sender_identifier"])
        for account in recipients:
            owner = accounts.get((thread, "owner-of:" + account))
            if owner:
                call.add("receiver", owner)
        call.add("summary", json.dumps(metadata, ensure_ascii=False))
        yield call
        return
    if sender is None:
        return  # FtM requires a sender; a system line has none
    message = model.make_entity("Message")
    message.id = _id("message", row["message_id"])
    message.add("bodyText", row["body"] or "(no text)")
    message.add("sender", sender)
    if sender_account:
        message.add("senderAccount", sender_account)
    for account in recipients:
        message.add("recipientAccount", account)
    message.add("date", date)
    message.add("threadTopic", row["thread"])
    message.add("messageId", row["local_id"])
    message.add("metadata", json.dumps(metadata, ensure_ascii=False))
    yield message
