"""Offsets of each country's zone: a year no payment can have does not stall or crash."""

from __future__ import annotations

from datetime import datetime

from vigil.features.local_time import offset_intervals


def test_offsets_of_implausible_years_stay_within_the_known_span():
    # A workspace filled before ingest quarantined such dates: one row in year 1, one in 9999.
    rows = offset_intervals(["PH", "RO"], datetime(1, 1, 1), datetime(9999, 12, 31))
    assert rows
    assert min(r[1] for r in rows).year >= 1969
    assert max(r[2] for r in rows).year <= 2100
    romania = [r for r in rows if r[0] == "RO"]
    assert len(romania) > 100  # two changes a year since the 1990s, not a single interval
