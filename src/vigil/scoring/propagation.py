"""What a party's counterparties look like: one round of sender ↔ beneficiary propagation."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _


def beneficiary_network_features(
    pairs: ir.Table, sender_scores: ir.Table, threshold: float
) -> ir.Table:
    """Per beneficiary: how suspicious its unrelated payers look (payment-weighted), how many
    show the pattern, and that suspicion shared: weighed by n / (n + 1.5) for n unrelated
    payers showing at least some of the pattern (half the suspicious score), so that one
    payer's look (a partner abroad, a client) counts 40 %, and several unrelated payers of one
    beneficiary, the published network pattern, count 67 % (three) to nearly whole.
    Relatives' payments are family money and are left out."""
    scored = pairs.filter(~pairs.related).join(
        sender_scores.select(sender_id="party_id", base="score"), "sender_id"
    )
    per = scored.group_by("beneficiary_id").aggregate(
        payer_suspicion=(_.base * _.payments).sum() / _.payments.sum(),
        suspicious_payers=(_.base >= threshold).sum(),
        pattern_payers=(_.base >= threshold / 2).sum(),
    )
    shared = per.payer_suspicion * per.pattern_payers / (per.pattern_payers + 1.5)
    return per.mutate(shared_payer_suspicion=shared).rename(party_id="beneficiary_id")


def sender_network_features(pairs: ir.Table, sender_scores: ir.Table, threshold: float) -> ir.Table:
    """Per sender: links to suspicious, unrelated co-payers of its high-risk beneficiaries."""
    scored = pairs.join(sender_scores.select(sender_id="party_id", base="score"), "sender_id")
    unrelated = ~scored.related & scored.foreign
    per_beneficiary = scored.group_by("beneficiary_id").aggregate(
        suspects=((scored.base >= threshold) & unrelated).sum(), unrelated=unrelated.sum()
    )
    # Only the sender's own payments to unrelated people: a relative who sends a household
    # family money is not a co-payer of whoever else pays it.
    own = scored.filter(scored.hr & ~scored.related).join(per_beneficiary, "beneficiary_id")
    own_unrelated = ~own.related & own.foreign
    own_suspect = (own.base >= threshold) & own_unrelated
    links = own.select(
        "sender_id",
        suspects=own.suspects - own_suspect.cast("int64"),
        others=own.unrelated - own_unrelated.cast("int64"),
    )
    return (
        links.group_by("sender_id")
        .aggregate(suspicious_co_payers=_.suspects.sum(), co_payer_links=_.others.sum())
        .mutate(
            # A popular shop's customers are mostly ordinary: the share, not the count, tells.
            co_payer_suspicion=ibis.ifelse(
                _.co_payer_links > 0, _.suspicious_co_payers / _.co_payer_links, 0.0
            )
        )
        .rename(party_id="sender_id")
    )
