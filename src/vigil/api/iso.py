"""One pacs.008 message as the scoring API's payment.

The message is read by ingest's ISO 20022 reader (vigil.ingest.iso20022: the same parser
settings, the same mapping onto the canonical columns), so a payment scored here is the
payment `vigil scan` would read from the same message. What comes out is a dict of canonical
columns for PaymentIn to check like a JSON payment; what cannot be one payment is a
MessageProblem with a message for the caller.
"""

from __future__ import annotations

from vigil.errors import InputError
from vigil.ingest.iso20022 import read_message
from vigil.schema import CANONICAL_ORDER

SOURCE = "the pacs.008 message"
# Where the reader looks for each column, first found wins (shared/iso20022/README.md), for
# a 422 that tells the sender which element to fill in.
ELEMENTS = {
    "txn_id": "PmtId/UETR, PmtId/TxId, GrpHdr/MsgId + PmtId/EndToEndId or PmtId/InstrId",
    "ts": "AccptncDtTm or GrpHdr/CreDtTm",
    "sender_id": "DbtrAcct/Id (IBAN, Othr/Id, Prxy/Id), Dbtr/Id or Dbtr/Nm",
    "sender_name": "UltmtDbtr/Nm or Dbtr/Nm",
    "sender_country": "Dbtr/PstlAdr/Ctry, Dbtr/CtryOfRes, the DbtrAcct IBAN or DbtrAgt",
    "beneficiary_id": "CdtrAcct/Id (IBAN, Othr/Id, Prxy/Id), Cdtr/Id or Cdtr/Nm",
    "beneficiary_name": "UltmtCdtr/Nm or Cdtr/Nm",
    "beneficiary_country": "Cdtr/PstlAdr/Ctry, Cdtr/CtryOfRes, the CdtrAcct IBAN or CdtrAgt",
    "beneficiary_city": "Cdtr/PstlAdr/TwnNm or CdtrAgt/FinInstnId/PstlAdr/TwnNm",
    "amount": "InstdAmt or IntrBkSttlmAmt",
    "currency": "the Ccy attribute of InstdAmt or IntrBkSttlmAmt",
    "narrative": "RmtInf/Ustrd or RmtInf/Strd",
}


class MessageProblem(ValueError):
    """A body that is not one pacs.008 credit transfer; `field` names the canonical column
    when one is to blame."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def where(field: str) -> str:
    found = ELEMENTS.get(field)
    return f" ({SOURCE}: {found})" if found else ""


def pacs008_payment(body: bytes, timezone: str | None = None) -> dict[str, str]:
    """The canonical columns of the one credit transfer in `body`; a date-time without an
    offset is read in `timezone` (UTC when None), as `vigil scan --timezone` reads it."""
    try:
        message = read_message(body, "the body", timezone=timezone)
    except InputError as error:
        raise MessageProblem(str(error)) from None
    others = sorted({m for m in message.messages if not m.startswith("pacs.008")})
    if others:
        raise MessageProblem(
            f"the body holds {', '.join(others)}: the scoring API reads one pacs.008 message "
            "(FIToFICstmrCdtTrf)"
        )
    found = message.messages.total()
    if found > 1:
        raise MessageProblem(f"the body holds {found} pacs.008 messages: send one per request")
    transactions = len(message.rows) + len(message.rejects)
    if transactions == 0:
        raise MessageProblem(f"{SOURCE} holds no credit transfer (CdtTrfTxInf)")
    if transactions > 1:
        raise MessageProblem(
            f"{SOURCE} holds {transactions} credit transfers (CdtTrfTxInf): the scoring API "
            "scores one payment per request"
        )
    row = message.rows[0]
    if row.get("ts_precision") == "date":
        # Noon of the settlement date would make the sender's and beneficiary's hours up.
        raise MessageProblem(
            f"{SOURCE} gives only a settlement date: scoring needs the time of the payment"
            f"{where('ts')}",
            "ts",
        )
    return {c: str(row[c]) for c in CANONICAL_ORDER if row.get(c) is not None}
