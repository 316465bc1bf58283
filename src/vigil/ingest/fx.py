"""Reference exchange rates: the table shipped with Vigil, or a user's --fx-rates file.

A rate table is CSV with `currency,year,usd_per_unit` (how many US dollars one unit of the
currency was worth, on average, that year). An amount converts to the reporting currency
through USD: amount × usd_per_unit(currency, year) / usd_per_unit(reporting, year). A year
outside the table (or missing from it) takes the nearest year the table has for that currency
(the earlier one on a tie). A currency the table does not list has no rate: its payments are
quarantined, never guessed.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from vigil.errors import ConfigError
from vigil.geo import currency_codes

FX_COLUMNS: tuple[str, ...] = ("currency", "year", "usd_per_unit")
SHIPPED = "shipped with Vigil"
PIVOT = "USD"


@dataclass(frozen=True)
class FxRates:
    """Yearly USD value of each currency; `source` says where the table came from."""

    source: str
    usd_per_unit: dict[str, dict[int, float]]

    # Computed once: the scoring API asks both for every payment. (cached_property writes
    # the instance's __dict__ directly, which a frozen dataclass allows.)
    @cached_property
    def currencies(self) -> frozenset[str]:
        return frozenset(self.usd_per_unit)

    @cached_property
    def years(self) -> tuple[int, int]:
        """First and last year any currency has a rate for."""
        all_years = [y for by_year in self.usd_per_unit.values() for y in by_year]
        return min(all_years), max(all_years)

    def usd_value(self, currency: str, year: int) -> float:
        """USD per unit of `currency` in `year`, from the nearest year the table has."""
        by_year = self.usd_per_unit.get(currency)
        if not by_year:
            raise KeyError(f"no exchange rate for currency {currency}")
        if year in by_year:
            return by_year[year]
        nearest = min(by_year, key=lambda y: (abs(y - year), y))
        return by_year[nearest]

    def rate(self, currency: str, year: int, reporting: str = PIVOT) -> float:
        """Units of `reporting` currency per unit of `currency` in `year`."""
        return self.usd_value(currency, year) / self.usd_value(reporting, year)

    def factors(self, reporting: str = PIVOT) -> list[tuple[str, int, float]]:
        """(currency, year, factor) for every currency and every year of the table's range:
        amount × factor is the amount in `reporting`. A year beyond the range takes the
        range's edge (the nearest year is the same for every currency there)."""
        first, last = self.years
        return [
            (currency, year, self.rate(currency, year, reporting))
            for currency in sorted(self.usd_per_unit)
            for year in range(first, last + 1)
        ]


def load_fx_rates(path: Path | str | None = None) -> FxRates:
    """The shipped rate table, or the CSV at `path` instead of it (validated row by row)."""
    if path is None:
        text = resources.files("vigil").joinpath("data", "fx_rates.csv").read_text("utf-8")
        return _parse(text, SHIPPED)
    file = Path(path)
    try:
        text = file.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigError(f"{file}: cannot read the exchange-rate file: {reason}") from error
    return _parse(text, str(file))


def _parse(text: str, source: str) -> FxRates:
    reader = csv.reader(text.splitlines())
    header = [name.strip() for name in next(reader, [])]
    for column in FX_COLUMNS:
        if column not in header:
            raise ConfigError(
                f"{source}: missing column {column!r} (an exchange-rate file has the "
                f"columns {', '.join(FX_COLUMNS)})"
            )
    where = {column: header.index(column) for column in FX_COLUMNS}
    iso = currency_codes()
    rates: dict[str, dict[int, float]] = {}
    for row_number, fields in enumerate(reader, start=1):
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            raise ConfigError(
                f"{source}: row {row_number}: expected {len(header)} fields, found {len(fields)}"
            )
        currency, year_text, rate_text = (fields[where[c]].strip() for c in FX_COLUMNS)

        def fail(column: str, problem: str, row: int = row_number) -> ConfigError:
            return ConfigError(f"{source}: row {row}, column {column}: {problem}")

        if currency not in iso:
            raise fail("currency", f"{currency!r} is not an ISO 4217 currency code")
        try:
            year = int(year_text)
        except ValueError:
            raise fail("year", f"{year_text!r} is not a year") from None
        if not 1900 <= year <= 2200:
            raise fail("year", f"{year} is not a plausible year")
        try:
            rate = float(rate_text)
        except ValueError:
            raise fail("usd_per_unit", f"{rate_text!r} is not a number") from None
        if not (math.isfinite(rate) and rate > 0):
            raise fail("usd_per_unit", f"rate must be a positive number, found {rate_text!r}")
        by_year = rates.setdefault(currency, {})
        if year in by_year:
            raise fail("year", f"{currency} {year} appears twice")
        by_year[year] = rate
    if not rates:
        raise ConfigError(f"{source}: the exchange-rate file has no rates")
    if PIVOT not in rates:
        # The pivot is worth one of itself every year; a table need not say so.
        first = min(y for by_year in rates.values() for y in by_year)
        rates[PIVOT] = {first: 1.0}
    return FxRates(source=source, usd_per_unit=rates)
