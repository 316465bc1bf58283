"""The resolution benchmark's population: enough split offenders to measure sender pairs."""

from __future__ import annotations

from benchmarks.resolution_quality import with_split_offenders


def test_split_offenders_take_their_share_from_the_largest_population() -> None:
    scenario = with_split_offenders("hard_global", 0.001)
    split = [p for p in scenario.populations if p.split_id_share > 0]
    assert [p.share for p in split] == [0.001]
    assert abs(sum(p.share for p in scenario.populations) - 1.0) < 1e-9


def test_without_a_share_the_scenario_is_left_as_shipped() -> None:
    assert with_split_offenders("hard_global", None) == "hard_global"
