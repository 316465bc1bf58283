"""Randomised scenarios: many populations around the shipped ones, for training a ranking model.

A model trained on one generator's settings learns those settings. Each randomised scenario
takes every population from one of the base scenarios (chosen per population, so look-alike
mixes that no shipped scenario has appear), then moves its parameters within the ranges of
:class:`RandomisationRanges`: amount levels, rates and bursts, corridors, channel mix, hours,
beneficiary sharing, offender share and the share of each look-alike population.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vigil.schema import POSITIVE_ROLES
from vigil.synth.scenario import Scenario

OFFENDER = POSITIVE_ROLES["sender"]
Span = tuple[float, float]


class RandomisationRanges(BaseModel):
    """How far each parameter moves. `factor` spans multiply (drawn log-uniformly), `shift`
    spans add (drawn uniformly, then clipped to [0, 1]); others are drawn as they are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offender_share: Span = (0.002, 0.02)
    lookalike_share_factor: Span = (0.4, 2.5)
    # Each look-alike population, and each way of hiding, is absent from a population with this
    # chance, so that no model can lean on one of them being there.
    absent_p: Annotated[float, Field(ge=0, le=1)] = 0.2
    amount_level_factor: Span = (0.5, 2.0)
    amount_spread_factor: Span = (0.75, 1.3)
    round_share_shift: Span = (-0.2, 0.2)
    rate_factor: Span = (0.5, 2.0)
    heterogeneity_factor: Span = (0.6, 1.6)
    burst_factor: Span = (0.5, 1.6)
    offender_light_share: Span = (0.1, 0.5)
    escalation_shift: Span = (-0.15, 0.15)
    active_years_factor: Span = (0.6, 1.6)
    beneficiaries_per_sender_factor: Span = (0.7, 1.4)
    senders_per_beneficiary_factor: Span = (0.6, 1.7)
    accounts_per_person_factor: Span = (0.5, 1.5)
    popularity_alpha_factor: Span = (0.8, 1.25)
    link_share_shift: Span = (-0.15, 0.15)
    hour_weight_factor: Span = (0.6, 1.6)
    channel_weight_factor: Span = (0.25, 4.0)
    destination_weight_factor: Span = (0.5, 2.0)
    new_corridor_p: Annotated[float, Field(ge=0, le=1)] = 0.3
    new_corridor_weight: Span = (0.03, 0.15)
    institution_weight_factor: Span = (0.5, 2.0)
    blank_narrative_shift: Span = (-0.2, 0.2)
    months: tuple[int, int] = (12, 24)
    senders_factor: Span = (0.6, 1.4)


def _factor(rng: np.random.Generator, span: Span) -> float:
    lo, hi = span
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _shift(rng: np.random.Generator, value: float, span: Span) -> float:
    return float(np.clip(value + rng.uniform(*span), 0.0, 1.0))


def _weights(rng: np.random.Generator, weights: dict[str, float], span: Span) -> dict[str, float]:
    return {k: w * _factor(rng, span) for k, w in weights.items()}


def _population(
    rng: np.random.Generator, pop: dict[str, Any], corridors: list[str], r: RandomisationRanges
) -> dict[str, Any]:
    amount, rate, timing = pop["amount"], pop["rate"], pop["timing"]
    bens, narratives = pop["beneficiaries"], pop["narratives"]
    offender = pop["role"] == OFFENDER

    median = amount["median_usd"] * _factor(rng, r.amount_level_factor)
    amount["median_usd"] = float(np.clip(median, amount["min_usd"] * 1.5, amount["max_usd"] / 2))
    spread = _factor(rng, r.amount_spread_factor)
    amount["sigma"] *= spread
    amount["party_sigma"] *= spread
    amount["round_share"] = _shift(rng, amount["round_share"], r.round_share_shift)

    rate["sessions_per_month"] *= _factor(rng, r.rate_factor)
    rate["heterogeneity"] *= _factor(rng, r.heterogeneity_factor)
    rate["extra_payment_p"] = min(0.9, rate["extra_payment_p"] * _factor(rng, r.burst_factor))
    rate["escalation_share"] = _shift(rng, rate["escalation_share"], r.escalation_shift)
    rate["active_years_median"] *= _factor(rng, r.active_years_factor)
    if offender:
        rate["light_share"] = float(rng.uniform(*r.offender_light_share))

    for window in timing["hours"]:
        window["weight"] *= _factor(rng, r.hour_weight_factor)

    per_sender = bens["per_sender_mean"] - 1
    bens["per_sender_mean"] = 1 + per_sender * _factor(rng, r.beneficiaries_per_sender_factor)
    bens["senders_per_beneficiary"] *= _factor(rng, r.senders_per_beneficiary_factor)
    accounts = bens["accounts_per_person_mean"] - 1
    bens["accounts_per_person_mean"] = 1 + accounts * _factor(rng, r.accounts_per_person_factor)
    bens["popularity_alpha"] *= _factor(rng, r.popularity_alpha_factor)
    for key in ("variant_share", "household_spread", "surname_link_share"):
        if bens[key] > 0:
            bens[key] = _shift(rng, bens[key], r.link_share_shift)

    pop["channels"] = _weights(rng, pop["channels"], r.channel_weight_factor)
    destinations = _weights(rng, pop["destinations"], r.destination_weight_factor)
    unused = [c for c in corridors if c not in destinations]
    if unused and rng.random() < r.new_corridor_p:
        total = sum(destinations.values())
        destinations[str(rng.choice(unused))] = total * float(rng.uniform(*r.new_corridor_weight))
    pop["destinations"] = destinations
    narratives["blank_share"] = _shift(rng, narratives["blank_share"], r.blank_narrative_shift)
    return pop


