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
