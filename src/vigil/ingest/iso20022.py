"""ISO 20022 messages in: pacs.008, pain.001, camt.053 and camt.054 onto the canonical columns.

The message is recognised by the namespace of its Document (or, without one, by the
message element: FIToFICstmrCdtTrf, CstmrCdtTrfInitn, BkToCstmrStmt, BkToCstmrDbtCdtNtfctn),
wherever it sits (SWIFT Envelope, FedNow or Fedwire wrapper, several Documents in a file).
lxml's iterparse streams the file: each transaction is mapped when its element ends and is
then removed, so memory stays bounded by the largest transaction, not by the file. Entities
are not resolved and the network is never used.

Every transaction becomes a row in a Parquet file (canonical columns as text, plus where
each value came from) or a reject (its XPath and why: a reversal, a fee, a batch without
details). Ingest then validates the rows like any other input. The mapping follows
shared/iso20022/README.md; values are text and amounts are Decimal, never float.
"""

from __future__ import annotations

import gzip
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Literal, Protocol
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from lxml import etree

from vigil.errors import InputError
from vigil.schema import CANONICAL_ORDER

AccountHolder = Literal["sender", "beneficiary", "auto"]

MESSAGES = {
    "FIToFICstmrCdtTrf": "pacs.008",
    "CstmrCdtTrfInitn": "pain.001",
    "BkToCstmrStmt": "camt.053",
    "BkToCstmrDbtCdtNtfctn": "camt.054",
}
UNITS = {
    "pacs.008": "CdtTrfTxInf",
    "pain.001": "CdtTrfTxInf",
    "camt.053": "Ntry",
    "camt.054": "Ntry",
}
NAMESPACE_VERSION = re.compile(r"(pacs\.008|pain\.001|camt\.05[34])\.(\d{3})\.(\d{2})")
SUPPORTED_VERSIONS = {
    "pacs.008": {"02", "08", "12"},
    "pain.001": {"03", "09"},
    "camt.053": {"02", "04", "08"},
    "camt.054": {"02", "04", "08"},
}
# Clearing-system codes of national routing numbers (ClrSysMmbId/ClrSysId/Cd) → country.
CLEARING_COUNTRIES = {
    "USABA": "US",
    "USPID": "US",
    "GBDSC": "GB",
    "DEBLZ": "DE",
    "CHBCC": "CH",
    "CHSIC": "CH",
    "ATBLZ": "AT",
    "AUBSB": "AU",
    "CACPA": "CA",
    "INFSC": "IN",
    "ITNCC": "IT",
    "JPZGN": "JP",
    "NZNCC": "NZ",
    "ESNCC": "ES",
    "PLKNR": "PL",
    "IENCC": "IE",
}
PAYMENT_FAMILIES = {
    "RCDT": "bank_transfer",
    "ICDT": "bank_transfer",
    "RRCT": "bank_transfer",
    "IRCT": "bank_transfer",
    "CCRD": "card",
    "MCRD": "card",
}
NOT_PAYMENT_SUBFAMILIES = {"RRTN": "a return", "CHRG": "a charge", "INTR": "interest"}
DEFAULT_CHANNEL = "bank_transfer"
EXTRA_COLUMNS = (
    "iso_message",
    "iso_xpath",
    "ts_precision",
    "ts_offset_assumed",
    "sender_country_source",
    "beneficiary_country_source",
    "sender_id_source",
    "beneficiary_id_source",
    "beneficiary_city_source",
    "direction",
    "instructed",
    "uetr",
    "end_to_end_id",
    "ultimate_sender",
    "ultimate_beneficiary",
    "holder_name_source",
)
ROW_COLUMN = "vigil_row"
PARQUET_COLUMNS = (ROW_COLUMN, *CANONICAL_ORDER, *EXTRA_COLUMNS)
REJECT_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("bad_column", pa.string()),
        ("reason", pa.string()),
        ("raw_line", pa.string()),
    ]
)
BATCH_ROWS = 10_000
XSD_MAX_BYTES = 32 << 20  # validate against the XSD only what fits comfortably in memory
XSD_DIR = Path(__file__).resolve().parent.parent / "data" / "iso20022"


def local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def child(element: etree._Element | None, path: str) -> etree._Element | None:
    """The first element along the local-name path `path` ('Dbtr/PstlAdr/Ctry')."""
    for name in path.split("/"):
        if element is None:
            return None
        element = next((c for c in element if local(c) == name), None)
    return element


