"""Per-payment facts every party feature is built from (Ibis expressions over `payments`)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from vigil.indicators.catalogue import Parameters

SECONDS_PER_DAY = 86_400
MIN_SURNAME_FOR_TYPO = 5  # letters: shorter surnames one letter apart are other names


def surname_of(name: ir.StringValue) -> ir.StringValue:
    """'SANTOS, Maria' → 'santos'; 'Maria C. Santos' → 'santos' (lower case, letters only)."""
    lowered = name.lower().strip()
    before_comma = lowered.re_extract(r"^([^,]+),", 1)
    last_word = lowered.re_extract(r"([\p{L}'-]+)\W*$", 1)
    return ibis.ifelse(lowered.contains(","), before_comma.strip(), last_word)


def name_tokens(name: ir.StringValue) -> ir.StringValue:
    """Letters-only lower-case words separated and padded by single spaces: ' maria santos '."""
    return " " + name.lower().re_replace(r"[^\p{L}]+", " ").strip() + " "


def name_key(name: ir.StringValue) -> ir.StringValue:
    """Order-, case- and initial-insensitive key of a name: 'SANTOS, Maria C.' → 'maria santos'."""
    words = name.lower().re_replace(r"[^\p{L}]+", " ").strip().split(" ")
    return words.filter(lambda w: w.length() >= 2).sort().join(" ")


def hour_in(hour: ir.IntegerValue, window: tuple[int, int]) -> ir.BooleanValue:
    start, end = window
    return (hour >= start) & (hour < end) if start < end else (hour >= start) | (hour < end)


def _name_facts(payments: ir.Table, params: Parameters) -> ir.Table:
    """Name-derived facts, computed once per distinct (sender name, beneficiary name) pair."""
    names = payments.select("sender_name", "beneficiary_name").distinct()
    sender_surname = surname_of(names.sender_name)
    shared = (sender_surname.length() >= 2) & name_tokens(names.beneficiary_name).contains(
        " " + sender_surname + " "
    )
    # Names are typed by hand at a counter or in an app: a surname one letter off
    # ("Ignaio" for Ignacio, "Saazar" for Salazar) is still the family's, when long enough
    # that one letter does not make another common name.
    slipped = (sender_surname.length() >= MIN_SURNAME_FOR_TYPO) & (
        sender_surname.levenshtein(surname_of(names.beneficiary_name)) == 1
    )
    related = shared | slipped
    person = ~names.beneficiary_name.lower().re_search(params.organisation_pattern)
    return names.mutate(related=related, person_to_person=person)


PURPOSE_PREFIX = "purpose_"


def purpose_column(purpose: str) -> str:
    return f"{PURPOSE_PREFIX}{purpose}"


def _narrative_facts(payments: ir.Table, params: Parameters) -> ir.Table:
    texts = payments.select(text=payments.narrative.fill_null("")).distinct()
    lowered = texts.text.lower()
    purposes = {
        purpose_column(p): lowered.re_search(params.purpose_pattern(p))
        for p in params.purpose_words
    }
    return texts.mutate(cover_narrative=lowered.re_search(params.cover_pattern), **purposes)


def payment_facts(
    payments: ir.Table,
    offsets: ir.Table,
    params: Parameters,
    sender_entities: ir.Table,
    beneficiary_entities: ir.Table,
) -> ir.Table:
    """One row per payment with the facts indicators test: corridor, band, local hours, links,
    and the resolved person behind each account (`*_entity`: counts of people, not wallets)."""
    p = payments.mutate(narrative_text=payments.narrative.fill_null(""))
    senders = sender_entities.select(sender_id="party_id", sender_entity="entity_id")
    beneficiaries = beneficiary_entities.select(
        beneficiary_id="party_id", beneficiary_entity="entity_id"
    )
    lo, hi = params.small_band_usd
    names = _name_facts(payments, params)
    texts = _narrative_facts(payments, params)
    local = (
        p.left_join(
            offsets,
            [
                p.beneficiary_country == offsets.country,
                p.ts_utc >= offsets.valid_from,
                p.ts_utc < offsets.valid_to,
            ],
        )
        .left_join(names, ["sender_name", "beneficiary_name"])
        .left_join(texts, p.narrative_text == texts.text)
        .left_join(senders, "sender_id")
        .left_join(beneficiaries, "beneficiary_id")
    )
    sender_local = local.ts_utc + local.sender_utc_offset_minutes.cast("int32").as_interval("m")
    # A payment known only by its date (ISO 20022 booking dates: ts_precision "date" in
    # `extra`) has no hour: hour-of-day facts are unknown (NULL), not noon.
    dated = local.extra["ts_precision"].str.fill_null("") == "date"
    no_hour = ibis.null().cast("boolean")
    beneficiary_local = local.ts_utc + local.offset_minutes.fill_null(0).as_interval("m")
    # Only what features read: names and texts stay in `payments`, facts stay narrow.
    return local.select(
        "ts_utc",
        "sender_id",
        "sender_country",
        "beneficiary_id",
        "amount_reporting",
        "related",
        "person_to_person",
        "cover_narrative",
        *[purpose_column(p) for p in params.purpose_words],
        sender_entity=local.sender_entity.fill_null(local.sender_id),
        beneficiary_entity=local.beneficiary_entity.fill_null(local.beneficiary_id),
        # R1's corridor is person-to-person: a shop or a charity there is not a facilitator.
        hr=local.beneficiary_country.isin(params.high_risk_countries) & local.person_to_person,
        small=(local.amount_reporting >= lo) & (local.amount_reporting <= hi),
        foreign=local.sender_country != local.beneficiary_country,
        demand=local.sender_country.isin(params.demand_countries),
        beneficiary_evening=ibis.ifelse(
            dated, no_hour, hour_in(beneficiary_local.hour(), params.beneficiary_evening_hours)
        ),
        sender_night=ibis.ifelse(
            dated, no_hour, hour_in(sender_local.hour(), params.sender_night_hours)
        ),
        sender_evening=ibis.ifelse(
            dated, no_hour, hour_in(sender_local.hour(), params.sender_evening_hours)
        ),
        sender_day=sender_local.date(),
        month=local.ts_utc.truncate("M").date(),
        round_amount=(local.amount % 5) == 0,
        epoch_day=(local.ts_utc.epoch_seconds() // SECONDS_PER_DAY).cast("int64"),
    )
