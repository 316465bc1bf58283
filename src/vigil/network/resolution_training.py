"""Training the resolution model without labels, and the Splink settings it feeds.

- u (how often different people agree at each level): random pairs of parties, less the
  share of matches expected among them.
- m (how often one person's accounts agree at each level) and the chance that two random
  parties are one person: expectation maximisation over the pairs that share a country and
  the last word of the name. u is left free inside that pass (sharing a name word makes
  names agree more often than at random) and only m and the match share are kept; the
  match share, times the blocked pairs over all pairs and divided by `em_block_recall`,
  is the chance for any pair (at most `max_duplicate_share` further accounts per
  account). Name and city are trained together.
- Senders have a name and a country only. Among pairs sharing a name word, a latent-class
  model with one identity variable cannot tell a second id of one customer from a
  namesake, so EM is not run on them: senders take the name's m from the beneficiaries' model (how
  institutions garble names does not depend on who holds the account), their own u, and
  the chance from the config's `duplicate_share`.
- Behaviour (payers / payees in common, churn): a second EM pass among parties with the
  same name in one country keeps m and u of the behavioural levels. There the non-matches
  are namesakes, so u is how often two namesakes share payers, not two random parties
  (far rarer). The first pass leaves behaviour out: relatives share a surname, a city
  and the payer who supports them, and would pass for one person. Senders keep the
  behavioural m of the priors and take u as the share among namesake pairs; for a rare
  payee in common (few senders pay it: relatives, a facilitator) the chance that two
  random senders share one, an inverse document frequency that falls as the population
  grows (namesakes who share such a payee are mostly one customer's two ids).
  Where that EM pass fails (a level's u driven to zero: too few namesakes), a second pass
  trains m alone with u at the priors; where that fails too, u comes from the namesake
  pairs (never below the prior). The top levels, "most payers in common", "a payer
  handed over" and "a sole payer in common", keep the prior's u where training gives
  more: the namesakes who reach them are mostly one person's accounts, and training
  floors u at MIN_PROBABILITY.
- Counterpart levels are made monotone: more in common never weighs less than fewer.
- Country's m stays the prior: every scored pair shares a country by blocking; so does
  the phone's (resolution_model.PHONE), u being sampled.
A level the data never showed keeps its prior; no trained value goes below
MIN_PROBABILITY, so one unseen level cannot veto a pair on its own.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from splink import Linker, SettingsCreator, block_on
from splink.internals.em_sampling import _em_sample_filter_sql, resolve_em_sample_threshold
from splink.internals.pipeline import CTEPipeline

from vigil.network.resolution_config import ResolutionConfig
from vigil.network.resolution_model import (
    Comparison,
    PartyKind,
    blocking_rules,
    comparison_dicts,
    comparisons_for,
    counterparts_comparison,
)

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

logger = logging.getLogger(__name__)

MIN_PROBABILITY = 1e-4
PROBE_RECORDS = 20_000  # records per side for Splink's estimate of an EM pass's size
U_CHUNKS = 3  # Splink samples u in chunks (stopping early once every level is seen enough)


@dataclass(frozen=True)
class Model:
    """A resolution model: the prior match chance and (m, u) per (comparison, level);
    None where the config's prior applies."""

    probability_two_random_records_match: float
    levels: dict[tuple[str, str], tuple[float | None, float | None]] = field(default_factory=dict)
    source: str = "priors"  # or "trained", or "trained; name m from beneficiaries"

    @property
    def trained(self) -> bool:
        return self.source != "priors"

    @property
    def prior_weight(self) -> float:
        """The match weight every pair starts from: log2 of the prior odds."""
        p = self.probability_two_random_records_match
        return math.log2(p / (1 - p))

    def to_json(self) -> dict[str, Any]:
        """What the workspace keeps of a trained model (see `from_json`)."""
        return {
            "probability_two_random_records_match": self.probability_two_random_records_match,
            "levels": [[c, level, m, u] for (c, level), (m, u) in self.levels.items()],
            "source": self.source,
        }

    @classmethod
    def from_json(cls, kept: dict[str, Any]) -> Model:
        return cls(
            float(kept["probability_two_random_records_match"]),
            {(c, level): (m, u) for c, level, m, u in kept["levels"]},
            str(kept["source"]),
        )


