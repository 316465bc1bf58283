"""Phone numbers as one number however they were written: E.164 digits, in SQL.

Shared by the share export (phone tokens) and entity resolution (the beneficiary's phone):
one normal form, so that a number the one counts as the same the other does too.
"""

from __future__ import annotations

import functools

import phonenumbers


def phone_sql(column: str, calling_code: str) -> str:
    """A phone number as E.164 digits without '+': '0917 123 4567' written at home in the
    Philippines and '+63 917 123 4567' are one number. `calling_code` is an SQL expression
    for the country's calling code (e.g. '63'), used when the number is written locally.
    NULL when fewer than 7 digits remain."""
    digits = f"regexp_replace({column}, '[^0-9]', '', 'g')"
    international = f"""CASE
        WHEN trim({column}) LIKE '+%' THEN {digits}
        WHEN {digits} LIKE '00%' THEN substr({digits}, 3)
        WHEN {digits} LIKE '0%' THEN {calling_code} || substr({digits}, 2)
        ELSE {digits} END"""
    return f"CASE WHEN length({digits}) >= 7 THEN {international} END"


def calling_code(country: str) -> str:
    """The country's calling code ('PH' -> '63'); '' where the numbering plans have none."""
    code = phonenumbers.country_code_for_region(country.upper())
    return str(code) if code else ""


@functools.cache
def calling_codes_sql() -> str:
    """Every country's calling code as an SQL relation (country, calling_code), from the
    numbering plans phonenumbers carries: a table of some 250 rows to join a payment's
    country on."""
    rows = ", ".join(
        f"('{region}', '{calling_code(region)}')"
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
    )
    return f"SELECT * FROM (VALUES {rows}) AS codes (country, calling_code)"
