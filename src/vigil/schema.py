"""The canonical payment columns (shared/spec/payments-csv.md): the only place they are spelled."""

from __future__ import annotations

import pyarrow as pa

REQUIRED_COLUMNS: tuple[str, ...] = (
    "txn_id",
    "ts",
    "sender_id",
    "sender_name",
    "sender_country",
    "beneficiary_id",
    "beneficiary_name",
    "beneficiary_country",
    "amount",
    "currency",
    "channel",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "beneficiary_city",
    "narrative",
    "payout_location",  # agent, branch or cash-out point where the money was collected
    "beneficiary_phone",  # the beneficiary's phone as recorded (many wallets are phones)
    "reporter",  # the reporting institution (FIU mode): sender ids are unique only within it
)

# Column order of files Vigil writes (the generator), and of the spec's example.
CANONICAL_ORDER: tuple[str, ...] = (
    "txn_id",
    "ts",
    "sender_id",
    "sender_name",
    "sender_country",
    "beneficiary_id",
    "beneficiary_name",
    "beneficiary_country",
    "beneficiary_city",
    "amount",
    "currency",
    "channel",
    "narrative",
    "payout_location",
    "beneficiary_phone",
    "reporter",
)

# FIU mode: a sender id is unique only within its reporter (two banks may both have a
# customer 1001), so a sender with a reporter is keyed "reporter:sender_id" in the workspace.
# A reporter may not contain the separator, so the key is never ambiguous; a beneficiary id
# is an account or wallet, the same account whoever reports it, and is never prefixed.
SENDER_KEY_SEPARATOR = ":"


def sender_key_sql(reporter: str, sender_id: str) -> str:
    """SQL: the workspace's key of a sender (`reporter` NULL outside FIU mode)."""
    return (
        f"CASE WHEN {reporter} IS NULL THEN {sender_id} "
        f"ELSE {reporter} || '{SENDER_KEY_SEPARATOR}' || {sender_id} END"
    )


CHANNELS: tuple[str, ...] = (
    "online_remittance",
    "agent_remittance",
    "bank_transfer",
    "ewallet",
    "card",
    "crypto",
    "other",
)

# As exchanged in files: every column is text; ingest parses and validates it.
PAYMENTS_CSV = pa.schema([pa.field(name, pa.string()) for name in CANONICAL_ORDER])

PARTY_KINDS: tuple[str, ...] = ("sender", "beneficiary")
PARTY_KIND_PLURALS: dict[str, str] = {"sender": "senders", "beneficiary": "beneficiaries"}
POSITIVE_ROLES: dict[str, str] = {"sender": "offender", "beneficiary": "facilitator"}

LABEL_COLUMNS: tuple[str, ...] = ("party_kind", "party_id", "role")
ALERT_COLUMNS: tuple[str, ...] = ("party_kind", "party_id", "score", "rank", "indicators")
