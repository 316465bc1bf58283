"""A payment's risk from what the workspace knows of both parties and what it adds.

points = w_s × -ln(1 - sender score) + w_b × -ln(1 - beneficiary score) + the payment's own
points (scoring.yaml); score = 1 - exp(-points). Each reason's contribution is its share of
the points times the score, so the contributions add up to the score, as a party's do. A
party's part is split over the indicators that make its own score (from the last scan).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vigil.api.config import ScoringConfig
from vigil.api.payment import PaymentFacts, PaymentIn, payment_facts
from vigil.api.state import PartyState
from vigil.indicators.catalogue import Parameters

MAX_PARTY_SCORE = 0.999  # -ln(1 - s) is infinite at 1


@dataclass(frozen=True)
class Reason:
    party: str  # sender, beneficiary or payment: indicator ids repeat across kinds (N1)
    indicator: str
    statement: str
    points: float


@dataclass
class ScoredPayment:
    txn_id: str
    score: float
    decision: str
    reasons: list[dict] = field(default_factory=list)
    sender: dict = field(default_factory=dict)
    beneficiary: dict = field(default_factory=dict)
    known_pair: bool = False

    def to_dict(self) -> dict:
        return {
            "txn_id": self.txn_id,
            "score": self.score,
            "decision": self.decision,
            "reasons": self.reasons,
            "sender": self.sender,
            "beneficiary": self.beneficiary,
        }


def party_points(score: float) -> float:
    return -math.log(1 - min(max(score, 0.0), MAX_PARTY_SCORE))


def amount_in_reporting(payment: PaymentIn, state: PartyState) -> float:
    """As ingest converts: the year's rate, the table's edge year beyond its range."""
    first, last = state.fx.years
    year = min(max(payment.moment.year, first), last)
    return float(payment.amount) * state.fx.rate(payment.currency, year, state.reporting_currency)


def score_payment(
    payment: PaymentIn, state: PartyState, params: Parameters, config: ScoringConfig
) -> ScoredPayment:
    facts = payment_facts(payment, params, amount_in_reporting(payment, state))
    sender_score = state.sender(payment.sender_key)
    known = state.beneficiary(payment.beneficiary_id)
    beneficiary_score, suspicious_payers = known if known is not None else (None, 0)
    reasons: list[Reason] = []
    weights = config.party_weights
    for kind, party_id, score, weight in (
        ("sender", payment.sender_key, sender_score, weights.sender),
        ("beneficiary", payment.beneficiary_id, beneficiary_score, weights.beneficiary),
    ):
        if score:
            reasons += _party_reasons(state, kind, party_id, weight * party_points(score))
    known_pair = state.has_paid(payment.sender_key, payment.beneficiary_id)
    reasons += _payment_reasons(payment, facts, state, config, suspicious_payers, known_pair)
    points = sum(r.points for r in reasons)
    score = 1 - math.exp(-points)
    ordered = sorted(reasons, key=lambda r: (-r.points, r.party, r.indicator))
    return ScoredPayment(
        txn_id=payment.txn_id,
        score=round(score, 6),
        decision=config.decision(score),
        reasons=[
            {
                "indicator": r.indicator,
                "party": r.party,
                "statement": r.statement,
                "contribution": round(score * r.points / points, 6),
            }
            for r in ordered
            if r.points > 0
        ],
        sender={
            "party_id": payment.sender_id,
            **({"reporter": payment.reporter} if payment.reporter else {}),
            "score": _shown(sender_score),
        },
        beneficiary={"party_id": payment.beneficiary_id, "score": _shown(beneficiary_score)},
        known_pair=known_pair,
    )


def _shown(score: float | None) -> float | None:
    """A party the workspace has never seen has no score yet: null, not a made-up 0."""
    return None if score is None else round(score, 6)


def _party_reasons(state: PartyState, kind: str, party_id: str, points: float) -> list[Reason]:
    own = state.reasons.get((kind, party_id))
    if not own:
        return [Reason(kind, "score", f"The {kind}'s score in the last scan.", points)]
    total = sum(r.share for r in own)
    return [Reason(kind, r.indicator, r.statement, points * r.share / total) for r in own]


def _payment_reasons(
    payment: PaymentIn,
    facts: PaymentFacts,
    state: PartyState,
    config: ScoringConfig,
    suspicious_payers: int,
    known_pair: bool,
) -> list[Reason]:
    p = config.payment_points
    out: list[Reason] = []
    unrelated_corridor = facts.high_risk and not facts.related
    if unrelated_corridor and facts.small:
        out.append(
            Reason(
                "payment",
                "R1",
                f"A small person-to-person payment ({facts.amount_reporting:.0f} "
                f"{state.reporting_currency}) to a high-risk country "
                f"({payment.beneficiary_country}), to someone not sharing the sender's surname.",
                p.corridor,
            )
        )
    if unrelated_corridor and facts.beneficiary_evening:
        out.append(
            Reason("payment", "R5", "Sent in the beneficiary's evening.", p.beneficiary_evening)
        )
    if unrelated_corridor and facts.sender_night:
        out.append(Reason("payment", "R5", "Sent in the sender's night.", p.sender_night))
    if facts.high_risk and facts.cover_narrative:
        out.append(
            Reason(
                "payment",
                "R8",
                "The narrative is an innocuous cover word or a messaging handle.",
                p.cover_narrative,
            )
        )
    counted = min(suspicious_payers, p.suspicious_payers_max)
    if counted and not known_pair and not facts.related:
        out.append(
            Reason(
                "payment",
                "N1",
                f"A new beneficiary for this sender, whom {suspicious_payers} unrelated "
                "suspicious senders pay.",
                p.suspicious_payer * counted,
            )
        )
    if ("beneficiary", payment.beneficiary_id) in state.watchlisted:
        out.append(Reason("payment", "R17", "The beneficiary is on the watchlist.", p.watchlisted))
    if ("sender", payment.sender_key) in state.watchlisted:
        out.append(Reason("payment", "R14", "The sender is on the watchlist.", p.watchlisted))
    return out