def _is_offender(pop: dict[str, Any]) -> bool:
    return (pop.get("label") or pop["role"]) == OFFENDER


def randomise_scenario(
    bases: Sequence[Scenario],
    rng: np.random.Generator,
    ranges: RandomisationRanges | None = None,
    *,
    name: str = "randomised",
    exclude: Sequence[str] = (),
) -> Scenario:
    """A new, valid scenario drawn around `bases`: each population of a randomly chosen base
    takes its parameters from any base that has its role, then moves them; `exclude` names
    roles left out altogether (to evaluate on populations a model never saw)."""
    r = ranges or RandomisationRanges()
    dumps = [b.model_dump(mode="python") for b in bases]
    frame = dumps[int(rng.integers(len(dumps)))]
    roles = [p["role"] for p in frame["populations"]]
    corridors = sorted({c for d in dumps for c in d["cities"]} & set(frame["cities"]))
    populations = []
    for role in roles:
        sources = [p for d in dumps for p in d["populations"] if p["role"] == role]
        chosen = sources[int(rng.integers(len(sources)))]
        populations.append(_population(rng, _copy(chosen), corridors, r))

    # The offenders' share, spread over the ways they hide; the plain kind is always there.
    offender_share = _factor(rng, r.offender_share)
    offenders = [p for p in populations if _is_offender(p)]
    kinds = [
        0.0
        if p["role"] in exclude or (p["role"] != OFFENDER and rng.random() < r.absent_p)
        else p["share"] * _factor(rng, r.lookalike_share_factor)
        for p in offenders
    ]
    for p, weight in zip(offenders, kinds, strict=True):
        p["share"] = offender_share * weight / sum(kinds) if sum(kinds) > 0 else 0.0
    others = [p for p in populations if not _is_offender(p)]
    raw = [
        0.0
        if p["role"] in exclude or rng.random() < r.absent_p
        else p["share"] * _factor(rng, r.lookalike_share_factor)
        for p in others
    ]
    if sum(raw) == 0:
        raw = [0.0 if p["role"] in exclude else p["share"] for p in others]
    scale = (1 - sum(p["share"] for p in offenders)) / sum(raw)
    for p, share in zip(others, raw, strict=True):
        p["share"] = share * scale
    # Shares must add up to 1 exactly: the largest population absorbs the rounding.
    largest = max(others, key=lambda p: p["share"])
    largest["share"] += 1.0 - sum(p["share"] for p in populations)

    institution = _weights(rng, frame["institution_countries"], r.institution_weight_factor)
    lo, hi = r.months
    scenario = {
        **frame,
        "name": name,
        "description": f"Randomised around {', '.join(b.name for b in bases)}.",
        "months": int(rng.integers(lo, hi + 1)),
        "senders": max(100, round(frame["senders"] * _factor(rng, r.senders_factor))),
        "institution_countries": institution,
        "populations": populations,
    }
    return Scenario.model_validate(scenario)


def _copy(value: Any) -> Any:
    """A deep copy of plain data (dicts, lists, tuples, numbers, strings, dates)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
