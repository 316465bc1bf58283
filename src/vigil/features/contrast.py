"""What tells the crime's pattern from its look-alikes, as features over payment facts.

The pattern stream of a sender is its person-to-person payments to unrelated people in
high-risk countries (family money to relatives is explained and left out, so a diaspora
offender's own remittances do not dilute it). Over that stream: the stated purposes
(children's needs, tips, visas, invoices, rent), the timing in both clocks, whether amounts
stay small or climb into the thousands, whether payments keep a salary-like rhythm, and
whether several members of one unrelated household are paid. Beneficiaries get the mirror
figures over their unrelated foreign inflows, and their household's other members paid by
the same senders.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from vigil.features.payments import purpose_column, surname_of

LARGE_USD = 1000  # beyond any published session price [S2][S3][S26][S30]
NO_RHYTHM = 9.0  # coefficient of variation given to streams too short to show a rhythm
MIN_GAPS_FOR_RHYTHM = 4
MIN_PAYMENTS_FOR_GROWTH = 6


def households(payments: ir.Table) -> ir.Table:
    """beneficiary_id → household key: the surname, city and country on the account."""
    accounts = payments.select(
        "beneficiary_id", "beneficiary_name", "beneficiary_city", "beneficiary_country"
    ).distinct()
    surname = surname_of(accounts.beneficiary_name)
    key = surname + "|" + accounts.beneficiary_city.fill_null("").lower() + "|"
    key = key + accounts.beneficiary_country
    # No filter on the surname before the grouping: DuckDB would push it below the DISTINCT
    # and run the regular expressions on every payment instead of every account.
    household = ibis.ifelse(surname.length() >= 2, key, ibis.null().cast("string"))
    keyed = accounts.select("beneficiary_id", household=household)
    return (
        keyed.group_by("beneficiary_id")
        .aggregate(household=_.household.min())
        .filter(_.household.notnull())
    )


def _growth(stream: ir.Table, key: str, name: str) -> ir.Table:
    """Median amount of the last third of a party's payments over that of the first third."""
    window = ibis.window(group_by=key, order_by=["ts_utc", "beneficiary_id"])
    counted = stream.mutate(
        nth=ibis.row_number().over(window), n=stream.ts_utc.count().over(group_by=key)
    )
    tiled = counted.mutate(tile=(counted.nth * 3) // counted.n)
    per = tiled.group_by(key).aggregate(
        first=_.amount_reporting.median(where=_.tile == 0),
        last=_.amount_reporting.median(where=_.tile == 2),
        n=_.count(),
    )
    ratio = ibis.ifelse(
        (per.n >= MIN_PAYMENTS_FOR_GROWTH) & (per.first > 0), per.last / per.first, 1.0
    )
    return per.select(key, **{name: ratio})


def _rhythm(stream: ir.Table, key: str, name: str) -> ir.Table:
    """Coefficient of variation of the days between a party's paying days: near 0 for a
    weekly lesson or a monthly salary, near 1 or more for sessions bought when they happen."""
    days = stream.select(key, "epoch_day").distinct()
    previous = days.epoch_day.lag().over(ibis.window(group_by=key, order_by="epoch_day"))
    gaps = days.select(key, gap=(days.epoch_day - previous).cast("float64")).filter(_.gap.notnull())
    per = gaps.group_by(key).aggregate(mean=_.gap.mean(), sd=_.gap.std(), n=_.count())
    cv = ibis.ifelse(
        (per.n >= MIN_GAPS_FOR_RHYTHM) & (per.mean > 0), per.sd.fill_null(0) / per.mean, NO_RHYTHM
    )
    return per.select(key, **{name: cv})


def _purpose_shares(stream: ir.Table, prefix: str, purposes: list[str]) -> dict:
    return {f"{prefix}_{p}_share": stream[purpose_column(p)].mean() for p in purposes}


def payee_purpose_shares(pairs: ir.Table, purposes: list[str]) -> ir.Table:
    """sender_id → `pattern_payee_<purpose>_share`: over the sender's pattern pairs (weighted
    by their payments), the share of the payee's payments from its other unrelated foreign
    payers that state the purpose. A performer's other customers pay tips and tokens, a
    tutor's other students pay for lessons, whether or not this sender writes anything: what
    the people paid are paid for is told by everyone who pays them. People, not ids, on both
    sides: a performer's second wallet is hers, an offender's second id is his own."""
    inflows = pairs.filter(pairs.foreign & ~pairs.related)
    stated = {p: f"{purpose_column(p)}_payments" for p in purposes}
    by_payer = inflows.group_by("beneficiary_entity", "sender_entity").aggregate(
        own_n=_.payments.sum(), **{f"own_{p}": _[c].sum() for p, c in stated.items()}
    )
    by_payee = inflows.group_by("beneficiary_entity").aggregate(
        all_n=_.payments.sum(), **{f"all_{p}": _[c].sum() for p, c in stated.items()}
    )
    pattern = pairs.filter(pairs.hr & ~pairs.related).select(
        "sender_id", "sender_entity", "beneficiary_entity", "payments"
    )
    joined = pattern.left_join(by_payee, "beneficiary_entity").left_join(
        by_payer,
        [
            pattern.beneficiary_entity == by_payer.beneficiary_entity,
            pattern.sender_entity == by_payer.sender_entity,
        ],
    )
    others = joined.all_n.fill_null(0) - joined.own_n.fill_null(0)
    weighted = {
        p: joined.payments
        * ibis.ifelse(
            others > 0,
            (joined[f"all_{p}"].fill_null(0) - joined[f"own_{p}"].fill_null(0)) / others,
            0.0,
        )
        for p in purposes
    }
    per_pair = joined.select("sender_id", "payments", **{f"w_{p}": w for p, w in weighted.items()})
    return per_pair.group_by("sender_id").aggregate(
        **{f"pattern_payee_{p}_share": _[f"w_{p}"].sum() / _.payments.sum() for p in purposes}
    )


def sender_contrast_features(
    payments: ir.Table,
    facts: ir.Table,
    pairs: ir.Table,
    purposes: list[str],
    households_of: ir.Table | None = None,
) -> list[ir.Table]:
    """Tables keyed by sender_id, to join onto the sender features (`households_of`:
    `households(payments)`, when the caller has it already)."""
    hr = facts.filter(facts.hr)
    pattern = hr.filter(~hr.related)
    shares = pattern.group_by("sender_id").aggregate(
        pattern_payments=_.count(),
        pattern_evening_share=_.beneficiary_evening.mean(),
        pattern_sender_evening_share=_.sender_evening.mean(),
        pattern_large_share=(_.amount_reporting >= LARGE_USD).mean(),
        **_purpose_shares(pattern, "pattern", purposes),
    )
    related = hr.group_by("sender_id").aggregate(
        related_value_share=(_.amount_reporting * _.related.cast("float64")).sum()
        / _.amount_reporting.sum()
    )
    households_of = households(payments) if households_of is None else households_of
    paid = pairs.filter(pairs.hr & ~pairs.related).join(households_of, "beneficiary_id")
    members = paid.group_by("sender_id", "household").aggregate(
        members=_.beneficiary_entity.nunique()
    )
    multi = (
        members.filter(members.members >= 2)
        .group_by("sender_id")
        .aggregate(pattern_households_multi=_.count())
    )
    rhythm = _rhythm(pattern, "sender_id", "pattern_rhythm_cv")
    growth = _growth(pattern, "sender_id", "pattern_amount_growth")
    # Month after month, payments in the beneficiary's evening: persistence and timing at
    # once, what a low-and-slow payer of one exclusive facilitator still shows.
    evening_months = (
        pattern.filter(pattern.beneficiary_evening)
        .group_by("sender_id")
        .aggregate(pattern_evening_months=_.month.nunique())
    )
    payees = payee_purpose_shares(pairs, purposes)
    return [shares, related, multi, rhythm, growth, evening_months, payees]


def beneficiary_contrast_features(
    payments: ir.Table,
    facts: ir.Table,
    pairs: ir.Table,
    purposes: list[str],
    households_of: ir.Table | None = None,
) -> list[ir.Table]:
    """Tables keyed by beneficiary_id, to join onto the beneficiary features
    (`households_of` as for `sender_contrast_features`)."""
    inflows = facts.filter(facts.foreign & ~facts.related)
    shares = inflows.group_by("beneficiary_id").aggregate(
        inflow_large_share=(_.amount_reporting >= LARGE_USD).mean(),
        inflow_sender_evening_share=_.sender_evening.mean(),
        **_purpose_shares(inflows, "inflow", purposes),
    )
    related = facts.group_by("beneficiary_id").aggregate(
        related_inflow_share=(_.amount_reporting * _.related.cast("float64")).sum()
        / _.amount_reporting.sum()
    )
    households_of = households(payments) if households_of is None else households_of
    co = household_co_recipients(pairs, households_of)
    rhythm = _rhythm(inflows, "beneficiary_id", "inflow_rhythm_cv")
    return [shares, related, co, rhythm]


def household_co_recipients(pairs: ir.Table, households_of: ir.Table) -> ir.Table:
    """beneficiary_id → other people of its household (surname, city) paid by the same
    unrelated foreign senders: the "family operation" of the published cases [S19][S27]."""
    links = (
        pairs.filter(~pairs.related & pairs.foreign)
        .select("sender_entity", "beneficiary_id", "beneficiary_entity")
        .join(households_of, "beneficiary_id")
    )
    other = links.view()
    mates = links.join(
        other,
        [
            links.sender_entity == other.sender_entity,
            links.household == other.household,
            links.beneficiary_entity != other.beneficiary_entity,
        ],
    ).select(beneficiary_id=links.beneficiary_id, mate=other.beneficiary_entity)
    return mates.group_by("beneficiary_id").aggregate(household_co_recipients=_.mate.nunique())
