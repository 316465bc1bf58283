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
    # The offenders' share is spread over the ways they hide (where the base has them).
    shares = [sum(p.share for p in s.populations if p.label_role == "offender") for s in scenarios]
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


def test_each_lookalike_is_sometimes_absent_and_excluded_roles_always_are():
    scenarios = draws(40)
    hard = [s for s in scenarios if any(p.role == "webcam_customer" for p in s.populations)]
    assert hard, "some draws are framed on a hard scenario"
    webcam = [next(p.share for p in s.populations if p.role == "webcam_customer") for s in hard]
    assert min(webcam) == 0 < max(webcam)
    bases = [load_scenario(s) for s in SHIPPED]
    excluded = ("webcam_customer", "offender_low_slow")
    for i in range(20):
        drawn = randomise_scenario(bases, np.random.default_rng([5, i]), exclude=excluded)
        assert all(p.share == 0 for p in drawn.populations if p.role in excluded)
        assert sum(p.share for p in drawn.populations if p.label_role == "offender") > 0
