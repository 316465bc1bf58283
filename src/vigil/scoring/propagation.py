"""What a party's counterparties look like: one round of sender ↔ beneficiary propagation."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _


def beneficiary_network_features(
    pairs: ir.Table, sender_scores: ir.Table, threshold: float
) -> ir.Table:
    """Per beneficiary: how suspicious its payers look (payment-weighted), how many are."""
    scored = pairs.join(sender_scores.select(sender_id="party_id", base="score"), "sender_id")
    return (
        scored.group_by("beneficiary_id")
        .aggregate(
            payer_suspicion=(_.base * _.payments).sum() / _.payments.sum(),
            suspicious_payers=((_.base >= threshold) & ~_.related).sum(),
        )
        .rename(party_id="beneficiary_id")
    )


def sender_network_features(pairs: ir.Table, sender_scores: ir.Table, threshold: float) -> ir.Table:
    """Per sender: links to suspicious, unrelated co-payers of its high-risk beneficiaries."""
    scored = pairs.join(sender_scores.select(sender_id="party_id", base="score"), "sender_id")
    unrelated = ~scored.related & scored.foreign
    per_beneficiary = scored.group_by("beneficiary_id").aggregate(
        suspects=((scored.base >= threshold) & unrelated).sum(), unrelated=unrelated.sum()
    )
    own = scored.filter(scored.hr).join(per_beneficiary, "beneficiary_id")
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
