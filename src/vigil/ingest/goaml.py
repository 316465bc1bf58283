"""goAML reports in (UNODC goAML 5.0.1 `<report>`): an FIU's STRs onto the canonical columns.

An FIU receives STRs from many reporters; each `<transaction>` of a report becomes one row:
- `txn_id` from `transactionnumber`; `ts` from `date_transaction` (goAML dates carry no
  offset: UTC unless the layout's timezone says otherwise, flagged as assumed);
- the sender from `t_from_my_client` or `t_from`, the beneficiary from `t_to_my_client` or
  `t_to`, each a person, an account or an entity (below);
- `amount` and `currency` from the sender's (else the beneficiary's) `foreign_currency`
  block when there is one (the payment's own currency), else `amount_local` in the report's
  `currency_code_local`;
- `reporter` from the report's `rentity_id` (its `rentity_branch` is kept as extra data): a
  sender id is unique only within its reporter;
- `channel` from `transmode_comment` when it names a canonical channel (as Vigil's own STRs
  do), else `other` (transmode codes are each FIU's own list); the code is kept.

A party's id: an account's `client_number` (the reporter's customer, for a sender) or its
IBAN / account number (with the institution's SWIFT or code in front: account numbers are
unique only within their bank); a person's or entity's identifiers (`ssn`, `id_number`,
`passport_number`, `incorporation_number`, `tax_number`); Vigil's own STRs write the
customer and account ids in the person's `comments` ("Customer id X.", "Account/wallet id
X; city Y."), read back here. A transaction whose sender or beneficiary has no id, or with
`involved_parties` (multi-party), or without a number, is rejected with its position and
reason; validation then checks the rows like any other input (an impossible date, a
negative amount, an unknown country is quarantined with its column).

The file is streamed with lxml's iterparse as iso20022.py does: no entities resolved, no
DTD, no network, libxml2's size limits; each transaction is removed once mapped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import pyarrow as pa
from lxml import etree

from vigil.errors import InputError
from vigil.ingest.iso20022 import (
    REJECT_SCHEMA,
    ROW_COLUMN,
    Clock,
    Conversion,
    _open,
    _Writer,
    child,
    local,
    safe_events,
    stream_xml,
    text,
)
from vigil.schema import CANONICAL_ORDER, CHANNELS

ROOT = "report"
MESSAGE = "goAML report"
EXTRA_COLUMNS = (
    "goaml_report",  # the report's entity_reference
    "goaml_transaction",  # the transaction's position in the report (1 = first)
    "goaml_branch",  # rentity_branch
    "goaml_transmode_code",
    "sender_id_source",  # which element gave the id
    "beneficiary_id_source",
    "ts_offset_assumed",
)
PARQUET_COLUMNS = (ROW_COLUMN, *CANONICAL_ORDER, *EXTRA_COLUMNS)
DEFAULT_CHANNEL = "other"
SNIFF_BYTES = 1 << 16
# Vigil's own STRs (vigil.reports.goaml) write ids where the XSD has room for them: comments.
CUSTOMER_COMMENT = re.compile(r"Customer id (.+?)\.$")
ACCOUNT_COMMENT = re.compile(r"Account/wallet id (.+?)(?:; city (.+?))?\.$")
NARRATIVE_IN_DESCRIPTION = re.compile(r" Narrative: (.+)$", re.DOTALL)
REPORT_FIELDS = ("rentity_id", "rentity_branch", "entity_reference", "currency_code_local")
PERSON_IDS = ("ssn", "id_number", "passport_number", "tax_number")
ENTITY_IDS = ("incorporation_number", "tax_number", "tax_reg_number")


def is_goaml(path: Path) -> bool:
    """True when the XML's first element is a goAML `<report>` (the ISO 20022 reader takes
    everything else): read by content, not by the file's name."""
    try:
        with _open(path) as handle:
            events = etree.iterparse(
                handle,
                events=("start",),
                resolve_entities=False,
                no_network=True,
                huge_tree=False,
                load_dtd=False,
            )
            for _, element in events:
                return local(element) == ROOT and etree.QName(element).namespace is None
    except etree.XMLSyntaxError:
        return False  # the ISO 20022 reader says what is wrong with it
    return False


