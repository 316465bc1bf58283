"""The bound on the trees' corrections: how it is applied and how it is chosen."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.scoring.correction_bound import (
    BOUNDS,
    TIE_BREAK,
    UNBOUNDED,
    Trial,
    bounded,
    bounded_share,
    choose_bound,
    look_alike_populations,
)

LEARNED = np.linspace(-6, 6, 121)


@pytest.mark.parametrize("bound", [0.0, 0.25, 1.0, 4.0, UNBOUNDED])
def test_the_bounded_correction_keeps_order_stays_within_the_bound_and_adds_up(bound):
    out = bounded(LEARNED, bound)
    assert (np.abs(out) <= bound).all()
    if bound > 0:  # strictly increasing, even far out: no two corrections collapse into one
        assert (np.diff(out) > 0).all()
    if 0 < bound < UNBOUNDED:
        far = bounded(np.array([100.0, 101.0]) * bound, bound)
        assert far[0] < far[1] < bound
    np.testing.assert_allclose(bounded_share(LEARNED, bound) * LEARNED, out, atol=1e-12)
    if bound == UNBOUNDED:
        np.testing.assert_array_equal(out, LEARNED)


def population(n_positive: int, n_look_alike: int, n_other: int):
    """Expert log-odds: positives at 2, a look-alike population just below them at 1.5,
    everyone else at 0."""
    positive = np.r_[np.ones(n_positive, bool), np.zeros(n_look_alike + n_other, bool)]
    roles = np.array(
        ["offender"] * n_positive + ["webcam"] * n_look_alike + ["family"] * n_other, dtype=object
    )
    expert = np.r_[np.full(n_positive, 2.0), np.full(n_look_alike, 1.5), np.zeros(n_other)]
    expert += np.linspace(0, 0.01, len(expert))[::-1]  # no ties
    return expert, positive, roles


def test_a_correction_that_lifts_an_unseen_population_over_the_positives_is_bounded():
    expert, positive, roles = population(10, 30, 200)
    # Learnt without the look-alikes: it lifts them by 3 log-odds, the positives by 1.
    harmful = np.where(roles == "webcam", 3.0, np.where(positive, 1.0, 0.0))
    trials = {"without webcam": Trial(harmful, positive | (roles == "webcam"))}
    bound, _, checks = choose_bound(expert, positive, trials)
    assert bound < max(BOUNDS)
    (check,) = checks
    assert check.unbounded_ap < check.expert_ap <= check.model_ap
    assert check.parties == 30 and check.positives == 10


def test_a_correction_that_only_helps_gets_one_step_below_the_widest_bound():
    expert, positive, _ = population(10, 30, 200)
    helpful = np.where(positive, 1.0, -1.0)
    trials = {"every population": Trial(helpful, np.ones(len(expert), bool))}
    bound, tie_break, checks = choose_bound(expert, positive, trials)
    assert (bound, tie_break) == (BOUNDS[1], TIE_BREAK)
    assert checks[0].model_ap == checks[0].unbounded_ap == 1.0


def test_look_alikes_are_the_negative_populations_in_the_experts_top_share():
    expert, positive, roles = population(1, 20, 200)
    assert look_alike_populations(expert, positive, roles) == ["webcam"]
    assert look_alike_populations(np.empty(0), np.empty(0, bool), np.empty(0, object)) == []


def test_the_experts_ties_are_broken_by_the_trees_and_its_order_kept_otherwise():
    expert = np.r_[np.full(4, 1.0), np.full(4, 2.0)]  # two plateaus of the expert
    positive = np.array([0, 0, 1, 1, 0, 1, 1, 1], dtype=bool)
    learned = np.where(positive, 3.0, -3.0) + np.arange(8) * 0.1
    trials = {"every population": Trial(learned, np.ones(8, bool))}
    bound, tie_break, _ = choose_bound(expert, positive, trials)
    score = expert + bounded(learned, 0.0, tie_break)
    assert len(np.unique(score)) == 8  # no two parties share a score
    assert score[4:].min() > score[:4].max()  # the expert's plateaus stay in order
    assert (bound, tie_break) == (BOUNDS[1], TIE_BREAK)


def test_a_tie_break_that_ranks_worse_than_the_expert_is_dropped():
    expert = np.r_[np.full(4, 1.0), np.full(4, 2.0)]
    positive = np.array([1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    # Within each plateau, negatives first; the positives apart (tied, they would share one
    # precision and the wrong order would cost nothing).
    wrong = np.where(positive, -1.0, 1.0) + np.linspace(0, 0.1, 8)
    trials = {"without webcam": Trial(wrong, np.ones(8, bool))}
    bound, tie_break, (check,) = choose_bound(expert, positive, trials)
    assert (bound, tie_break) == (0.0, 0.0)
    assert check.model_ap == check.expert_ap


def test_a_bound_that_only_just_passes_is_taken_one_step_smaller():
    expert, positive, roles = population(10, 30, 200)
    # The look-alikes sit 0.5 log-odds below the positives; lifted by 3, they overtake them
    # from a bound of 1 on (3 / sqrt(1 + 9) > 0.5), not at 0.5 (3 / sqrt(37) < 0.5).
    harmful = np.where(roles == "webcam", 3.0, 0.0)
    trials = {"without webcam": Trial(harmful, positive | (roles == "webcam"))}
    bound, tie_break, (check,) = choose_bound(expert, positive, trials)
    assert (bound, tie_break) == (0.25, TIE_BREAK)
    assert check.model_ap >= check.expert_ap
