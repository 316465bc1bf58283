"""Per-sender, per-beneficiary and per-pair features as Ibis expressions over payment facts."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from vigil.features.contrast import (
    NO_RHYTHM,
    beneficiary_contrast_features,
    sender_contrast_features,
)
from vigil.features.payments import PURPOSE_PREFIX, name_key

QUICK_REPEAT_SECONDS = 2 * 3600


def _fill(table: ir.Table, keep: set[str]) -> ir.Table:
    """Counts and shares absent for a party are zero; a rhythm absent is no rhythm at all."""
    return table.mutate(
        **{
            name: table[name].fill_null(NO_RHYTHM if name.endswith("_rhythm_cv") else 0)
            for name, dtype in table.schema().items()
            if name not in keep and (dtype.is_numeric() or dtype.is_boolean())
        }
    )


def _join_all(base: ir.Table, key: str, parts: list[ir.Table]) -> ir.Table:
    out = base
    for part in parts:
        out = out.left_join(part, out[key] == part[key]).drop(f"{key}_right")
    return out


def _most_distinct_within_90_days(table: ir.Table, key: str, counted: str, name: str) -> ir.Table:
    """Most distinct `counted` per `key` within 90 days: two tumbling grids offset by 45 days
    catch any 45-day window whole, without a sliding distinct count."""
    grids = [
        table.group_by(key, bucket=(table.epoch_day + shift) // 90)
        .aggregate(n=table[counted].nunique())
        .select(key, "n")
        for shift in (0, 45)
    ]
    return grids[0].union(grids[1]).group_by(key).aggregate(**{name: _.n.max()})


def _variant_accounts(keyed: ir.Table, same: list[str]) -> ir.Table:
    """(beneficiary_id, other): another account agreeing with it on every column of `same`."""
    other = keyed.view()
    condition = [keyed[c] == other[c] for c in same]
    return keyed.join(other, [*condition, keyed.beneficiary_id != other.beneficiary_id]).select(
        beneficiary_id=keyed.beneficiary_id, other=other.beneficiary_id
    )


def pair_features(facts: ir.Table) -> ir.Table:
    """One row per sender–beneficiary pair, with how many of its payments state each purpose
    of the catalogue (`purpose_<p>` facts → `purpose_<p>_payments`): what a beneficiary's
    other payers say their money is for, read by each of its payers."""
    stated = {
        f"{column}_payments": facts[column].cast("int64").sum()
        for column in facts.columns
        if column.startswith(PURPOSE_PREFIX)
    }
    return facts.group_by("sender_id", "beneficiary_id").aggregate(
        sender_entity=_.sender_entity.arbitrary(),
        beneficiary_entity=_.beneficiary_entity.arbitrary(),
        payments=_.count(),
        amount_usd=_.amount_reporting.sum(),
        related=_.related.any(),
        hr=_.hr.any(),
        foreign=_.foreign.any(),
        small_payments=_.small.sum(),
        first_ts=_.ts_utc.min(),
        last_ts=_.ts_utc.max(),
        **stated,
    )


def beneficiary_unrelated_payers(pairs: ir.Table) -> ir.Table:
    """Per beneficiary person: foreign senders (people) sharing no surname with it."""
    unrelated = pairs.filter(~pairs.related & pairs.foreign)
    return unrelated.group_by("beneficiary_entity").aggregate(
        unrelated_payers=_.sender_entity.nunique()
    )


def sender_features(
    payments: ir.Table,
    facts: ir.Table,
    pairs: ir.Table,
    purposes: list[str],
    households_of: ir.Table | None = None,
) -> ir.Table:
    hr = facts.filter(facts.hr)
    hr_small = hr.filter(hr.small)

    base = payments.group_by("sender_id").aggregate(
        name=_.sender_name.arbitrary(),
        country=_.sender_country.arbitrary(),
        payments=_.count(),
        total_usd=_.amount_reporting.sum(),
        first_ts=_.ts_utc.min(),
        last_ts=_.ts_utc.max(),
    )
    hr_totals = hr.group_by("sender_id").aggregate(
        hr_payments=_.count(),
        hr_value=_.amount_reporting.sum(),
        hr_evening_share=_.beneficiary_evening.mean(),
        hr_night_share=_.sender_night.mean(),
        hr_cover_narrative_share=_.cover_narrative.mean(),
        hr_round_share=_.round_amount.mean(),
        hr_unrelated_value_share=(_.amount_reporting * (~_.related).cast("float64")).sum()
        / _.amount_reporting.sum(),
        hr_beneficiaries=_.beneficiary_entity.nunique(),
    )

    # R1: small payments to high-risk countries in a sliding 30-day window.
    w30 = ibis.window(
        group_by="sender_id", order_by="ts_utc", preceding=ibis.interval(days=30), following=0
    )
    rolling = hr_small.select("sender_id", in_30d=hr_small.ts_utc.count().over(w30))
    r1 = rolling.group_by("sender_id").aggregate(hr_small_30d_max=_.in_30d.max())
    monthly = hr_small.group_by("sender_id", "month").aggregate(n=_.count())
    busy = monthly.group_by("sender_id").aggregate(
        hr_small_busy_months=(_.n >= 4).sum(), hr_small_active_months=_.count()
    )
    # R16: the longest run of consecutive months with small high-risk payments.
    islands = monthly.mutate(
        island=_.month.year() * 12
        + _.month.month()
        - ibis.row_number().over(ibis.window(group_by="sender_id", order_by="month"))
    )
    runs = islands.group_by("sender_id", "island").aggregate(length=_.count())
    r16 = runs.group_by("sender_id").aggregate(hr_small_longest_run_months=_.length.max())

    # R2: distinct unrelated beneficiaries (people, not wallets) within 90 days.
    r2 = _most_distinct_within_90_days(
        hr.filter(~hr.related),
        "sender_id",
        "beneficiary_entity",
        "hr_unrelated_beneficiaries_90d_max",
    )

    # R6: top-ups to one beneficiary the same day, minutes apart (sender's local calendar);
    # several payees paid on one payday is a different, ordinary pattern.
    daily = hr.group_by("sender_id", "beneficiary_id", "sender_day").aggregate(n=_.count())
    r6_days = daily.group_by("sender_id").aggregate(
        hr_burst_days=(_.n >= 2).sum(), hr_max_per_day=_.n.max()
    )
    previous = hr.ts_utc.lag().over(
        ibis.window(group_by=["sender_id", "beneficiary_id"], order_by="ts_utc")
    )
    gap = hr.ts_utc.epoch_seconds() - previous.epoch_seconds()
    r6_gaps = (
        hr.select("sender_id", gap=gap)
        .group_by("sender_id")
        .aggregate(hr_quick_repeats=(_.gap < QUICK_REPEAT_SECONDS).sum())
    )

    # R7: last three active months against the first three.
    all_monthly = hr.group_by("sender_id", "month").aggregate(
        n=_.count(), v=_.amount_reporting.sum()
    )
    ranked = all_monthly.mutate(
        first=ibis.row_number().over(ibis.window(group_by="sender_id", order_by="month")),
        last=ibis.row_number().over(group_by="sender_id", order_by=ibis.desc("month")),
        months=_.count().over(group_by="sender_id"),
    ).filter(_.months >= 6)
    r7 = (
        ranked.group_by("sender_id")
        .aggregate(
            first_n=_.n.sum(where=_.first < 3),
            last_n=_.n.sum(where=_.last < 3),
            first_v=_.v.sum(where=_.first < 3),
            last_v=_.v.sum(where=_.last < 3),
        )
        .select(
            "sender_id",
            escalation_ratio=ibis.least(_.last_n / _.first_n, _.last_v / _.first_v),
        )
    )

    # R4: the sender's high-risk beneficiaries that other unrelated foreign senders pay too.
    payers = beneficiary_unrelated_payers(pairs)
    hr_pairs = pairs.filter(pairs.hr).left_join(payers, "beneficiary_entity")
    others = hr_pairs.unrelated_payers.fill_null(0) - ibis.ifelse(
        ~hr_pairs.related & hr_pairs.foreign, 1, 0
    )
    r4 = (
        hr_pairs.select("sender_id", others=others)
        .group_by("sender_id")
        .aggregate(shared_hr_beneficiaries=(_.others >= 1).sum(), co_payers=_.others.sum())
    )

    parts = [hr_totals, r1, busy, r16, r2, r6_days, r6_gaps, r7, r4]
    parts += sender_contrast_features(payments, facts, pairs, purposes, households_of)
    out = _fill(_join_all(base, "sender_id", parts), keep={"name", "country"})
    return out.rename(party_id="sender_id")


def person_pairs(pairs: ir.Table) -> ir.Table:
    """`pair_features` folded per sender person (`sender_id` is the person's entity id): two
    ids of one customer paying one beneficiary are one pair."""
    stated = {
        column: pairs[column].sum()
        for column in pairs.columns
        if column.startswith(PURPOSE_PREFIX) and column.endswith("_payments")
    }
    return (
        pairs.group_by("sender_entity", "beneficiary_id")
        .aggregate(
            beneficiary_entity=_.beneficiary_entity.arbitrary(),
            payments=_.payments.sum(),
            amount_usd=_.amount_usd.sum(),
            related=_.related.any(),
            hr=_.hr.any(),
            foreign=_.foreign.any(),
            small_payments=_.small_payments.sum(),
            first_ts=_.first_ts.min(),
            last_ts=_.last_ts.max(),
            **stated,
        )
        .mutate(sender_id=_.sender_entity)
    )


def person_sender_features(
    payments: ir.Table,
    facts: ir.Table,
    pairs: ir.Table,
    purposes: list[str],
    sender_entities: ir.Table,
    households_of: ir.Table | None = None,
) -> ir.Table:
    """`sender_features` of each sender id from all the payments of its person (resolved
    entity): an offender who spreads his payments over two remitters, or pays under two
    customer ids, shows the pattern of all of them at each id, as one institution seeing
    everything would see it (issue 16). Name and country stay each id's own. `pairs`:
    `pair_features` per id; `facts` carry `sender_entity`."""
    people = sender_entities.select(account="party_id", person="entity_id")
    own = payments.group_by("sender_id").aggregate(
        name=_.sender_name.arbitrary(), country=_.sender_country.arbitrary()
    )
    accounts = own.left_join(people, own.sender_id == people.account)
    # A view: the person's features come from the same tables, which Ibis would otherwise
    # take for one relation joined to itself.
    accounts = accounts.select(
        "sender_id", "name", "country", person=ibis.coalesce(accounts.person, accounts.sender_id)
    ).view()
    paid = payments.left_join(people, payments.sender_id == people.account)
    paid = paid.mutate(sender_id=ibis.coalesce(paid.person, paid.sender_id)).drop(
        "account", "person"
    )
    persons = sender_features(
        paid,
        facts.mutate(sender_id=facts.sender_entity),
        person_pairs(pairs),
        purposes,
        households_of,
    ).drop("name", "country")
    persons = persons.rename(person="party_id")
    joined = accounts.join(persons, "person")
    return joined.select(
        party_id=joined.sender_id,
        name=joined.name,
        country=joined.country,
        **{c: joined[c] for c in persons.columns if c != "person"},
    )


def name_variant_accounts(payments: ir.Table, pairs: ir.Table) -> ir.Table:
    """B5 per beneficiary account: other accounts of the same person (resolved entity) or
    under the same name key, in the same country, sharing a sender (from `payments` and
    `pairs` of those senders)."""
    accounts = payments.select(
        "sender_id", "beneficiary_id", "beneficiary_country", "beneficiary_name"
    ).distinct()
    keyed = accounts.select(
        "sender_id",
        "beneficiary_id",
        "beneficiary_country",
        key=name_key(accounts.beneficiary_name),
    ).distinct()
    entities = pairs.select("sender_id", "beneficiary_id", key=pairs.beneficiary_entity)
    b5 = _variant_accounts(keyed, ["sender_id", "key", "beneficiary_country"]).union(
        _variant_accounts(entities, ["sender_id", "key"])
    )
    return b5.group_by("beneficiary_id").aggregate(name_variant_accounts=_.other.nunique())


def beneficiary_features(
    payments: ir.Table,
    facts: ir.Table,
    pairs: ir.Table,
    purposes: list[str],
    households_of: ir.Table | None = None,
) -> ir.Table:
    base = (
        payments.mutate(month=payments.ts_utc.truncate("M"))
        .group_by("beneficiary_id")
        .aggregate(
            name=_.beneficiary_name.arbitrary(),
            country=_.beneficiary_country.arbitrary(),
            payments=_.count(),
            total_usd=_.amount_reporting.sum(),
            payers=_.sender_id.nunique(),
            active_months=_.month.nunique(),
            first_ts=_.ts_utc.min(),
            last_ts=_.ts_utc.max(),
        )
    )
    # B1 and N5 count the senders (people) paying the person behind the account, whichever of
    # its wallets they use: each account carries its person's figures.
    unrelated = facts.filter(facts.foreign & ~facts.related)
    per_person = unrelated.group_by("beneficiary_entity").aggregate(
        unrelated_foreign_senders=_.sender_entity.nunique(),
        unrelated_demand_countries=_.sender_country.nunique(where=_.demand),
        sender_countries_list=_.sender_country.collect(
            distinct=True, order_by=_.sender_country
        ).join(", "),
    )
    per_person = per_person.left_join(
        _most_distinct_within_90_days(
            unrelated, "beneficiary_entity", "sender_entity", "unrelated_foreign_senders_90d_max"
        ),
        "beneficiary_entity",
    ).drop("beneficiary_entity_right")
    # pairs, not facts: one row per sender and account instead of one per payment
    accounts_of = pairs.select("beneficiary_id", "beneficiary_entity").distinct()
    b1 = accounts_of.join(per_person, "beneficiary_entity").drop("beneficiary_entity")
    b2 = facts.group_by("beneficiary_id").aggregate(
        small_foreign_inflows=(_.small & _.foreign).sum(),
        unrelated_foreign_value_share=(
            _.amount_reporting * (_.foreign & ~_.related).cast("float64")
        ).sum()
        / _.amount_reporting.sum(),
    )
    b5 = name_variant_accounts(payments, pairs)
    contrast = beneficiary_contrast_features(payments, facts, pairs, purposes, households_of)
    out = _join_all(base, "beneficiary_id", [b1, b2, b5, *contrast])
    out = _fill(out, keep={"name", "country", "sender_countries_list"}).mutate(
        small_foreign_inflows_per_active_month=_.small_foreign_inflows / _.active_months,
        sender_countries_list=_.sender_countries_list.fill_null(""),
    )
    return out.rename(party_id="beneficiary_id")