def convert(path: Path, out_dir: Path, stem: str, *, timezone: str | None = None) -> Conversion:
    """Stream goAML report `path` into `out_dir/{stem}.rows.parquet` and `….rejects.parquet`
    (the layout of iso20022.convert: rows as text with ROW_COLUMN = transaction position)."""
    rows_path = out_dir / f"{stem}.rows.parquet"
    rejects_path = out_dir / f"{stem}.rejects.parquet"
    result = Conversion(path, rows_path, rejects_path)
    schema = pa.schema([(name, pa.string()) for name in PARQUET_COLUMNS])
    rows, rejects = _Writer(rows_path, schema), _Writer(rejects_path, REJECT_SCHEMA)
    mapper = _Mapper(Clock(ZoneInfo(timezone or "UTC")), rows, rejects)
    stream_xml(path, mapper.read, rows, rejects)
    if not mapper.reports:
        raise InputError(f"{path}: no goAML <report> element found")
    result.messages[MESSAGE] = mapper.reports
    result.n_rows, result.n_rejects = rows.count, rejects.count
    if not mapper.transactions:
        result.warnings.append(f"{path}: the goAML report holds no <transaction>")
    return result


def _name(person: etree._Element) -> str | None:
    """ "First Last" of a goAML person; goAML's '-' (unknown first name) is left out."""
    first = text(person, "first_name")
    parts = [first if first not in {None, "-"} else None, text(person, "middle_name")]
    parts.append(text(person, "last_name"))
    name = " ".join(p for p in parts if p)
    return name or None


