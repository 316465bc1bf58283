"""How the app writes scores, contributions and the evening it highlights."""

from __future__ import annotations

from vigil.indicators.catalogue import load_catalogue
from vigil.web.app import points_text, score_text
from vigil.web.queries import evening_hours


def test_a_tiny_score_keeps_its_digits() -> None:
    assert score_text(0.41249) == "0.412"
    assert score_text(0.0) == "0.000"
    assert score_text(0.00042) == "0.00042"
    assert score_text(5e-8) == "5.0e-08"
    assert points_text(0.00042) == "+0.00042" and points_text(0.25) == "+0.250"


def test_the_page_highlights_the_evening_r5_counts() -> None:
    start, end = load_catalogue(None).parameters.beneficiary_evening_hours
    hours = evening_hours()
    assert start in hours and (end - 1) % 24 in hours and end % 24 not in hours
    assert len(hours) == (end - start) % 24
