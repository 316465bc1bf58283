"""Small payment tables for tests: each test writes the few rows that show one behaviour."""

from __future__ import annotations

import csv
import itertools
from datetime import datetime, timedelta
from pathlib import Path

from vigil.schema import CANONICAL_ORDER

_ids = itertools.count(1)


def payment(
    sender: str,
    beneficiary: str,
    when: datetime | str,
    amount: float = 40,
    *,
    sender_name: str | None = None,
    beneficiary_name: str | None = None,
    sender_country: str = "US",
    beneficiary_country: str = "PH",
    currency: str = "USD",
    offset: str = "+00:00",
    channel: str = "online_remittance",
    narrative: str = "",
    city: str = "Cebu City",
) -> dict[str, str]:
    """One payment; `when` is the sender's local time, `offset` its UTC offset."""
    stamp = when if isinstance(when, str) else when.strftime("%Y-%m-%dT%H:%M:%S") + offset
    return {
        "txn_id": f"T{next(_ids):07d}",
        "ts": stamp,
        "sender_id": sender,
        "sender_name": sender_name or f"Gary {sender.title()}son",
        "sender_country": sender_country,
        "beneficiary_id": beneficiary,
        "beneficiary_name": beneficiary_name or f"Rosa {beneficiary.title()}ez",
        "beneficiary_country": beneficiary_country,
        "beneficiary_city": city,
        "amount": f"{amount:.2f}",
        "currency": currency,
        "channel": channel,
        "narrative": narrative,
    }


def series(
    sender: str, beneficiary: str, start: datetime, count: int, every: timedelta, **kwargs
) -> list[dict[str, str]]:
    return [payment(sender, beneficiary, start + i * every, **kwargs) for i in range(count)]


def write_payments(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CANONICAL_ORDER))
        writer.writeheader()
        writer.writerows(rows)
    return path


def payment_row(**overrides: str) -> dict[str, str]:
    """A valid canonical row (like the spec's example), with a fresh txn_id unless given."""
    row = {
        "txn_id": f"G{next(_ids):07d}",
        "ts": "2023-02-03T11:42:10+01:00",
        "sender_id": "C1001",
        "sender_name": "Alain Mercier",
        "sender_country": "FR",
        "beneficiary_id": "W5501",
        "beneficiary_name": "Rosalie Dizon",
        "beneficiary_country": "PH",
        "beneficiary_city": "Lapu-Lapu",
        "amount": "45.00",
        "currency": "EUR",
        "channel": "online_remittance",
        "narrative": "gift",
    }
    row.update(overrides)
    return row


def write_payments_csv(
    path: Path, rows: list[dict[str, str]], columns: list[str] | tuple[str, ...] | None = None
) -> Path:
    """Rows given as overrides of `payment_row()`; `columns` picks and orders the header."""
    header = list(columns) if columns is not None else list(CANONICAL_ORDER)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for overrides in rows:
            full = payment_row(**overrides)
            writer.writerow([full.get(c, "") for c in header])
    return path
