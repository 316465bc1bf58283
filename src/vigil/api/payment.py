"""One payment as the scoring API receives it: the canonical columns, checked as ingest
checks a row (payments-csv.md), and the facts the indicators test, computed for it alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator
from rapidfuzz.distance import Levenshtein

from vigil.features.payments import MIN_SURNAME_FOR_TYPO
from vigil.geo import country_codes, currency_codes, main_time_zone
from vigil.indicators.catalogue import Parameters
from vigil.ingest.validate import AMOUNT_PATTERN, MAX_OFFSET_MINUTES, TS_PATTERN
from vigil.schema import CHANNELS, SENDER_KEY_SEPARATOR

Text = Field(min_length=1, max_length=512)
_TS = re.compile(TS_PATTERN)
_AMOUNT = re.compile(AMOUNT_PATTERN)
MAX_AMOUNT = Decimal("1e16")  # DECIMAL(20, 4), as the workspace holds it


class PaymentIn(BaseModel):
    """A payment in the canonical column names; `record` appends it for the next scan."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    txn_id: str = Text
    ts: str = Field(description="ISO 8601 with a UTC offset, the sender's local time")
    sender_id: str = Text
    sender_name: str = Text
    sender_country: str
    beneficiary_id: str = Text
    beneficiary_name: str = Text
    beneficiary_country: str
    beneficiary_city: str | None = Field(default=None, max_length=512)
    amount: str | int | float = Field(description="> 0, at most 4 decimals, in `currency`")
    currency: str
    channel: str
    narrative: str | None = Field(default=None, max_length=2048)
    payout_location: str | None = Field(default=None, max_length=512)
    beneficiary_phone: str | None = Field(default=None, max_length=64)
    reporter: str | None = Field(
        default=None,
        max_length=256,
        description="FIU mode: the reporting institution; sender ids are unique within it",
    )
    record: bool = False

    @field_validator("ts")
    @classmethod
    def _ts(cls, value: str) -> str:
        if not _TS.fullmatch(value):
            raise ValueError("not an ISO 8601 date-time with a UTC offset")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as error:
            raise ValueError("not a real date-time") from error
        offset = moment.utcoffset()
        if offset is None or abs(offset) > timedelta(minutes=MAX_OFFSET_MINUTES):
            raise ValueError("UTC offset out of range (-14:00 to +14:00)")
        return value

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: str | int | float) -> str:
        text = value if isinstance(value, str) else repr(value)
        if isinstance(value, bool) or not _AMOUNT.fullmatch(text):
            raise ValueError("not a plain decimal number ('.' as the decimal separator, no sign)")
        try:
            amount = Decimal(text)
        except InvalidOperation as error:
            raise ValueError("not a plain decimal number") from error
        if amount.normalize().as_tuple().exponent < -4:  # type: ignore[operator]
            raise ValueError("more than 4 decimal places")
        if amount <= 0:
            raise ValueError("not greater than zero")
        if amount >= MAX_AMOUNT:
            raise ValueError("too large")
        return text

    @field_validator("sender_country", "beneficiary_country")
    @classmethod
    def _country(cls, value: str) -> str:
        if value not in country_codes():
            raise ValueError("not an ISO 3166-1 alpha-2 country code")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if value not in currency_codes():
            raise ValueError("unknown currency code")
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"unknown channel (expected one of {', '.join(CHANNELS)})")
        return value

    @field_validator("reporter")
    @classmethod
    def _reporter(cls, value: str | None) -> str | None:
        if value is not None and SENDER_KEY_SEPARATOR in value:
            raise ValueError(f"contains {SENDER_KEY_SEPARATOR!r}, which a reporter may not")
        return value or None

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.ts)

    @property
    def sender_key(self) -> str:
        """The sender as the workspace keys it (by reporter and id in FIU mode)."""
        if self.reporter is None:
            return self.sender_id
        return f"{self.reporter}{SENDER_KEY_SEPARATOR}{self.sender_id}"


@dataclass(frozen=True)
class PaymentFacts:
    """What payment_facts (vigil.features.payments) computes for a row, for this payment."""

    amount_reporting: float
    high_risk: bool  # person-to-person to a high-risk country (R1's corridor)
    small: bool
    related: bool  # the beneficiary's name carries the sender's surname
    beneficiary_evening: bool
    sender_night: bool
    cover_narrative: bool


# The catalogue's patterns are RE2 with \pL / \pN; Python's `re` spells "neither a letter nor
# a digit" [\W_]. Same boundaries, same words.
def _python_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace(r"[^\pL\pN]", r"[\W_]"))


@cache
def _patterns(cover: str, organisation: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return _python_pattern(cover), _python_pattern(organisation)


_LETTERS = re.compile(r"[\W\d_]+")
_LAST_WORD = re.compile(r"((?:[^\W\d_]|['-])+)\W*$")


def surname_of(name: str) -> str:
    """As vigil.features.payments.surname_of: 'SANTOS, Maria' → 'santos'."""
    lowered = name.lower().strip()
    if "," in lowered:
        return lowered.split(",", 1)[0].strip()
    found = _LAST_WORD.search(lowered)
    return found.group(1) if found else ""


def name_tokens(name: str) -> str:
    return " " + _LETTERS.sub(" ", name.lower()).strip() + " "


def hour_in(hour: int, window: tuple[int, int]) -> bool:
    start, end = window
    return start <= hour < end if start < end else hour >= start or hour < end


def payment_facts(payment: PaymentIn, params: Parameters, amount_reporting: float) -> PaymentFacts:
    cover, organisation = _patterns(params.cover_pattern, params.organisation_pattern)
    moment = payment.moment
    zone = ZoneInfo(main_time_zone().get(payment.beneficiary_country, "UTC"))
    beneficiary_hour = moment.astimezone(UTC).astimezone(zone).hour
    surname = surname_of(payment.sender_name)
    # As the scan's facts (vigil.features.payments): the surname among the beneficiary's
    # names, or the beneficiary's surname one letter off a long enough sender surname.
    related = (len(surname) >= 2 and f" {surname} " in name_tokens(payment.beneficiary_name)) or (
        len(surname) >= MIN_SURNAME_FOR_TYPO
        and Levenshtein.distance(surname, surname_of(payment.beneficiary_name)) == 1
    )
    person = not organisation.search(payment.beneficiary_name.lower())
    lo, hi = params.small_band_usd
    return PaymentFacts(
        amount_reporting=amount_reporting,
        high_risk=payment.beneficiary_country in params.high_risk_countries and person,
        small=lo <= amount_reporting <= hi,
        related=related,
        beneficiary_evening=hour_in(beneficiary_hour, params.beneficiary_evening_hours),
        sender_night=hour_in(moment.hour, params.sender_night_hours),
        cover_narrative=bool(cover.search((payment.narrative or "").lower())),
    )
