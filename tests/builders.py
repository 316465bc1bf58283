"""Small payment tables for tests: each test writes the few rows that show one behaviour."""

from __future__ import annotations

import csv
import gzip
import hashlib
import itertools
from collections.abc import Iterable, Mapping
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
        "sender_name": sender_name or f"Gary {_surname_for(sender)}",
        "sender_country": sender_country,
        "beneficiary_id": beneficiary,
        "beneficiary_name": beneficiary_name or f"Rosa {_surname_for(beneficiary)}",
        "beneficiary_country": beneficiary_country,
        "beneficiary_city": city,
        "amount": f"{amount:.2f}",
        "currency": currency,
        "channel": channel,
        "narrative": narrative,
    }


def _surname_for(party_id: str) -> str:
    """A made-up surname of eight letters drawn from the id's hash: different ids give names
    far apart, so entity resolution keeps their accounts apart unless a test says otherwise."""
    digest = hashlib.sha256(party_id.encode()).digest()
    return "".join("abcdefghijklmnopqrstuvwxyz"[b % 26] for b in digest[:8]).title()


def series(
    sender: str, beneficiary: str, start: datetime, count: int, every: timedelta, **kwargs
) -> list[dict[str, str]]:
    return [payment(sender, beneficiary, start + i * every, **kwargs) for i in range(count)]


# A valid payment (the shape of shared/spec/example-payments.csv): builders fill every
# canonical column a test leaves out with these values.
DEFAULT_PAYMENT: dict[str, str] = {
    "txn_id": "T0001",
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
    "payout_location": "",
    "beneficiary_phone": "",
    "reporter": "",  # FIU mode only
}


def payment_row(**values: object) -> dict[str, str]:
    """One valid payment row, with `values` instead of the defaults."""
    return {**DEFAULT_PAYMENT, **{k: "" if v is None else str(v) for k, v in values.items()}}


def complete_rows(rows: Iterable[Mapping[str, object]]) -> list[dict[str, str]]:
    """Fill each row's missing canonical columns; a row without txn_id gets T0001, T0002…"""
    return [
        payment_row(**{"txn_id": f"T{number:04d}", **row})
        for number, row in enumerate(rows, start=1)
    ]


def write_payments_csv(
    path: Path,
    rows: Iterable[Mapping[str, object]],
    *,
    columns: Iterable[str] | None = None,
) -> Path:
    """Write `rows` as a canonical payments CSV (gzip when `path` ends in .gz).

    Omitted canonical columns get valid defaults; `columns` picks (and orders) the header,
    e.g. to leave a required column out or to add an extra one.
    """
    filled = complete_rows(rows)
    if columns is not None:
        header = list(columns)
    else:
        header = list(CANONICAL_ORDER)
        header += [k for row in filled for k in row if k not in CANONICAL_ORDER]
        header = list(dict.fromkeys(header))
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(filled)
    return path


def write_pacs008(path: Path, rows: Iterable[Mapping[str, object]]) -> Path:
    """Render canonical payment rows as one pacs.008.001.08 message (what a bank would send
    for the same payments): ids as party ids, countries and cities in postal addresses,
    the timestamp as AccptncDtTm, the reference as unstructured remittance information."""
    from lxml import etree

    ns = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"

    def sub(parent: etree._Element, name: str, text: object = None, **attrs: str):
        element = etree.SubElement(parent, f"{{{ns}}}{name}", attrs)
        if text is not None:
            element.text = str(text)
        return element

    def party(parent: etree._Element, name: str, who: str, ident: str, ctry: str, city: str):
        element = sub(parent, name)
        sub(element, "Nm", who)
        address = sub(element, "PstlAdr")
        if city:
            sub(address, "TwnNm", city)
        sub(address, "Ctry", ctry)
        sub(sub(sub(sub(element, "Id"), "PrvtId"), "Othr"), "Id", ident)

    document = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    message = sub(document, "FIToFICstmrCdtTrf")
    header = sub(message, "GrpHdr")
    sub(header, "MsgId", "TEST-MSG-1")
    sub(header, "CreDtTm", "2024-01-01T00:00:00+00:00")
    filled = complete_rows(rows)
    sub(header, "NbOfTxs", len(filled))
    for row in filled:
        tx = sub(message, "CdtTrfTxInf")
        ids = sub(tx, "PmtId")
        sub(ids, "EndToEndId", row["txn_id"])
        sub(ids, "TxId", row["txn_id"])
        sub(tx, "IntrBkSttlmAmt", row["amount"], Ccy=row["currency"])
        sub(tx, "AccptncDtTm", row["ts"])
        sub(tx, "InstdAmt", row["amount"], Ccy=row["currency"])
        party(tx, "Dbtr", row["sender_name"], row["sender_id"], row["sender_country"], "")
        party(
            tx,
            "Cdtr",
            row["beneficiary_name"],
            row["beneficiary_id"],
            row["beneficiary_country"],
            row.get("beneficiary_city", ""),
        )
        if row.get("narrative"):
            sub(sub(tx, "RmtInf"), "Ustrd", row["narrative"])
    path.parent.mkdir(parents=True, exist_ok=True)
    etree.ElementTree(document).write(str(path), xml_declaration=True, encoding="UTF-8")
    return path
