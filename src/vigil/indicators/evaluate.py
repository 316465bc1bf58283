"""The generic indicator engine: a catalogue entry and a feature table give strengths and points.

Nothing here names an indicator: ids, features, thresholds and weights come from the catalogue.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from vigil.indicators.catalogue import Catalogue, Indicator, Signal, Typology

FIRED_FLOOR = 0.4  # strength at the threshold; it rises linearly to 1 at saturation ...
BEYOND_SATURATION = 0.1  # ... and on, slowly, towards 1.1: more still ranks higher (no ties)


def strength(value: ir.NumericValue, indicator: Indicator | Signal) -> ir.NumericValue:
    lo, hi = indicator.threshold, indicator.saturation
    value = value.cast("float64").fill_null(0 if indicator.direction == "above" else hi + 1)
    if indicator.direction == "above":
        fired = value >= lo
        frac = (value - lo) / (hi - lo) if hi != lo else ibis.literal(1.0)
    else:
        fired = value <= lo
        frac = (lo - value) / (lo - hi) if hi != lo else ibis.literal(1.0)
    scaled = FIRED_FLOOR + (1 - FIRED_FLOOR) * ibis.greatest(ibis.least(frac, 1.0), 0.0)
    beyond = ibis.greatest(frac - 1.0, 0.0)
    scaled = scaled + BEYOND_SATURATION * (1 - (-beyond).exp())
    return ibis.ifelse(fired, scaled, 0.0)


def evaluate_indicators(
    features: ir.Table, catalogue: Catalogue, kind: str, stages: tuple[str, ...]
) -> ir.Table:
    """Adds, per indicator: `s_ID` (strength, 0 if not fired) and `p_ID` (points after gates),
    then `points` and `score` = 1 - exp(-points / scale)."""
    indicators = [i for i in catalogue.for_party(kind) if i.stage in stages]
    strengths = {f"s_{i.id}": strength(features[i.feature], i) for i in indicators}
    table = features.mutate(**strengths)
    present = {i.id for i in indicators}
    points = {}
    for ind in indicators:
        gate = ibis.literal(True)
        required = [r for r in ind.requires_any if r in present]
        if ind.requires_any:
            gate = ibis.literal(False)
            for r in required:
                gate = gate | (table[f"s_{r}"] > 0)
        points[f"p_{ind.id}"] = ibis.ifelse(gate, table[f"s_{ind.id}"] * ind.weight, 0.0)
    table = table.mutate(**points)
    table = typology_fits(table, catalogue.typologies_for(kind))
    # A look-alike typology that explains the same payments (tips to a performer, rising sums
    # to a scammer's mules) takes back part of the pattern's points: every indicator's points
    # shrink alike, so contributions still add up to the score.
    keep = 1 - table.contrast_discount
    table = table.mutate(**{name: table[name] * keep for name in points})
    total = ibis.literal(0.0)
    for name in points:
        total = total + table[name]
    scale = catalogue.scoring[kind].scale  # type: ignore[index]
    return table.mutate(points=total, score=1 - (-total / scale).exp())


def typology_fits(table: ir.Table, typologies: list[Typology]) -> ir.Table:
    """Adds `fit_<id>` per typology (weighted mean of its signals' strengths, 0 until one of
    `requires_any` fires), `best_typology` (the best fitting, '' if none fits) and
    `contrast_discount` (the largest discount × fit)."""
    fits: dict[str, ir.NumericValue] = {}
    for typ in typologies:
        strengths = {s.name: strength(table[s.feature], s) for s in typ.signals}
        mean = sum((strengths[s.name] * s.weight for s in typ.signals), ibis.literal(0.0)) / sum(
            s.weight for s in typ.signals
        )
        gate = ibis.literal(not typ.requires_any)
        for name in typ.requires_any:
            gate = gate | (strengths[name] > 0)
        fits[f"fit_{typ.id}"] = ibis.ifelse(gate, mean, 0.0)
    table = table.mutate(**fits)
    discount = ibis.literal(0.0)
    best, best_fit = ibis.literal(""), ibis.literal(0.0)
    for typ in typologies:
        fit = table[f"fit_{typ.id}"]
        discount = ibis.greatest(discount, fit * typ.discount)
        best = ibis.ifelse(fit > best_fit, ibis.literal(typ.id), best)
        best_fit = ibis.greatest(best_fit, fit)
    return table.mutate(contrast_discount=discount, best_typology=best)