def text(element: etree._Element | None, *paths: str) -> str | None:
    """The stripped text of the first path that has some (A → B → C)."""
    for path in paths:
        found = child(element, path) if path else element
        if found is not None and found.text is not None and found.text.strip():
            return " ".join(found.text.split())
    return None


def children(element: etree._Element | None, name: str) -> list[etree._Element]:
    return [] if element is None else [c for c in element if local(c) == name]


# --- helpers of the mapping (README "Shared helpers") ---------------------------------------


def agent_code(agent: etree._Element | None) -> str | None:
    return text(agent, "FinInstnId/BICFI", "FinInstnId/BIC", "FinInstnId/ClrSysMmbId/MmbId")


def party_id(
    account: etree._Element | None,
    agent: etree._Element | None,
    party: etree._Element | None,
) -> tuple[str | None, str | None]:
    """ID(acct, agent, party) and which element gave it."""
    iban = text(account, "Id/IBAN")
    if iban:
        return iban.replace(" ", ""), "account IBAN"
    other = text(account, "Id/Othr/Id")
    if other:
        code = agent_code(agent)
        return (f"{code}:{other}" if code else other), "account id at its agent"
    proxy = text(account, "Prxy/Id")
    if proxy:
        kind = text(account, "Prxy/Tp/Cd", "Prxy/Tp/Prtry") or "id"
        return f"proxy:{kind}:{proxy}", "account proxy"
    for target in (party, child(party, "Pty")):
        for path in (
            "Id/PrvtId/Othr/Id",
            "Id/OrgId/AnyBIC",
            "Id/OrgId/BICOrBEI",
            "Id/OrgId/LEI",
            "Id/OrgId/Othr/Id",
        ):
            value = text(target, path)
            if value:
                return value, "party id"
    name = text(party, "Nm", "Pty/Nm")
    if name:
        code = agent_code(agent)
        normalised = re.sub(r"[^0-9a-z]+", " ", name.casefold()).strip()
        return (f"name:{code}:{normalised}" if code else f"name:{normalised}"), "name (no id)"
    return None, None