def _first_id(element: etree._Element, names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = text(element, name)
        if value is not None:
            return value, name
    return None


class _Mapper:
    def __init__(self, clock: Clock, rows: _Writer, rejects: _Writer) -> None:
        self.clock = clock
        self.rows = rows
        self.rejects = rejects
        self.report: dict[str, str | None] = {}
        self.reports = 0
        self.transactions = 0

    def read(self, handle: IO[bytes]) -> None:
        events = safe_events(handle)
        depth = 0
        for event, element in events:
            if event == "start":
                depth += 1
                if depth == 1 and local(element) == ROOT:
                    self.reports += 1
                    self.report = {}
                continue
            depth -= 1
            name = local(element)
            if depth == 1 and name in REPORT_FIELDS:  # the header precedes the transactions
                self.report[name] = text(element, "")
            elif depth == 1 and name == "transaction":
                self.transactions += 1
                self._transaction(element, self.transactions)
                element.getparent().remove(element)  # done with it: memory stays bounded

    def _reject(self, position: int, reason: str, column: str = "") -> None:
        where = f"transaction {position}"
        self.rejects.add(
            {
                "row": position,
                "bad_column": column,
                "reason": f"{reason} ({where})",
                "raw_line": where,
            }
        )

    def _transaction(self, tx: etree._Element, position: int) -> None:
        if child(tx, "involved_parties") is not None:
            self._reject(position, "multi-party transaction (involved_parties): not read")
            return
        number = text(tx, "transactionnumber")
        if number is None:
            self._reject(position, "no transactionnumber", "txn_id")
            return
        values: dict[str, str | None] = {"txn_id": number}
        for side, kind in (("from", "sender"), ("to", "beneficiary")):
            block = child(tx, f"t_{side}_my_client")
            block = block if block is not None else child(tx, f"t_{side}")
            if block is None:
                self._reject(position, f"no t_{side} or t_{side}_my_client", f"{kind}_id")
                return
            problem = self._party(block, side, kind, values)
            if problem is not None:
                self._reject(position, problem, f"{kind}_id")
                return
        ts, _, assumed = self.clock.canonical(text(tx, "date_transaction"))
        values["ts"] = ts
        values["ts_offset_assumed"] = "true" if assumed else "false"
        foreign = None
        for path in (
            "t_from/from_foreign_currency",
            "t_from_my_client/from_foreign_currency",
            "t_to/to_foreign_currency",
            "t_to_my_client/to_foreign_currency",
        ):
            foreign = child(tx, path)
            if foreign is not None:
                break
        if foreign is not None and text(foreign, "foreign_amount") is not None:
            values["amount"] = text(foreign, "foreign_amount")
            values["currency"] = text(foreign, "foreign_currency_code")
        else:
            values["amount"] = text(tx, "amount_local")
            values["currency"] = self.report.get("currency_code_local")
        comment = text(tx, "transmode_comment")
        values["channel"] = comment if comment in CHANNELS else DEFAULT_CHANNEL
        values["goaml_transmode_code"] = text(tx, "transmode_code")
        description = child(tx, "transaction_description")
        found = None
        if description is not None and description.text:
            found = NARRATIVE_IN_DESCRIPTION.search(description.text)
        values["narrative"] = found.group(1).strip() if found else None
        values["reporter"] = self.report.get("rentity_id")
        values["goaml_branch"] = self.report.get("rentity_branch")
        values["goaml_report"] = self.report.get("entity_reference")
        values["goaml_transaction"] = str(position)
        row = {name: values.get(name) for name in PARQUET_COLUMNS}
        row[ROW_COLUMN] = str(position)
        self.rows.add(row)

    def _party(
        self, block: etree._Element, side: str, kind: str, values: dict[str, str | None]
    ) -> str | None:
        """Fill `kind`'s id, name and country from a t_from / t_to block; the reason when
        the party cannot be read."""
        values[f"{kind}_country"] = text(block, f"{side}_country")
        person = child(block, f"{side}_person")
        account = child(block, f"{side}_account")
        entity = child(block, f"{side}_entity")
        found: tuple[str, str] | None = None
        if person is not None:
            values[f"{kind}_name"] = _name(person)
            comments = text(person, "comments") or ""
            own = (CUSTOMER_COMMENT if kind == "sender" else ACCOUNT_COMMENT).search(comments)
            if own is not None:
                found = own.group(1), f"{side}_person/comments"
                if kind == "beneficiary" and own.group(2):
                    values["beneficiary_city"] = own.group(2)
            else:
                named = _first_id(person, PERSON_IDS)
                found = (named[0], f"{side}_person/{named[1]}") if named else None
            if kind == "beneficiary" and values.get("beneficiary_city") is None:
                values["beneficiary_city"] = text(person, "addresses/address/city")
        elif account is not None:
            holder = child(account, "signatory/t_person")
            if holder is None:
                holder = child(account, "related_persons/account_related_person/t_person")
            values[f"{kind}_name"] = text(account, "account_name") or (
                _name(holder) if holder is not None else None
            )
            client = text(account, "client_number") if kind == "sender" else None
            if client is not None:
                found = client, f"{side}_account/client_number"
            else:
                number = text(account, "iban") or text(account, "account")
                bank = text(account, "swift") or text(account, "institution_code")
                if number is not None:
                    found = (
                        f"{bank} {number}" if bank and not text(account, "iban") else number,
                        f"{side}_account",
                    )
        elif entity is not None:
            values[f"{kind}_name"] = text(entity, "name") or text(entity, "commercial_name")
            named = _first_id(entity, ENTITY_IDS)
            found = (named[0], f"{side}_entity/{named[1]}") if named else None
        else:
            return f"t_{side} names no person, account or entity"
        if found is None:
            return f"the {kind} (t_{side}) has no identifier goAML defines or Vigil wrote"
        values[f"{kind}_id"], values[f"{kind}_id_source"] = found
        return None
