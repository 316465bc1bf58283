"""Layout files: how an institution's own CSV or Excel export maps onto the canonical columns.

A layout is validated YAML (delimiter, decimal separator, encoding, time zone, timestamp
format, column names, constants). Ingest applies it in SQL over DuckDB's CSV reader: the
mapping is a projection, never a loop over rows in Python.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vigil.errors import ConfigError
from vigil.schema import CANONICAL_ORDER

# Encodings DuckDB's CSV reader decodes itself; any other is transcoded to UTF-8 first.
DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1"}


class Layout(BaseModel):
    """One export layout. Column names are the export's, keyed by canonical column."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str = Field(default=",", description="one character, e.g. ';' or '\\t'")
    decimal: Literal[".", ","] = "."
    encoding: str = "utf-8"
    timezone: str | None = None
    timestamp_format: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)
    sheet: str | None = None  # .xlsx: the worksheet (default: the first)

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1 or value in {'"', "\n", "\r"}:
            raise ValueError("must be one character other than a quote or a line break")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name.replace("iso8859-1", "latin-1")
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Berlin, UTC)") from None
        return value

    @field_validator("columns", "constants")
    @classmethod
    def _canonical_keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = [key for key in value if key not in CANONICAL_ORDER]
        if unknown:
            raise ValueError(
                f"{unknown[0]!r} is not a canonical column (one of {', '.join(CANONICAL_ORDER)})"
            )
        return {key: str(name) for key, name in value.items()}

    @property
    def duckdb_encoding(self) -> str | None:
        """The name DuckDB's reader knows the encoding by; None when it must be transcoded."""
        return DUCKDB_ENCODINGS.get(self.encoding.replace("_", "-"))

    @property
    def python_encoding(self) -> str:
        return "utf-8-sig" if self.encoding == "utf-8" else self.encoding

    def check_against(self, path: Path, header: tuple[str, ...]) -> None:
        """ConfigError unless every column the layout names is in the file's header."""
        absent = [name for name in self.columns.values() if name not in header]
        if absent:
            shown = ", ".join(repr(name) for name in header[:12])
            raise ConfigError(
                f"{path}: layout column {absent[0]!r} is not in the header (it has {shown})"
            )
        both = set(self.columns) & set(self.constants)
        if both:
            raise ConfigError(f"layout: {sorted(both)[0]!r} is both a column and a constant")


def load_layout(path: Path) -> Layout:
    """The layout in YAML file `path`; ConfigError with the key and the problem if invalid."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the layout: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a layout is a YAML mapping (delimiter:, columns: ...)")
    try:
        return Layout.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "layout"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}: {key}: {message}") from None


# --- SQL for the mapped columns --------------------------------------------------------------


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def amount_sql(raw: str, layout: Layout) -> str:
    """Amount text with '.' as the decimal separator (a decimal-comma export writes '.' or
    a space between thousands: dropped)."""
    if layout.decimal == ",":
        return f"replace(replace(replace(trim({raw}), ' ', ''), '.', ''), ',', '.')"
    return raw


def ts_sql(raw: str, layout: Layout) -> str:
    """`ts` as ISO 8601 with the UTC offset, from the export's format and time zone.

    A value that already carries an offset, or that does not parse, stays as written, so
    validation quarantines it with the text the export had.
    """
    if layout.timestamp_format is None and layout.timezone is None:
        return raw
    fmt = layout.timestamp_format
    zone = sql_literal(layout.timezone or "UTC")
    with_offset = fmt is not None and "%z" in fmt
    if with_offset:
        instant = f"try_strptime({raw}, {sql_literal(fmt)})"
        local = f"timezone({zone}, {instant})"
    else:
        local = (
            f"try_strptime({raw}, {sql_literal(fmt)})" if fmt else f"TRY_CAST({raw} AS TIMESTAMP)"
        )
        instant = f"timezone({zone}, {local})"
    minutes = f"CAST((epoch({local}) - epoch({instant})) // 60 AS INTEGER)"
    offset = (
        f"(CASE WHEN {minutes} < 0 THEN '-' ELSE '+' END) || "
        f"lpad(CAST(abs({minutes}) // 60 AS VARCHAR), 2, '0') || ':' || "
        f"lpad(CAST(abs({minutes}) % 60 AS VARCHAR), 2, '0')"
    )
    converted = f"strftime({local}, '%Y-%m-%dT%H:%M:%S') || {offset}"
    if with_offset:
        return f"coalesce({converted}, {raw})"
    has_offset = f"regexp_matches({raw}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$')"
    return f"CASE WHEN {has_offset} THEN {raw} ELSE coalesce({converted}, {raw}) END"


# --- suggesting a layout ---------------------------------------------------------------------

# Words exports use for each canonical column (compared after lower-casing and dropping
# everything but letters and digits).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "txn_id": ("txnid", "id", "transactionid", "reference", "ref", "referenz", "paymentid"),
    "ts": ("ts", "timestamp", "datetime", "date", "time", "buchungszeit", "datum", "fecha"),
    "sender_id": ("senderid", "customerid", "customer", "kunde", "clientid", "payerid"),
    "sender_name": ("sendername", "customername", "name", "payername", "kundenname"),
    "sender_country": ("sendercountry", "customercountry", "land", "country", "payercountry"),
    "beneficiary_id": ("beneficiaryid", "payeeid", "recipientid", "empfaenger", "walletid"),
    "beneficiary_name": ("beneficiaryname", "payeename", "recipientname", "empfaengername"),
    "beneficiary_country": ("beneficiarycountry", "payeecountry", "recipientcountry", "zielland"),
    "beneficiary_city": ("beneficiarycity", "payeecity", "recipientcity", "city", "ort"),
    "amount": ("amount", "betrag", "value", "importe", "montant", "sum"),
    "currency": ("currency", "ccy", "waehrung", "wahrung", "moneda", "devise"),
    "channel": ("channel", "kanal", "method", "paymentmethod"),
    "narrative": ("narrative", "reference text", "purpose", "verwendungszweck", "memo", "note"),
}
TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
)


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def guess_columns(header: tuple[str, ...]) -> dict[str, str]:
    """Canonical column -> the export's column, for names that say what they hold."""
    keys = {_key(name): name for name in header}
    found: dict[str, str] = {}
    taken: set[str] = set()
    for column in CANONICAL_ORDER:  # exact canonical names first
        if column in header:
            found[column] = column
            taken.add(column)
    for column, words in SYNONYMS.items():
        if column in found:
            continue
        for word in (_key(column), *map(_key, words)):
            name = keys.get(word)
            if name is not None and name not in taken:
                found[column] = name
                taken.add(name)
                break
    return found


def guess_timestamp_format(values: list[str]) -> str | None:
    from datetime import datetime

    values = [v.strip() for v in values if v.strip()]
    if not values:
        return None
    for fmt in TIMESTAMP_FORMATS:
        try:
            for value in values:
                datetime.strptime(value, fmt)
        except ValueError:
            continue
        return fmt
    return None


def guess_decimal(values: list[str]) -> Literal[".", ","]:
    values = [v.strip() for v in values if v.strip()]
    commas = sum(bool(re.fullmatch(r"[0-9. ]*[0-9],[0-9]{1,4}", v)) for v in values)
    return "," if values and commas * 2 > len(values) else "."