def prior_model(config: ResolutionConfig, parties: int) -> Model:
    """The config's priors: `duplicate_share` of the parties are a further account of
    someone present, i.e. about that many matching pairs among all n(n-1)/2."""
    chance = min(0.5, 2 * config.priors.duplicate_share / max(parties - 1, 1))
    return Model(chance)


def splink_settings(
    kind: PartyKind,
    config: ResolutionConfig,
    model: Model,
    *,
    behaviour: bool = True,
    phone: bool = True,
    unique_id: str = "party_id",
) -> SettingsCreator:
    comparisons = comparison_dicts(
        kind,
        config,
        model.levels,
        term_frequencies=model.trained,
        behaviour=behaviour,
        phone=phone,
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=unique_id,
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking_rules(kind),
        probability_two_random_records_match=model.probability_two_random_records_match,
        max_iterations=config.training.em_max_iterations,
        retain_matching_columns=True,  # keeps the gamma (level) columns for explanations
        retain_intermediate_calculation_columns=True,  # and the partial match weights
        linker_uid=kind.kind,
    )


def linker_for(
    frame: SplinkDataFrame,
    kind: PartyKind,
    config: ResolutionConfig,
    model: Model,
    frequencies: dict[str, SplinkDataFrame],
    *,
    behaviour: bool = True,
    phone: bool = True,
    unique_id: str = "party_id",
) -> Linker:
    """A linker on the party records with the within-country term frequencies; without
    `behaviour`, on the identity attributes only; `unique_id` names the column that tells
    the records apart; without `phone`, without the phone (expectation maximisation)."""
    settings = splink_settings(
        kind, config, model, behaviour=behaviour, phone=phone, unique_id=unique_id
    )
    linker = Linker(frame, settings, log_level=None, validate_settings=False)
    for column, table in frequencies.items():
        linker.table_management.register_term_frequency_lookup(table, column)
    return linker


EM_BLOCK = ("country", "surname_guess")


def em_block_pairs_sql(records: str) -> str:
    """How many pairs the expectation-maximisation pass blocks (before its sampling)."""
    keys = ", ".join(EM_BLOCK)
    return (
        f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM {records} "
        f"WHERE surname_guess IS NOT NULL GROUP BY {keys})"
    )


