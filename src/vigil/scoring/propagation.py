"""What a party's counterparties look like: one round of sender ↔ beneficiary propagation.

Counterparties are resolved people, not accounts: a facilitator who opens a new wallet every
few months, or an offender paying under two customer ids, is one person (typologies.md B5,
N4), so a payer of the new wallet is a co-payer of whoever paid the old ones, and an
offender's second id is not a co-offender of the first."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _


def _people(pairs: ir.Table, sender_scores: ir.Table) -> ir.Table:
    """One row per (sender person, beneficiary person): the sender person's highest score
    over its ids, its payments, and whether any of its accounts is related to (a shared
    surname) or abroad from the beneficiary person."""
    scored = pairs.join(sender_scores.select(sender_id="party_id", base="score"), "sender_id")
    return scored.group_by("sender_entity", "beneficiary_entity").aggregate(
        base=_.base.max(),
        payments=_.payments.sum(),
        related=_.related.any(),
        foreign=_.foreign.any(),
    )


def beneficiary_network_features(
    pairs: ir.Table, sender_scores: ir.Table, threshold: float
) -> ir.Table:
    """Per beneficiary account, the figures of its person: how suspicious the person's
    unrelated payers look (payment-weighted), how many show the pattern, and that suspicion
    shared: weighed by n / (n + 1.5) for n unrelated payers showing at least some of the
    pattern (half the suspicious score), so that one payer's look (a partner abroad, a client)
    counts 40 %, and several unrelated payers of one beneficiary, the published network
    pattern, count 67 % (three) to nearly whole. Relatives' payments are family money and are
    left out."""
    people = _people(pairs, sender_scores)
    unrelated = people.filter(~people.related)
    per = unrelated.group_by("beneficiary_entity").aggregate(
        payer_suspicion=(_.base * _.payments).sum() / _.payments.sum(),
        suspicious_payers=(_.base >= threshold).sum(),
        pattern_payers=(_.base >= threshold / 2).sum(),
    )
    shared = per.payer_suspicion * per.pattern_payers / (per.pattern_payers + 1.5)
    per = per.mutate(shared_payer_suspicion=shared)
    accounts = pairs.select("beneficiary_id", "beneficiary_entity").distinct()
    return (
        accounts.join(per, "beneficiary_entity")
        .drop("beneficiary_entity")
        .rename(party_id="beneficiary_id")
    )


def sender_network_features(pairs: ir.Table, sender_scores: ir.Table, threshold: float) -> ir.Table:
    """Per sender account, the figures of its person: links to suspicious, unrelated
    co-payers of the people the person pays in high-risk countries (the person left out).
    Counted per person, not per account: an offender whose ids at two institutions pay one
    facilitator each would otherwise show at each id half of his co-offenders, and at the
    id that pays a wallet nobody else pays, none."""
    people = _people(pairs, sender_scores)
    unrelated = ~people.related & people.foreign
    suspect = (people.base >= threshold) & unrelated
    per_beneficiary = people.group_by("beneficiary_entity").aggregate(
        suspects=suspect.sum(), unrelated=unrelated.sum()
    )
    # Only the sender's own payments to unrelated people: a relative who sends a household
    # family money is not a co-payer of whoever else pays it.
    own_pairs = (
        pairs.filter(pairs.hr & ~pairs.related)
        .select("sender_entity", "beneficiary_entity")
        .distinct()
    )
    self_row = people.select(
        "sender_entity",
        "beneficiary_entity",
        self_unrelated=unrelated.cast("int64"),
        self_suspect=suspect.cast("int64"),
    )
    own = own_pairs.join(per_beneficiary, "beneficiary_entity").join(
        self_row, ["sender_entity", "beneficiary_entity"]
    )
    links = own.select(
        "sender_entity",
        suspects=own.suspects - own.self_suspect,
        others=own.unrelated - own.self_unrelated,
    )
    per_person = (
        links.group_by("sender_entity")
        .aggregate(suspicious_co_payers=_.suspects.sum(), co_payer_links=_.others.sum())
        .mutate(
            # A popular shop's customers are mostly ordinary: the share, not the count, tells.
            co_payer_suspicion=ibis.ifelse(
                _.co_payer_links > 0, _.suspicious_co_payers / _.co_payer_links, 0.0
            )
        )
    )
    accounts = pairs.select("sender_id", "sender_entity").distinct().view()
    return (
        accounts.join(per_person, "sender_entity")
        .drop("sender_entity")
        .rename(party_id="sender_id")
    )


def reporter_network_features(
    pairs: ir.Table, reporters: ir.Table, sender_scores: ir.Table, threshold: float
) -> ir.Table:
    """FIU mode: per sender id, what `vigil share` tells an institution about it (the
    collaboration indicator N6), from the pooled payments: of its unrelated beneficiaries in
    high-risk countries, how many are also paid by suspicious unrelated people at other
    reporters, and how many such payers there are. Suspicious by their round-two scores,
    which have taken in their own network: an offender spread over two remitters whose id
    at one pays a facilitator whom, at the other, a payer known by his network pays too.
    `reporters`: sender_id, reporter; `sender_scores`: party_id, score (round two)."""
    payers = (
        pairs.filter(~pairs.related)
        .join(reporters, "sender_id")
        .join(sender_scores.select(sender_id="party_id", score="score"), "sender_id")
    )
    suspicious = payers.filter(payers.score >= threshold).select(
        "beneficiary_entity", payer="sender_entity", payer_reporter="reporter"
    )
    own = (
        pairs.filter(pairs.hr & ~pairs.related)
        .join(reporters, "sender_id")
        .select("sender_id", "sender_entity", "beneficiary_entity", "reporter")
        .distinct()
    )
    linked = own.join(suspicious, "beneficiary_entity")
    linked = linked.filter(
        (linked.payer != linked.sender_entity) & (linked.payer_reporter != linked.reporter)
    )
    per_beneficiary = linked.group_by("sender_id", "beneficiary_entity").aggregate(
        payers=_.payer.nunique()
    )
    return (
        per_beneficiary.group_by("sender_id")
        .aggregate(
            elsewhere_flagged_beneficiaries=_.beneficiary_entity.nunique(),
            elsewhere_suspicious_co_payers=_.payers.sum(),
        )
        .rename(party_id="sender_id")
    )
