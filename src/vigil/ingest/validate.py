"""Row checks: one vectorised DuckDB pass that gives each row its first failing check.

`checked_sql(source)` wraps a SELECT of the canonical columns as text and adds:
- `check_id`: 0 when the row passes every row check, else the index in CHECKS of the first
  one it fails (checks run in CHECKS order: the first failure wins);
- `ts_utc` (TIMESTAMP, UTC), `utc_offset_minutes` (the offset written in `ts`) and
  `amount_value` (DECIMAL(20,4)), parsed once for the checks and for the insert.

Uniqueness of txn_id is a check across rows: ingest applies it after these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from vigil.geo import country_codes, currency_codes
from vigil.schema import CANONICAL_ORDER, CHANNELS, REQUIRED_COLUMNS, SENDER_KEY_SEPARATOR

# ISO 8601 date-time with an offset: 2023-02-03T11:42:10+01:00, …10.5-0500, …10Z, 11:42+01.
# (A space instead of the T is accepted, as DuckDB and many exports write it.)
TS_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?"
    r"(Z|z|[+-][0-9]{2}(:?[0-5][0-9])?)"
)
AMOUNT_PATTERN = r"[0-9]+(\.[0-9]+)?"
AMOUNT_SCALE_PATTERN = r"[0-9]+(\.[0-9]{0,4}0*)?"  # at most 4 decimals that are not zeros
AMOUNT_TYPE = "DECIMAL(20, 4)"
MAX_OFFSET_MINUTES = 14 * 60

# Ids name parties: one padded with blanks would be another party, one of megabytes a
# denial of service on every page that shows it.
ID_COLUMNS: tuple[str, ...] = ("txn_id", "sender_id", "beneficiary_id", "reporter")
MAX_ID_LENGTH = 256
ID_BLANKS = " \t\r\n"
# Control characters break XML reports (lxml refuses them) and terminals. Free text may keep
# tab and line breaks (a name typed over two lines); ids and codes may not.
TEXT_CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x{fffe}\x{ffff}]"
ANY_CONTROL_PATTERN = r"[\x00-\x1f\x7f\x{fffe}\x{ffff}]"
FREE_TEXT_COLUMNS = frozenset({"sender_name", "beneficiary_name", "beneficiary_city", "narrative"})
YEARS_BACK = 30

MISSING_REASON = "required value is missing"
DUPLICATE_REASON = "duplicate txn_id, first seen in {file} row {row}"
CHANGED_REASON = "txn_id already ingested with different content"


@dataclass(frozen=True)
class Check:
    column: str
    reason: str
    fails: str  # SQL condition, true when the row fails (earlier checks have passed)


@dataclass(frozen=True)
class TimeRange:
    """Payment dates that are plausible, both days included (UTC). Anything else is a typo
    or a placeholder (0001-01-01, 9999-12-31) and would stretch every time series."""

    earliest: date
    latest: date

    @classmethod
    def default(cls, today: date | None = None) -> TimeRange:
        """The last 30 years up to tomorrow (a payment made today east of UTC)."""
        today = today or datetime.now(UTC).date()
        try:
            earliest = today.replace(year=today.year - YEARS_BACK)
        except ValueError:  # 29 February
            earliest = today.replace(year=today.year - YEARS_BACK, day=28)
        return cls(earliest, today + timedelta(days=1))

    def fails(self, utc: str) -> str:
        """SQL: true when the UTC timestamp `utc` is outside the range."""
        after = self.latest + timedelta(days=1)
        return f"({utc} < TIMESTAMP '{self.earliest}' OR {utc} >= TIMESTAMP '{after}')"

    @property
    def reason(self) -> str:
        return (
            f"date outside the plausible range {self.earliest} to {self.latest} "
            "(set it with --earliest / --latest)"
        )


def _one_of(values: Iterable[str]) -> str:
    """A regular expression matching exactly one of `values` (RE2 matches it as a DFA:
    much faster in DuckDB than a long IN list)."""
    return "(" + "|".join(re.escape(v) for v in sorted(values)) + ")"


def _in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _matches(column: str, pattern: str) -> str:
    return f"regexp_full_match({column}, '{pattern.replace(chr(39), chr(39) * 2)}')"


def _empty(column: str) -> str:
    # Only a value that sorts before '!' (empty, or starting with a blank or a control
    # character) can be blank: trim() just those, it is dear on every row.
    return f"{column} IS NULL OR ({column} < '!' AND trim({column}, ' \t\r\n') = '')"


def _control(column: str) -> str:
    pattern = TEXT_CONTROL_PATTERN if column in FREE_TEXT_COLUMNS else ANY_CONTROL_PATTERN
    # v_control (one regular expression over the whole row) spares the per-column ones on
    # nearly every row.
    return f"v_control AND regexp_matches({column}, '{pattern}')"


def row_checks(
    fx_currencies: Iterable[str], time_range: TimeRange | None = None
) -> tuple[Check, ...]:
    """The row checks, in the order they apply."""
    time_range = time_range or TimeRange.default()
    countries = _one_of(country_codes())
    checks = [Check(c, MISSING_REASON, _empty(c)) for c in REQUIRED_COLUMNS]
    checks += [
        Check(c, "contains a control character (e.g. NUL)", _control(c)) for c in CANONICAL_ORDER
    ]
    checks += [
        Check(c, f"longer than {MAX_ID_LENGTH} characters", f"length({c}) > {MAX_ID_LENGTH}")
        for c in ID_COLUMNS
    ]
    checks += [
        Check(
            "ts",
            "not an ISO 8601 date-time with a UTC offset (e.g. 2023-02-03T11:42:10+01:00)",
            f"NOT {_matches('ts', TS_PATTERN)}",
        ),
        Check("ts", "not a real date-time", "v_local IS NULL OR v_instant IS NULL"),
        Check(
            "ts",
            "UTC offset out of range (-14:00 to +14:00)",
            f"abs(v_offset) > {MAX_OFFSET_MINUTES}",
        ),
        Check("ts", time_range.reason, time_range.fails("v_local - to_minutes(v_offset)")),
        Check(
            "amount",
            "not a plain decimal number (digits, '.' as the decimal separator, no sign)",
            f"NOT {_matches('amount', AMOUNT_PATTERN)}",
        ),
        Check(
            "amount",
            "more than 4 decimal places",
            # the regular expression only where more than 4 characters follow the '.'
            "instr(amount, '.') > 0 AND length(amount) - instr(amount, '.') > 4 "
            f"AND NOT {_matches('amount', AMOUNT_SCALE_PATTERN)}",
        ),
        Check("amount", "too large", "v_amount IS NULL"),
        Check("amount", "not greater than zero", "v_amount <= 0"),
        Check(
            "sender_country",
            "not an ISO 3166-1 alpha-2 country code",
            f"NOT {_matches('sender_country', countries)}",
        ),
        Check(
            "beneficiary_country",
            "not an ISO 3166-1 alpha-2 country code",
            f"NOT {_matches('beneficiary_country', countries)}",
        ),
        Check(
            "currency",
            "unknown currency code",
            f"NOT {_matches('currency', _one_of(currency_codes()))}",
        ),
        Check(
            "currency",
            "no exchange rate for currency",
            f"NOT {_matches('currency', _one_of(fx_currencies))}",
        ),
        Check(
            "reporter",
            f"contains {SENDER_KEY_SEPARATOR!r} (a reporter's name may not: it separates the "
            "reporter from its sender ids)",
            f"contains(reporter, '{SENDER_KEY_SEPARATOR}')",
        ),
        Check(
            "channel",
            f"unknown channel (expected one of {', '.join(CHANNELS)})",
            f"channel NOT IN {_in_list(CHANNELS)}",  # a short list: IN is fastest
        ),
    ]
    return tuple(checks)


def _trimmed(column: str) -> str:
    # Only a value that starts or ends with a character up to ' ' can need it.
    blanks = " || ".join(f"chr({ord(c)})" for c in ID_BLANKS)
    return (
        f"CASE WHEN {column} < '!' OR right({column}, 1) <= ' ' "
        f"THEN trim({column}, {blanks}) ELSE {column} END"
    )


def checked_sql(source_sql: str, checks: tuple[Check, ...], keep: Iterable[str] = ()) -> str:
    """`source_sql`'s rows with check_id, ts_utc, utc_offset_minutes and amount_value.

    `keep` names extra columns of the source to pass through (e.g. a row number).
    DuckDB parses `ts` twice: as TIMESTAMP it keeps the local time and ignores the offset,
    as TIMESTAMPTZ it applies the offset; the difference is the offset.
    """
    case = "\n        ".join(f"WHEN {c.fails} THEN {i}" for i, c in enumerate(checks, start=1))
    passed = ", ".join(keep)
    passed = f"{passed}, " if passed else ""
    trimmed = ", ".join(f"{_trimmed(c)} AS {c}" for c in ID_COLUMNS)
    return f"""
SELECT {passed}txn_id, ts, sender_id, sender_name, sender_country, beneficiary_id,
    beneficiary_name, beneficiary_country, beneficiary_city, amount, currency, channel,
    narrative, payout_location, beneficiary_phone, reporter, extra,
    CAST(CASE
        {case}
        ELSE 0 END AS UTINYINT) AS check_id,
    v_local - to_minutes(v_offset) AS ts_utc,
    CAST(v_offset AS SMALLINT) AS utc_offset_minutes,
    v_amount AS amount_value
FROM (
    SELECT *,
        (epoch_us(v_local) - epoch_us(v_instant)) // 60000000 AS v_offset
    FROM (
        SELECT *,
            TRY_CAST(ts AS TIMESTAMP) AS v_local,
            TRY_CAST(ts AS TIMESTAMPTZ) AS v_instant,
            TRY_CAST(amount AS {AMOUNT_TYPE}) AS v_amount,
            regexp_matches(concat({", ".join(CANONICAL_ORDER)}), '{ANY_CONTROL_PATTERN}')
                AS v_control
        FROM (SELECT * REPLACE ({trimmed}) FROM ({source_sql}))
    )
)"""