def train(
    frame: SplinkDataFrame,
    kind: PartyKind,
    config: ResolutionConfig,
    parties: int,
    em_block_pairs: int,
    frequencies: dict[str, SplinkDataFrame],
    borrowed: Model | None = None,
    namesakes: Mapping[tuple[str, str], float] | None = None,
    rare_coincidence: float | None = None,
) -> Model:
    """The trained model (see the module's docstring); `borrowed` is the model whose name
    m values a kind without city takes (None: the priors); `namesakes` the share of
    namesake pairs at each behavioural level (namesake_levels_sql), the u of a kind
    without city; `rare_coincidence` (a kind with a "rare" counterparts level) the chance
    that two random parties share a rare counterpart (rare_coincidence_sql), that level's
    u. Raises what Splink raises when the data cannot support a step."""
    training = config.training
    prior = prior_model(config, parties)
    sampler = linker_for(frame, kind, config, prior, frequencies, behaviour=False)
    sampler.training.estimate_u_using_random_sampling(
        max_pairs=training.u_max_pairs, seed=config.seed, num_chunks=U_CHUNKS
    )
    identity = comparisons_for(kind, behaviour=False)
    sampled = {key: (None, u) for key, (_, u) in _levels(identity, sampler).items()}
    source = "trained"
    if kind.city_column:
        chance, learned = _expectation_maximisation(
            frame, kind, config, parties, em_block_pairs, frequencies, Model(1e-4, sampled)
        )
    else:
        chance = prior.probability_two_random_records_match
        lender = borrowed if borrowed is not None and borrowed.trained else None
        learned = {
            key: lender.levels.get(key, (None, None))[0] if lender else None for key in sampled
        }
        source = f"trained; name m from {'beneficiaries' if lender else 'priors'}"
    levels = {}
    untrained_m = {comparison.name for comparison in identity if not comparison.m_trained}
    for key, (_, u) in sampled.items():
        m = None if key[0] in untrained_m else learned.get(key)
        levels[key] = (m, _without_matches(u, m, chance))
    if kind.city_column:
        try:
            behaviour = _behaviour_levels(
                frame, kind, config, parties, frequencies, Model(chance, levels)
            )
            # Among namesakes, "most payers in common" (a handover, a sole payer) is nearly
            # always one person: EM's u there is the floor of what so few non-matches can
            # show, not an estimate; the prior's (lower) stands.
            for level in COUNTERPART_STRONGEST:
                top = (kind.counterparts, level)
                if top in behaviour and behaviour[top][1] is not None:
                    prior_u = getattr(getattr(config.priors, top[0]), top[1]).u
                    behaviour[top] = (behaviour[top][0], min(behaviour[top][1], prior_u))
        except ValueError:  # too few namesakes: EM drove a level's u to zero
            try:  # m alone, u held at the priors
                behaviour = _behaviour_levels(
                    frame, kind, config, parties, frequencies, Model(chance, levels), fix_u=True
                )
            except ValueError as error:
                logger.info(
                    "entity resolution of %s parties: behaviour not trained by EM (%s); "
                    "u from namesake pairs, m from the priors",
                    kind.kind,
                    type(error).__name__,
                )
                behaviour = _namesake_levels(config, namesakes)
    else:
        # Senders: no city to tell one customer from a namesake by, so EM cannot separate
        # them; m stays the prior and u is the share among namesakes.
        behaviour = _namesake_levels(config, namesakes)
    if kind.rare_level and rare_coincidence is not None:
        # Not the namesakes' share: those who share a payee few others pay are mostly one
        # person's two ids. A coincidence is what a non-match shows.
        behaviour[(kind.counterparts, RARE)] = (None, max(rare_coincidence, MIN_PROBABILITY))
    levels.update(behaviour)
    return Model(chance, _monotone(levels, kind, config), source)


def _namesake_levels(
    config: ResolutionConfig, namesakes: Mapping[tuple[str, str], float] | None
) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """The behavioural levels' u from namesake pairs, m the prior's. The share among
    namesakes may raise a level's u above the prior (a population where namesakes often
    share payees), never lower it: measured on namesakes drawn across a whole country, it
    misses the small businesses and families whose customers share a payee, and a false
    merge ties an innocent person to whoever the other account pays. The top levels
    (COUNTERPART_STRONGEST: "most ... in common", a handover, a sole payer) keep the prior:
    the namesakes who reach them are mostly one person's two accounts; so does "rare" (see
    `train`). A level no namesake pair shows keeps its prior u."""
    out: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    for key, share in (namesakes or {}).items():
        if not share or key[1] in (*COUNTERPART_STRONGEST, RARE):
            continue
        out[key] = (None, max(share, getattr(getattr(config.priors, key[0]), key[1]).u))
    return out


# The counterpart levels with counterparts in common (names alike); a kind without a
# level skips it.
RARE = "rare"  # senders: a payee in common whom few others pay
COUNTERPART_ORDER = ("one_among_many", "one", "sole", "several", RARE, "many", "handover", "most")
# (stronger, weaker): the first level's weight is at least the second's. More counterparts
# in common is never weaker evidence than fewer, a rare one (senders) than two common ones,
# nor is one payer who is each account's only one, or who moved from the one account to
# the other, weaker than one payer in common; one among many on each side is the weakest.
# A level is raised before it serves as the floor of another.
COUNTERPART_AT_LEAST = (
    ("one", "one_among_many"),
    ("sole", "one"),
    ("several", "one"),
    (RARE, "several"),
    ("many", "several"),
    ("many", RARE),
    ("handover", "one"),
    ("most", "many"),
)
# The levels namesakes reach only as one person's accounts: their u stays the prior's.
COUNTERPART_STRONGEST = ("most", "handover", "sole")


