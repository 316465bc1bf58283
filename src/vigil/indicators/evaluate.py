"""The generic indicator engine: a catalogue entry and a feature table give strengths and points.

Nothing here names an indicator: ids, features, thresholds and weights come from the catalogue.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from vigil.indicators.catalogue import Catalogue, Indicator

FIRED_FLOOR = 0.4  # strength at the threshold; it rises linearly to 1 at saturation


def strength(value: ir.NumericValue, indicator: Indicator) -> ir.NumericValue:
    lo, hi = indicator.threshold, indicator.saturation
    value = value.cast("float64").fill_null(0 if indicator.direction == "above" else hi + 1)
    if indicator.direction == "above":
        fired = value >= lo
        frac = (value - lo) / (hi - lo) if hi != lo else ibis.literal(1.0)
    else:
        fired = value <= lo
        frac = (lo - value) / (lo - hi) if hi != lo else ibis.literal(1.0)
    scaled = FIRED_FLOOR + (1 - FIRED_FLOOR) * ibis.greatest(ibis.least(frac, 1.0), 0.0)
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
    total = ibis.literal(0.0)
    for name in points:
        total = total + table[name]
    scale = catalogue.scoring[kind].scale  # type: ignore[index]
    return table.mutate(points=total, score=1 - (-total / scale).exp())
