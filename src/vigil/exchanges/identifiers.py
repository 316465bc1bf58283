"""Identifiers written in messages and participants: what ties a chat to a payment.

Phones are normalised to E.164 with `phonenumbers` (the default region is the export's,
e.g. PH for a phone in Manila), e-mails and handles lower-cased, transfer references kept
as digits, amounts with their currency as a decimal and an ISO 4217 code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import phonenumbers

PHONE = "phone"
EMAIL = "email"
HANDLE = "handle"
ACCOUNT = "account"
REFERENCE = "reference"
AMOUNT = "amount"
KINDS = (PHONE, EMAIL, HANDLE, ACCOUNT, REFERENCE, AMOUNT)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_HANDLE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.]{3,32})\b")
# A 10-digit MTCN-like number (optionally written 3-3-4), alone: not part of a longer number.
_MTCN = re.compile(r"(?<![\d+])(\d{3})[- ]?(\d{3})[- ]?(\d{4})(?!\d)")
# An institution's transaction id: letters then digits (T000123, TXN-88231), or a word
# "ref"/"reference"/"txn" followed by a code.
_TXN_ID = re.compile(r"\b([A-Z]{1,5}-?\d{4,})\b")
_REF_WORD = re.compile(r"\b(?:ref(?:erence)?|txn|mtcn|tx)\b[:#\s.-]*([A-Za-z0-9-]{5,})", re.I)
_ACCOUNT = re.compile(
    r"\b(?:gcash|maya|paymaya|wallet|account|acct|a/c|iban)\b[:#\s.-]*"
    r"([A-Z0-9][A-Z0-9 -]{5,32}[0-9])",
    re.I,
)
_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "₱": "PHP", "A$": "AUD", "C$": "CAD"}
_CODES = "USD|EUR|GBP|PHP|AUD|CAD|NOK|SEK|DKK|CHF|NZD|JPY|INR|LAK|COP|RON|THB|MXN|PESOS?|P"
_NUMBER = r"(\d{1,3}(?:[,\s]\d{3})+|\d+)(?:\.(\d{1,2}))?"
_SYMBOL = r"(US\$|A\$|C\$|\$|€|£|₱)"
_AMOUNT_BEFORE = re.compile(rf"(?:{_SYMBOL}\s?|\b({_CODES})\s?){_NUMBER}(?![\d])", re.I)
_AMOUNT_AFTER = re.compile(rf"(?<![\w.]){_NUMBER}\s?(?:({_CODES})\b|{_SYMBOL})", re.I)
_PHONE_CANDIDATE = re.compile(r"(?<![\w])\+?\d[\d\s().-]{7,18}\d(?!\w)")


@dataclass(frozen=True)
class Identifier:
    kind: str
    value: str  # normalised: E.164, lower-case e-mail/handle, digits, or "12.50 USD"
    raw: str
    amount: Decimal | None = None
    currency: str | None = None


def phone_e164(text: str, region: str | None = None) -> str | None:
    """`text` as an E.164 number when it is a possible phone number, else None."""
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _currency(token: str) -> str:
    token = token.upper()
    if token in _SYMBOLS:
        return _SYMBOLS[token]
    if token in {"P", "PESO", "PESOS"}:
        return "PHP"
    return token


def _amount(whole: str, cents: str | None) -> Decimal | None:
    digits = re.sub(r"[,\s]", "", whole)
    try:
        return Decimal(f"{digits}.{cents}" if cents else digits)
    except InvalidOperation:
        return None


def amounts_in(text: str) -> list[Identifier]:
    """Amounts with a currency ("$55", "55 USD", "PHP 2,500", "1000 pesos")."""
    found: dict[tuple[int, int], Identifier] = {}
    for match in _AMOUNT_BEFORE.finditer(text):
        token = match.group(1) or match.group(2)
        value = _amount(match.group(3), match.group(4))
        if value is not None and value > 0:
            found[match.span()] = _amount_identifier(match.group(0), value, _currency(token))
    for match in _AMOUNT_AFTER.finditer(text):
        if any(s <= match.start() < e for s, e in found):
            continue
        token = match.group(3) or match.group(4)
        value = _amount(match.group(1), match.group(2))
        if value is not None and value > 0:
            found[match.span()] = _amount_identifier(match.group(0), value, _currency(token))
    return [found[k] for k in sorted(found)]


def _amount_identifier(raw: str, value: Decimal, currency: str) -> Identifier:
    value = value.quantize(Decimal("0.01"))
    return Identifier(AMOUNT, f"{value} {currency}", raw.strip(), value, currency)


def identifiers_in(text: str, region: str | None = None) -> list[Identifier]:
    """Every identifier written in a message body, in order of kind, without repeats."""
    if not text:
        return []
    out: list[Identifier] = []
    emails = set()
    for match in _EMAIL.finditer(text):
        emails.add(match.group(0))
        out.append(Identifier(EMAIL, match.group(0).lower(), match.group(0)))
    for match in _HANDLE.finditer(text):
        if any(match.group(0) in e for e in emails):
            continue
        out.append(Identifier(HANDLE, "@" + match.group(1).lower().rstrip("."), match.group(0)))
    phone_spans: list[tuple[int, int]] = []
    for match in _PHONE_CANDIDATE.finditer(text):
        raw = match.group(0)
        digits = re.sub(r"\D", "", raw)
        if len(digits) == 10 and not raw.startswith(("+", "0")):
            continue  # a bare 10-digit number is read as a transfer reference below
        e164 = phone_e164(raw, region)
        if e164:
            phone_spans.append(match.span())
            out.append(Identifier(PHONE, e164, raw))
    for match in _ACCOUNT.finditer(text):
        value = re.sub(r"[\s-]", "", match.group(1)).upper()
        out.append(Identifier(ACCOUNT, value, match.group(0)))
    for match in _MTCN.finditer(text):
        digits = "".join(match.groups())
        if not any(s <= match.start() < e for s, e in phone_spans):
            out.append(Identifier(REFERENCE, digits, match.group(0)))
    for match in _TXN_ID.finditer(text):
        out.append(Identifier(REFERENCE, match.group(1).replace("-", ""), match.group(0)))
    for match in _REF_WORD.finditer(text):
        value = match.group(1).upper().replace("-", "")
        if any(i.kind == REFERENCE and i.value == value for i in out):
            continue
        out.append(Identifier(REFERENCE, value, match.group(0)))
    out.extend(amounts_in(text))
    seen: set[tuple[str, str]] = set()
    unique = []
    for ident in out:
        if (ident.kind, ident.value) not in seen:
            seen.add((ident.kind, ident.value))
            unique.append(ident)
    return unique


def participant_identifier(identifier: str | None, region: str | None = None) -> Identifier | None:
    """What a participant's identifier is: a phone, an e-mail, a handle or a platform id."""
    if not identifier:
        return None
    text = identifier.strip()
    if _EMAIL.fullmatch(text):
        return Identifier(EMAIL, text.lower(), text)
    if text.startswith("@") and len(text) > 1:
        return Identifier(HANDLE, text.lower(), text)
    if re.fullmatch(r"[+\d][\d\s().-]{6,}", text):
        e164 = phone_e164(text, region)
        if e164:
            return Identifier(PHONE, e164, text)
    return Identifier(ACCOUNT, text, text)