def _monotone(
    levels: dict[tuple[str, str], tuple[float | None, float | None]],
    kind: PartyKind,
    config: ResolutionConfig,
) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """The levels with each counterpart level's weight (m / u) at least that of the levels
    it must not fall below (COUNTERPART_AT_LEAST): trained apart on few pairs, "two payers
    in common" can come out weaker than "one", which no analyst would accept. Such a level
    takes the weight below (its u lowered); a level without trained values keeps the
    prior's."""
    out = dict(levels)
    name = kind.counterparts
    present = {level.key for level in counterparts_comparison(kind).levels}

    def values(key: str) -> tuple[float, float]:
        prior = getattr(getattr(config.priors, name), key)
        m, u = out.get((name, key), (None, None))
        return (m if m is not None else prior.m, u if u is not None else prior.u)

    for stronger, weaker in COUNTERPART_AT_LEAST:
        if stronger not in present or weaker not in present:
            continue
        m_value, u_value = values(stronger)
        floor = values(weaker)[0] / values(weaker)[1]
        if m_value / u_value < floor:
            out[(name, stronger)] = (m_value, m_value / floor)
    return out


def _expectation_maximisation(
    frame: SplinkDataFrame,
    kind: PartyKind,
    config: ResolutionConfig,
    parties: int,
    em_block_pairs: int,
    frequencies: dict[str, SplinkDataFrame],
    start: Model,
) -> tuple[float, dict[tuple[str, str], float | None]]:
    """The chance that two random parties match, and m per identity level, from one EM
    pass on the identity attributes alone (payers would make a household look like one
    person: relatives share a surname, a city and the payer who supports them)."""
    training = config.training
    rule = block_on(*EM_BLOCK)
    sample = _em_sample(frame, kind, config, start, frequencies, rule, parties, behaviour=False)
    em = linker_for(sample, kind, config, start, frequencies, behaviour=False, phone=False)
    session = em.training.estimate_parameters_using_expectation_maximisation(
        rule,
        estimate_without_term_frequencies=True,
        fix_u_probabilities=False,
        max_pairs=None,  # the sample is Splink's own (_em_sample)
    )
    in_block = session.core_model_settings.probability_two_random_records_match
    all_pairs = parties * (parties - 1) / 2
    estimated = in_block * em_block_pairs / all_pairs / training.em_block_recall
    # Where namesakes far outnumber one person's accounts (a small pool of names), EM can
    # take namesakes for matches; no more than `max_duplicate_share` further accounts per
    # account are believed.
    ceiling = 2 * training.max_duplicate_share / max(parties - 1, 1)
    chance = min(0.5, estimated, ceiling)
    logger.debug(
        "EM: match share %.3g among %d blocked pairs: chance two parties match %.3g (ceiling %.3g)",
        in_block,
        em_block_pairs,
        estimated,
        ceiling,
    )
    identity = comparisons_for(kind, behaviour=False, phone=False)
    return chance, {key: m for key, (m, _) in _levels(identity, em).items()}


# The same name in one country, under a column no comparison reads (Splink does not train
# a comparison on the columns of the pass's blocking rule, and the payers levels read the
# name columns).
BEHAVIOUR_EM_BLOCK = ("namesake_key",)


