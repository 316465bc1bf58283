"""Randomised scenarios: valid, reproducible, and spread within the stated ranges."""

from __future__ import annotations

import numpy as np

from vigil.synth.randomise import RandomisationRanges, randomise_scenario
from vigil.synth.scenario import SHIPPED, load_scenario


def draws(n: int, ranges: RandomisationRanges | None = None):
    bases = [load_scenario(s) for s in SHIPPED]
    return [randomise_scenario(bases, np.random.default_rng([3, i]), ranges) for i in range(n)]


def test_randomised_scenarios_are_valid_and_reproducible():
    first, again = draws(1)[0], draws(1)[0]
    assert first == again
    assert abs(sum(p.share for p in first.populations) - 1) < 1e-9


def test_parameters_spread_within_the_ranges():
    ranges = RandomisationRanges()
    scenarios = draws(30, ranges)
    offender = [next(p for p in s.populations if p.role == "offender") for s in scenarios]
    shares = [p.share for p in offender]
    lo, hi = ranges.offender_share
    assert lo <= min(shares) and max(shares) <= hi
    assert max(shares) / min(shares) > 3  # the draws do spread over the range
    medians = [p.amount.median_usd for p in offender]
    assert min(medians) < 35 and max(medians) > 70  # around 30-55 USD in the shipped ones
    assert {s.months for s in scenarios} <= set(range(12, 25)) and len(
        {s.months for s in scenarios}
    ) > 5
    channels = {max(p.channels, key=p.channels.get) for p in offender}
    assert len(channels) > 1  # the channel mix changes, not only its weights