def _country(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().upper()
    return "GB" if value == "UK" else value


def country(
    party: etree._Element | None,
    account: etree._Element | None,
    agent: etree._Element | None,
) -> tuple[str | None, str | None]:
    """CTRY(party, acct, agent) and which step gave it."""
    for target in (party, child(party, "Pty")):
        found = _country(text(target, "PstlAdr/Ctry"))
        if found:
            return found, "postal address"
        found = _country(text(target, "CtryOfRes"))
        if found:
            return found, "country of residence"
    iban = text(account, "Id/IBAN")
    if iban and re.match(r"[A-Za-z]{2}", iban):
        return _country(iban[:2]), "IBAN"
    bic = text(agent, "FinInstnId/BICFI", "FinInstnId/BIC")
    if bic and len(bic) >= 6:
        return _country(bic[4:6]), "agent BIC"
    clearing = text(agent, "FinInstnId/ClrSysMmbId/ClrSysId/Cd")
    if clearing in CLEARING_COUNTRIES:
        return CLEARING_COUNTRIES[clearing], "agent clearing system"
    found = _country(text(agent, "FinInstnId/PstlAdr/Ctry"))
    if found:
        return found, "agent address"
    return None, None


def amount(element: etree._Element | None) -> tuple[str, str] | None:
    """AMT(x): the decimal text (scale kept) and the Ccy attribute."""
    if element is None or element.text is None or not element.text.strip():
        return None
    raw = element.text.strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return raw, element.get("Ccy") or ""
    return (str(value) if value.is_finite() else raw), element.get("Ccy") or ""


def first_amount(*elements: etree._Element | None) -> tuple[str, str] | None:
    for element in elements:
        found = amount(element)
        if found is not None:
            return found
    return None


def narrative(tx: etree._Element | None, *more: str) -> str | None:
    remittance = child(tx, "RmtInf")
    lines = [" ".join(u.text.split()) for u in children(remittance, "Ustrd") if u.text]
    joined = " ".join(line for line in lines if line)
    if joined:
        return joined
    return text(remittance, "Strd/CdtrRefInf/Ref", "Strd/RfrdDocInf/Nb") or text(tx, *more)


@dataclass
class Clock:
    """Date-times as canonical text: an offset is assumed from `zone` when the message
    has none (flagged), and a date alone becomes noon of that day (flagged as a date)."""

    zone: ZoneInfo

    def canonical(self, value: str | None, date_only: bool = False) -> tuple[str, str, bool]:
        """(ts, precision, offset_assumed); ts is the value as written when it is not a
        date-time, so validation quarantines it with the message's text."""
        if not value:
            return "", "", False
        value = value.strip()
        try:
            if date_only or re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                moment = datetime.combine(datetime.fromisoformat(value).date(), time(12))
                return self._with_offset(moment), "date", True
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value, "", False
        if moment.tzinfo is not None:
            return value, "second", False
        return self._with_offset(moment), "second", True

    def _with_offset(self, moment: datetime) -> str:
        aware = moment.replace(tzinfo=self.zone)
        return aware.isoformat(timespec="seconds" if not moment.microsecond else "microseconds")


# --- the streaming reader -------------------------------------------------------------------


@dataclass
class Conversion:
    """What one ISO 20022 file became."""

    path: Path
    rows: Path  # Parquet: PARQUET_COLUMNS, all text
    rejects: Path  # Parquet: REJECT_SCHEMA
    messages: Counter[str] = field(default_factory=Counter)  # e.g. {"pacs.008.001.08": 1}
    n_rows: int = 0
    n_rejects: int = 0
    warnings: list[str] = field(default_factory=list)


class _Writer:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.buffer: list[dict[str, object]] = []
        self.writer = pq.ParquetWriter(path, schema)
        self.count = 0

    def add(self, row: dict[str, object]) -> None:
        self.buffer.append(row)
        self.count += 1
        if len(self.buffer) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.buffer = []

    def close(self) -> None:
        self.flush()
        self.writer.close()


class _Sink(Protocol):
    count: int

    def add(self, row: dict[str, object]) -> None: ...


class _Memory:
    """Rows kept in memory, for a message small enough to hold (the scoring API's body)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.count = 0

    def add(self, row: dict[str, object]) -> None:
        self.rows.append(row)
        self.count += 1


def is_xml(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".xml") or name.endswith(".xml.gz")


def _open(path: Path) -> IO[bytes]:
    try:
        return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")
    except OSError as error:
        raise InputError(f"{path}: cannot read the file: {error.strerror or error}") from error


def safe_events(handle: IO[bytes]) -> etree.iterparse:
    """Start and end events of an untrusted file: no entity expansion, DTD or network
    access (XXE, billion laughs), no comments."""
    return etree.iterparse(
        handle,
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_comments=True,
    )


def stream_xml(path: Path, read: Callable[[IO[bytes]], None], *writers: _Writer) -> None:
    """Runs `read` over the opened file: malformed XML or a failing read is the user's
    one-line error; the writers are closed whatever happens."""
    try:
        with _open(path) as handle:
            read(handle)
    except etree.XMLSyntaxError as error:
        raise InputError(f"{path}: not well-formed XML: {error}") from error
    except (OSError, EOFError) as error:
        raise InputError(f"{path}: cannot read the file: {error}") from error
    finally:
        for writer in writers:
            writer.close()


def convert(
    path: Path,
    out_dir: Path,
    stem: str,
    *,
    account_holder: AccountHolder = "auto",
    timezone: str | None = None,
) -> Conversion:
    """Stream ISO 20022 file `path` into `out_dir/{stem}.rows.parquet` and `….rejects.parquet`."""
    rows_path = out_dir / f"{stem}.rows.parquet"
    rejects_path = out_dir / f"{stem}.rejects.parquet"
    result = Conversion(path, rows_path, rejects_path)
    schema = pa.schema([(name, pa.string()) for name in PARQUET_COLUMNS])
    rows, rejects = _Writer(rows_path, schema), _Writer(rejects_path, REJECT_SCHEMA)
    mapper = _Mapper(Clock(ZoneInfo(timezone or "UTC")), account_holder, rows, rejects)
    stream_xml(path, lambda handle: mapper.read(handle, path, result.messages), rows, rejects)
    if not result.messages:
        raise InputError(
            f"{path}: no pacs.008, pain.001, camt.053 or camt.054 message found in the XML"
        )
    result.n_rows, result.n_rejects = rows.count, rejects.count
    result.warnings.extend(mapper.warnings)
    result.warnings.extend(validate_against_xsd(path))
    return result


@dataclass
class Message:
    """What one ISO 20022 message held in memory became: rows as `convert` writes them
    (PARQUET_COLUMNS, text or None), rejects (REJECT_SCHEMA) and the messages found."""

    rows: list[dict[str, object]]
    rejects: list[dict[str, object]]
    messages: Counter[str]
    warnings: list[str]


def read_message(
    data: bytes,
    source: str = "the message",
    *,
    account_holder: AccountHolder = "auto",
    timezone: str | None = None,
) -> Message:
    """Map `data` as `convert` maps a file, with the same parser settings (no entities, no
    DTD, no network, libxml2's size limits), into memory. For small bodies only: the
    caller bounds the size. InputError when it is not well-formed or holds no message."""
    rows, rejects = _Memory(), _Memory()
    mapper = _Mapper(Clock(ZoneInfo(timezone or "UTC")), account_holder, rows, rejects)
    messages: Counter[str] = Counter()
    try:
        mapper.read(io.BytesIO(data), source, messages)
    except etree.XMLSyntaxError as error:
        raise InputError(f"{source}: not well-formed XML: {error}") from error
    if not messages:
        raise InputError(
            f"{source}: no pacs.008, pain.001, camt.053 or camt.054 message found in the XML"
        )
    return Message(rows.rows, rejects.rows, messages, mapper.warnings)


@dataclass
class _Frame:
    path: str
    counts: Counter[str] = field(default_factory=Counter)


class _Mapper:
    def __init__(self, clock: Clock, holder: AccountHolder, rows: _Sink, rejects: _Sink) -> None:
        self.clock = clock
        self.holder = holder
        self.rows = rows
        self.rejects = rejects
        self.seq = 0
        self.warnings: list[str] = []
        self.disagreements = 0

    def read(self, handle: IO[bytes], source: Path | str, messages: Counter[str]) -> None:
        events = safe_events(handle)
        stack: list[_Frame] = [_Frame("")]
        message: str | None = None  # e.g. pacs.008.001.08 while inside its message element
        kind: str | None = None
        depth_of_message = -1
        for event, element in events:
            name = local(element)
            if event == "start":
                top = stack[-1]
                top.counts[name] += 1
                stack.append(_Frame(f"{top.path}/{name}[{top.counts[name]}]"))
                if message is None and name in MESSAGES:
                    kind = MESSAGES[name]
                    message = self._version(element, kind)
                    depth_of_message = len(stack)
                    messages[message] += 1
                continue
            xpath = stack.pop().path
            if message is None or kind is None:
                continue
            if len(stack) + 1 == depth_of_message:  # the message element itself ended
                message = kind = None
                element.clear()
                continue
            if name == UNITS[kind] and local(element.getparent()) in {
                "PmtInf",
                "FIToFICstmrCdtTrf",
                "Stmt",
                "Ntfctn",
            }:
                self.seq += 1
                if kind == "pacs.008":
                    self._pacs008(element, message, xpath)
                elif kind == "pain.001":
                    self._pain001(element, message, xpath)
                else:
                    self._camt(element, message, xpath)
                parent = element.getparent()
                parent.remove(element)  # done with it: memory stays bounded
            elif name in {"PmtInf", "Stmt", "Ntfctn"}:
                element.getparent().remove(element)
        if self.disagreements:
            self.warnings.append(
                f"{source}: {self.disagreements} transaction details give another credit/debit "
                "indicator than their entry; the entry's was used"
            )

    def _version(self, element: etree._Element, kind: str) -> str:
        namespace = etree.QName(element).namespace or ""
        found = NAMESPACE_VERSION.search(namespace)
        if found is None:
            return f"{kind} (no namespace)"
        version = f"{found.group(1)}.{found.group(2)}.{found.group(3)}"
        if found.group(3) not in SUPPORTED_VERSIONS[kind]:
            self.warnings.append(
                f"{version}: not a version Vigil was tested with "
                f"({', '.join(sorted(SUPPORTED_VERSIONS[kind]))}); read by element names"
            )
        return version

    # --- output ---------------------------------------------------------------------------
    def _emit(self, values: dict[str, str | None]) -> None:
        row = {name: values.get(name) for name in PARQUET_COLUMNS}
        row[ROW_COLUMN] = str(self.seq)
        self.rows.add(row)

    def _reject(self, xpath: str, reason: str, column: str = "") -> None:
        self.rejects.add(
            {
                "row": self.seq,
                "bad_column": column,
                "reason": f"{reason} ({xpath})",
                "raw_line": xpath,
            }
        )

    def _timestamp(self, values: dict[str, str | None], value: str | None) -> None:
        ts, precision, assumed = self.clock.canonical(value)
        values["ts"] = ts
        values["ts_precision"] = precision or None
        values["ts_offset_assumed"] = "true" if assumed else "false"

    def _parties(
        self,
        values: dict[str, str | None],
        side: str,
        party: etree._Element | None,
        ultimate: etree._Element | None,
        account: etree._Element | None,
        agent: etree._Element | None,
    ) -> None:
        """sender_* or beneficiary_* from a party, its ultimate party, account and agent."""
        identifier, id_source = party_id(account, agent, party)
        ultimate_name = text(ultimate, "Nm", "Pty/Nm")
        name = ultimate_name or text(party, "Nm", "Pty/Nm")
        found, source = country(ultimate if ultimate_name else party, account, agent)
        if found is None and ultimate_name:
            found, source = country(party, account, agent)
        values[f"{side}_id"] = identifier
        values[f"{side}_id_source"] = id_source
        values[f"{side}_name"] = name
        values[f"{side}_country"] = found
        values[f"{side}_country_source"] = source
        if ultimate_name:
            values[f"ultimate_{side}"] = ultimate_name
        if side == "beneficiary":
            city = text(party, "PstlAdr/TwnNm", "Pty/PstlAdr/TwnNm")
            values["beneficiary_city_source"] = "postal address" if city else None
            if city is None:
                city = text(agent, "FinInstnId/PstlAdr/TwnNm")
                values["beneficiary_city_source"] = "agent branch" if city else None
            values["beneficiary_city"] = city

    # --- pacs.008 -------------------------------------------------------------------------
    def _pacs008(self, tx: etree._Element, message: str, xpath: str) -> None:
        header = child(tx.getparent(), "GrpHdr")
        values: dict[str, str | None] = {"iso_message": message, "iso_xpath": xpath}
        msg_id = text(header, "MsgId")
        end_to_end = text(tx, "PmtId/EndToEndId")
        values["uetr"] = text(tx, "PmtId/UETR")
        values["end_to_end_id"] = end_to_end
        values["txn_id"] = (
            values["uetr"]
            or text(tx, "PmtId/TxId")
            or (f"{msg_id}/{end_to_end}" if msg_id and end_to_end else None)
            or text(tx, "PmtId/InstrId")
        )
        stamp = text(tx, "AccptncDtTm") or text(header, "CreDtTm")
        if stamp is None:
            stamp = text(tx, "IntrBkSttlmDt") or text(header, "IntrBkSttlmDt")
        self._timestamp(values, stamp)
        self._parties(
            values, "sender", child(tx, "Dbtr"), child(tx, "UltmtDbtr"),
            child(tx, "DbtrAcct"), child(tx, "DbtrAgt"),
        )  # fmt: skip
        found = first_amount(child(tx, "InstdAmt"), child(tx, "IntrBkSttlmAmt"))
        self._emit_credit_transfer(values, tx, found)

    # --- pain.001 -------------------------------------------------------------------------
    def _pain001(self, tx: etree._Element, message: str, xpath: str) -> None:
        block = tx.getparent()
        header = child(block.getparent(), "GrpHdr")
        values: dict[str, str | None] = {
            "iso_message": message,
            "iso_xpath": xpath,
            "instructed": "true",
        }
        reference = text(tx, "PmtId/InstrId", "PmtId/EndToEndId")
        values["uetr"] = text(tx, "PmtId/UETR")
        values["end_to_end_id"] = text(tx, "PmtId/EndToEndId")
        msg_id, block_id = text(header, "MsgId"), text(block, "PmtInfId")
        values["txn_id"] = values["uetr"] or (
            "/".join(part for part in (msg_id, block_id, reference) if part) or None
        )
        stamp = text(header, "CreDtTm")
        if stamp is None:
            stamp = text(block, "ReqdExctnDt/DtTm", "ReqdExctnDt/Dt", "ReqdExctnDt")
        self._timestamp(values, stamp)
        ultimate = child(tx, "UltmtDbtr")
        if ultimate is None:
            ultimate = child(block, "UltmtDbtr")
        self._parties(
            values, "sender", child(block, "Dbtr"), ultimate,
            child(block, "DbtrAcct"), child(block, "DbtrAgt"),
        )  # fmt: skip
        found = first_amount(child(tx, "Amt/InstdAmt"), child(tx, "Amt/EqvtAmt/Amt"))
        self._emit_credit_transfer(values, tx, found)

    def _emit_credit_transfer(
        self,
        values: dict[str, str | None],
        tx: etree._Element,
        found: tuple[str, str] | None,
    ) -> None:
        """The creditor side, amount, channel and narrative of one credit transfer
        (pacs.008 or pain.001: the same elements under CdtTrfTxInf), then the row."""
        self._parties(
            values, "beneficiary", child(tx, "Cdtr"), child(tx, "UltmtCdtr"),
            child(tx, "CdtrAcct"), child(tx, "CdtrAgt"),
        )  # fmt: skip
        values["amount"], values["currency"] = found if found else (None, None)
        values["channel"] = DEFAULT_CHANNEL
        values["narrative"] = narrative(tx)
        self._emit(values)

    # --- camt.053 / camt.054 --------------------------------------------------------------
    def _camt(self, entry: etree._Element, message: str, xpath: str) -> None:
        report = entry.getparent()
        status = text(entry, "Sts/Cd", "Sts")
        if status and status != "BOOK":
            self._reject(xpath, f"entry not booked (status {status})")
            return
        if (text(entry, "RvslInd") or "").lower() == "true":
            self._reject(xpath, "reversal of an earlier entry (RvslInd true)")
            return
        code = child(entry, "BkTxCd/Domn")
        domain, family = text(code, "Cd"), text(code, "Fmly/Cd")
        subfamily = text(code, "Fmly/SubFmlyCd")
        if domain and domain != "PMNT":
            self._reject(xpath, f"not a payment between customers (bank transaction code {domain})")
            return
        if subfamily in NOT_PAYMENT_SUBFAMILIES:
            self._reject(
                xpath, f"not a customer payment ({NOT_PAYMENT_SUBFAMILIES[subfamily]}, {subfamily})"
            )
            return
        direction = text(entry, "CdtDbtInd")
        if direction not in {"CRDT", "DBIT"}:
            self._reject(xpath, "entry without a credit/debit indicator", "direction")
            return
        if self.holder == "sender" and direction == "CRDT":
            self._reject(
                xpath,
                "credit entry, but the account holder is the sender (--account-holder sender)",
            )
            return
        if self.holder == "beneficiary" and direction == "DBIT":
            self._reject(
                xpath,
                "debit entry, but the account holder is the beneficiary "
                "(--account-holder beneficiary)",
            )
            return
        details = [t for d in children(entry, "NtryDtls") for t in children(d, "TxDtls")]
        if not details:
            batch = text(entry, "NtryDtls/Btch/NbOfTxs")
            if batch and batch != "1":
                self._reject(xpath, f"batch of {batch} payments booked without transaction details")
                return
        channel = PAYMENT_FAMILIES.get(family or "", "other" if family else DEFAULT_CHANNEL)
        for index, tx in enumerate(details or [None], start=1):
            if index > 1:
                self.seq += 1
            tx_xpath = xpath if tx is None else f"{xpath}/NtryDtls/TxDtls[{index}]"
            if tx is not None and (text(tx, "CdtDbtInd") or direction) != direction:
                self.disagreements += 1
            self._camt_row(
                report, entry, tx, message, tx_xpath, direction, channel, len(details), index
            )

    def _camt_row(
        self,
        report: etree._Element,
        entry: etree._Element,
        tx: etree._Element | None,
        message: str,
        xpath: str,
        direction: str,
        channel: str,
        n_details: int,
        index: int,
    ) -> None:
        values: dict[str, str | None] = {
            "iso_message": message,
            "iso_xpath": xpath,
            "direction": direction,
        }
        entry_ref = text(entry, "AcctSvcrRef")
        values["uetr"] = text(tx, "Refs/UETR")
        values["end_to_end_id"] = text(tx, "Refs/EndToEndId")
        values["txn_id"] = (
            values["uetr"]
            or text(tx, "Refs/AcctSvcrRef")
            or (f"{entry_ref}#{index}" if entry_ref else None)
            or text(tx, "Refs/TxId")
            or values["end_to_end_id"]
            or f"{text(report, 'Id') or ''}/{text(entry, 'NtryRef') or self.seq}#{index}"
        )
        stamp = (
            text(tx, "RltdDts/AccptncDtTm", "RltdDts/TxDtTm")
            or text(entry, "BookgDt/DtTm", "BookgDt/Dt", "ValDt/DtTm", "ValDt/Dt")
            or text(report, "CreDtTm")  # an entry without dates: when the report was made
        )
        self._timestamp(values, stamp)
        account = child(report, "Acct")
        owner, servicer = child(account, "Ownr"), child(account, "Svcr")
        parties = child(tx, "RltdPties")
        agents = child(tx, "RltdAgts")
        holder_side, other_side = (
            ("beneficiary", "sender") if direction == "CRDT" else ("sender", "beneficiary")
        )
        self._parties(values, holder_side, owner, None, account, servicer)
        if values[f"{holder_side}_name"] is None:
            # Statements often leave the owner's name out: the account's name, else its id.
            values[f"{holder_side}_name"] = text(account, "Nm") or values[f"{holder_side}_id"]
            values["holder_name_source"] = "account name or id"
        if direction == "CRDT":
            self._parties(
                values, other_side, child(parties, "Dbtr"), child(parties, "UltmtDbtr"),
                child(parties, "DbtrAcct"), child(agents, "DbtrAgt"),
            )  # fmt: skip
        else:
            self._parties(
                values, other_side, child(parties, "Cdtr"), child(parties, "UltmtCdtr"),
                child(parties, "CdtrAcct"), child(agents, "CdtrAgt"),
            )  # fmt: skip
        found = first_amount(
            child(tx, "AmtDtls/InstdAmt/Amt"),
            child(tx, "Amt"),
            child(tx, "AmtDtls/TxAmt/Amt"),
            child(entry, "Amt") if n_details <= 1 else None,
        )
        values["amount"], values["currency"] = found if found else (None, None)
        tx_family = text(tx, "BkTxCd/Domn/Fmly/Cd")
        values["channel"] = PAYMENT_FAMILIES.get(tx_family, channel) if tx_family else channel
        values["narrative"] = narrative(tx, "AddtlTxInf") or text(entry, "AddtlNtryInf")
        self._emit(values)


# --- XSD check (a warning, never a gate) -----------------------------------------------------


def validate_against_xsd(path: Path) -> list[str]:
    """Warnings for each ISO Document in `path` that its version's base XSD rejects."""
    try:
        if path.stat().st_size > XSD_MAX_BYTES:
            return [f"{path}: larger than {XSD_MAX_BYTES >> 20} MB, not checked against the XSD"]
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
        )
        with _open(path) as handle:
            tree = etree.parse(handle, parser)
    except (OSError, etree.XMLSyntaxError):
        return []
    warnings = []
    for document in tree.iter("{*}Document"):
        namespace = etree.QName(document).namespace or ""
        found = NAMESPACE_VERSION.search(namespace)
        if found is None or not namespace.startswith("urn:iso:std:iso:20022:tech:xsd:"):
            continue
        version = found.group(0)
        schema = _schema(version)
        if schema is None:
            warnings.append(f"{path}: no XSD shipped for {version}; not validated")
            continue
        if not schema.validate(document):
            errors = list(schema.error_log)
            first = errors[0].message if errors else "invalid"
            warnings.append(
                f"{path}: does not validate against the {version} XSD ({len(errors)} errors, "
                f"first: {first}); read where the data is usable"
            )
    return warnings


_SCHEMAS: dict[str, etree.XMLSchema | None] = {}


def _schema(version: str) -> etree.XMLSchema | None:
    if version not in _SCHEMAS:
        xsd = XSD_DIR / f"{version}.xsd"
        if not xsd.is_file():
            _SCHEMAS[version] = None
        else:
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            _SCHEMAS[version] = etree.XMLSchema(etree.parse(str(xsd), parser))
    return _SCHEMAS[version]