def _behaviour_levels(
    frame: SplinkDataFrame,
    kind: PartyKind,
    config: ResolutionConfig,
    parties: int,
    frequencies: dict[str, SplinkDataFrame],
    start: Model,
    *,
    fix_u: bool = False,
) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """(m, u) of the behavioural levels from an EM pass over parties with the same name in
    one country: there, the non-matches are namesakes, so u is how often two *namesakes*
    share payers or follow one another, which is what a pair with names alike needs (far
    more often than two random parties: relatives named after one another, one family)."""
    rule = block_on(*BEHAVIOUR_EM_BLOCK)
    sample = _em_sample(frame, kind, config, start, frequencies, rule, parties, behaviour=True)
    em = linker_for(sample, kind, config, start, frequencies, phone=False)
    em.training.estimate_parameters_using_expectation_maximisation(
        rule,
        estimate_without_term_frequencies=True,
        fix_u_probabilities=fix_u,
        max_pairs=None,  # the sample is Splink's own (_em_sample)
    )
    comparisons = comparisons_for(kind, phone=False)
    behavioural = {c.name for c in comparisons if c.behavioural}
    return {key: mu for key, mu in _levels(comparisons, em).items() if key[0] in behavioural}


def _em_sample(
    frame: SplinkDataFrame,
    kind: PartyKind,
    config: ResolutionConfig,
    start: Model,
    frequencies: dict[str, SplinkDataFrame],
    rule: Any,
    parties: int,
    *,
    behaviour: bool,
) -> SplinkDataFrame:
    """The party records an EM pass blocking on `rule` trains on: those Splink samples
    (by a hash of party_id) to keep the pass near `em_max_pairs` pairs, chosen as Splink
    chooses them, or every record where it would not sample. Splink's pass over the
    sample with no further sampling forms the very pairs it would form over all records,
    but joins the term frequencies onto the sample alone rather than onto every record
    (the part of training that grew with the data)."""
    probe = linker_for(frame, kind, config, start, frequencies, behaviour=behaviour, phone=False)
    settings = probe._settings_obj
    threshold, modulus, _ = resolve_em_sample_threshold(
        linker=probe,
        blocking_rule=rule.get_blocking_rule(settings._sql_dialect_str),
        max_pairs=config.training.em_max_pairs,
        probe_proportion=min(1.0, PROBE_RECORDS / parties),
    )
    if threshold is None:
        return frame
    kept = _em_sample_filter_sql(
        settings.column_info_settings.unique_id_input_columns,
        threshold,
        modulus,
        "p",
        probe._db_api.sql_dialect,
    )
    pipeline = CTEPipeline()
    pipeline.enqueue_sql(
        f"SELECT * FROM {frame.physical_name} p WHERE TRUE{kept}", "__splink__em_records"
    )
    # A Splink table: dropped with the others once the kind is scored.
    return probe._db_api.sql_pipeline_to_splink_dataframe(pipeline)


def _without_matches(sampled: float | None, m: float | None, chance: float) -> float | None:
    """u from random pairs, less the matches among them: a random pair is a match with
    probability `chance`, so P(level) = chance * m + (1 - chance) * u. It matters for small
    workspaces, where the sampled pairs include a good share of the true matches."""
    if sampled is None or m is None:
        return sampled
    return max((sampled - chance * m) / (1 - chance), MIN_PROBABILITY)


def _levels(comparisons: tuple[Comparison, ...], linker: Linker) -> dict[tuple[str, str], tuple]:
    """(m, u) of every non-null level of `comparisons` (the linker's, in its order) from
    the linker's model, floored at MIN_PROBABILITY; None where Splink has no value (not
    observed)."""
    model = linker.misc.save_model_to_json()
    out: dict[tuple[str, str], tuple] = {}
    for comparison, found in zip(comparisons, model["comparisons"], strict=True):
        levels = [lv for lv in found["comparison_levels"] if not lv.get("is_null_level")]
        for level, values in zip(comparison.levels, levels, strict=True):
            out[(comparison.name, level.key)] = (
                _probability(values.get("m_probability")),
                _probability(values.get("u_probability")),
            )
    return out


def _probability(value: Any) -> float | None:
    if isinstance(value, int | float) and 0 <= value <= 1:
        return max(float(value), MIN_PROBABILITY)
    return None
