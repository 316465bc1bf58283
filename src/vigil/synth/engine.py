"""The population engine: one generic simulation, parameterised by each population of a scenario.

Everything is drawn as arrays: per party, then per session, then per payment. A population
is senders of one kind, the beneficiaries they pay (their own, or a shared pool with
households, several accounts per person and spelling variants), and the payments between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from vigil.geo import main_time_zone
from vigil.synth import names
from vigil.synth.scenario import Beneficiaries, Population, Scenario, Weights
from vigil.synth.timing import US_PER_DAY, US_PER_SECOND, local_to_utc, month_start_day, weekday

# Senders of large countries live in several zones; the generator spreads them.
SENDER_ZONES: dict[str, dict[str, float]] = {
    "US": {
        "America/New_York": 0.45,
        "America/Chicago": 0.28,
        "America/Denver": 0.07,
        "America/Phoenix": 0.02,
        "America/Los_Angeles": 0.18,
    },
    "CA": {"America/Toronto": 0.6, "America/Vancouver": 0.22, "America/Edmonton": 0.18},
    "AU": {
        "Australia/Sydney": 0.4,
        "Australia/Melbourne": 0.25,
        "Australia/Brisbane": 0.2,
        "Australia/Perth": 0.1,
        "Australia/Adelaide": 0.05,
    },
}
PRIMARY_ACCOUNT_SHARE = 0.7  # payments to a person go mostly to their main account
PREFERRED_CHANNEL_SHARE = 0.8
SECOND_CITY_SHARE = 0.3  # extra accounts collected in another city


@dataclass(frozen=True)
class Simulated:
    """One population's parties and payments, with indices local to the population."""

    senders: pl.DataFrame  # sender, name, country, zone, role, segment
    accounts: pl.DataFrame  # account, person, household, name, country, city, role
    payments: pl.DataFrame  # sender, account, utc_us, amount_usd, channel, narrative


def _pick(rng: np.random.Generator, weights: Weights, size: int) -> np.ndarray:
    keys = np.asarray(sorted(weights), dtype=object)
    p = np.asarray([weights[k] for k in keys], dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def _sender_zones(rng: np.random.Generator, countries: np.ndarray) -> np.ndarray:
    zones = np.empty(len(countries), dtype=object)
    main = main_time_zone()
    for country in np.unique(countries):
        rows = np.flatnonzero(countries == country)
        spread = SENDER_ZONES.get(country)
        zones[rows] = _pick(rng, spread, len(rows)) if spread else main[country]
    return zones


def _text(values: np.ndarray) -> pl.Series:
    """Object arrays of str / None (NumPy's way to hold text) as a Polars string column."""
    return pl.Series(values.tolist(), dtype=pl.String)


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def _position_in_run(counts: np.ndarray) -> np.ndarray:
    """0, 1, 2 … within each run of `counts` (the i-th item of its group)."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(_offsets(counts), counts)


class PopulationSimulator:
    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self.scenario = scenario
        self.rng = rng
        self.start = scenario.start
        end_month = scenario.start.month - 1 + scenario.months
        self.end = date(scenario.start.year + end_month // 12, end_month % 12 + 1, 1)
        self.epoch_day = (self.start - date(1970, 1, 1)).days
        self.days = (self.end - self.start).days

    # --- senders -------------------------------------------------------------------------
    def run(self, pop: Population, n: int) -> Simulated:
        rng = self.rng
        countries_w = (
            self.scenario.institution_countries
            if pop.sender_countries == "institution"
            else pop.sender_countries
        )
        country = _pick(rng, countries_w, n)
        destination = _pick(rng, pop.destinations, n)
        culture_source = destination if pop.sender_culture == "destination" else country
        culture = np.asarray([names.culture_of(c) for c in culture_source], dtype=object)
        given, surname = names.draw_person_names(rng, culture, np.full(n, 1 - pop.male_share))

        persons, sender_slots, slot_start, k = self._beneficiaries(
            pop.beneficiaries, destination, surname
        )
        # Senders who joined a relative's household carry that household's surname.
        surname = np.where(persons["joined_surname"] != None, persons["joined_surname"], surname)  # noqa: E711
        accounts, acc_start, acc_count = self._accounts(pop.beneficiaries, persons["frame"])

        sessions = self._sessions(pop, n)
        s_party = sessions["party"]
        x = sessions["x"]

        # Which beneficiary each session pays: the main one, or a secondary (in turn if churning).
        lo, hi = pop.beneficiaries.main_share
        main_share = rng.uniform(lo, hi, n)[s_party]
        ks = k[s_party]
        secondary_slot = np.where(
            pop.beneficiaries.churn,
            1 + np.floor(x * (ks - 1)).astype(np.int64),
            1 + rng.integers(0, np.maximum(ks - 1, 1)),
        )
        slot = np.where((ks > 1) & (rng.random(len(x)) >= main_share), secondary_slot, 0)
        slot = np.minimum(slot, ks - 1)
        person = sender_slots[slot_start[s_party] + slot]

        zone_sender = _sender_zones(rng, country)
        zone_person = np.asarray(
            [main_time_zone()[c] for c in persons["frame"]["country"].to_list()], dtype=object
        )
        clock_zone = zone_sender[s_party] if pop.timing.clock == "sender" else zone_person[person]
        local_us = self._local_times(pop, n, s_party, sessions["day"])
        session_utc = local_to_utc(local_us, clock_zone)

        # Further payments within a session, minutes apart (top-ups, retries of a session).
        extra = (
            rng.geometric(1 - pop.rate.extra_payment_p, len(x)) - 1
            if pop.rate.extra_payment_p > 0
            else np.zeros(len(x), np.int64)
        )
        per_session = 1 + extra
        p_session = np.repeat(np.arange(len(x)), per_session)
        gaps = rng.exponential(
            pop.rate.extra_payment_gap_minutes * 60 * US_PER_SECOND, len(p_session)
        )
        gaps[_offsets(per_session)] = 0
        within = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[_offsets(per_session)], per_session)
        utc_us = session_utc[p_session] + within.astype(np.int64)
        p_party = s_party[p_session]
        p_x = x[p_session]
        p_person = person[p_session]

        primary = rng.random(len(p_session)) < PRIMARY_ACCOUNT_SHARE
        account = acc_start[p_person] + np.where(primary, 0, rng.integers(0, acc_count[p_person]))

        amount_usd = self._amounts(pop, n, p_party, p_x, sessions["escalating"])
        channel = self._per_party_choice(pop.channels, n, p_party, PREFERRED_CHANNEL_SHARE)
        narrative = self._narratives(pop, n, p_party)

        segment = np.where(
            sessions["light"], "light", np.where(sessions["escalating"], "escalating", "")
        )
        senders = pl.DataFrame(
            {
                "sender": np.arange(n),
                "name": _text(given + " " + surname),
                "country": _text(country),
                "zone": _text(zone_sender),
                "role": pop.role,
                "segment": segment,
            },
        )
        payments = pl.DataFrame(
            {
                "sender": p_party,
                "account": account,
                "utc_us": utc_us,
                "amount_usd": amount_usd,
                "channel": _text(channel),
                "narrative": _text(narrative),
            },
        )
        return Simulated(senders=senders, accounts=accounts, payments=payments)

    # --- beneficiaries -------------------------------------------------------------------
    def _beneficiaries(
        self, spec: Beneficiaries, destination: np.ndarray, sender_surname: np.ndarray
    ) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
        """Persons (or organisations) paid by these senders, and each sender's ordered list."""
        rng = self.rng
        n = len(destination)
        k = np.minimum(1 + rng.poisson(spec.per_sender_mean - 1, n), spec.per_sender_max)
        if spec.sharing == "own":
            return self._own_beneficiaries(spec, destination, sender_surname, k)
        return self._shared_beneficiaries(spec, destination, k)

    def _own_beneficiaries(
        self,
        spec: Beneficiaries,
        destination: np.ndarray,
        sender_surname: np.ndarray,
        k: np.ndarray,
    ) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
        rng = self.rng
        n = len(destination)
        # Some senders pay the household of a relative who also sends (siblings abroad).
        joins = np.full(n, -1)
        wants = np.flatnonzero(rng.random(n) < spec.joint_household_share)
        for country in np.unique(destination):
            founders = np.flatnonzero(destination == country)
            founders = np.setdiff1d(founders, wants)
            joiners = np.intersect1d(wants, np.flatnonzero(destination == country))
            if len(founders):
                joins[joiners] = founders[rng.integers(0, len(founders), len(joiners))]
        own = joins < 0
        n_persons = np.where(own, k, 0)
        person_sender = np.repeat(np.arange(n), n_persons)
        m = len(person_sender)
        culture = np.asarray(
            [names.culture_of(c) for c in destination[person_sender]], dtype=object
        )
        given, surname = names.draw_person_names(rng, culture, np.full(m, spec.female_share))
        linked = rng.random(m) < spec.surname_link_share
        surname = np.where(linked, sender_surname[person_sender], surname)
        frame = self._person_frame(
            spec, given, surname, destination[person_sender], household=person_sender
        )
        first_person = _offsets(n_persons)
        # A joiner pays the founder's household: same list of persons.
        slot_owner = np.where(own, np.arange(n), joins)
        k_eff = n_persons[slot_owner]
        slot_start = first_person[slot_owner]
        joined_surname = np.full(n, None, dtype=object)
        founders_with_link = joins[~own]
        if len(founders_with_link):
            first = first_person[founders_with_link]
            joined_surname[~own] = surname[first]
        return (
            {"frame": frame, "joined_surname": joined_surname},
            np.arange(m),
            slot_start,
            k_eff,
        )

    def _shared_beneficiaries(
        self, spec: Beneficiaries, destination: np.ndarray, k: np.ndarray
    ) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
        rng = self.rng
        n = len(destination)
        frames, slot_of_sender = [], np.zeros(n, np.int64)
        k_out = np.zeros(n, np.int64)
        person_base = 0
        slot_chunks: list[np.ndarray] = []
        slot_cursor = 0
        for country in sorted(np.unique(destination)):
            rows = np.flatnonzero(destination == country)
            links = int(k[rows].sum())
            pool = max(1, int(np.ceil(links / spec.senders_per_beneficiary)))
            hh_size = 1 + rng.poisson(spec.household_size_mean - 1, pool)
            hh_size = hh_size[: np.searchsorted(np.cumsum(hh_size), pool) + 1]
            hh_size[-1] -= max(0, int(hh_size.sum()) - pool)
            household = np.repeat(np.arange(len(hh_size)), hh_size)
            hh_weight = 1 + rng.pareto(spec.popularity_alpha, len(hh_size))
            weight = hh_weight[household] * rng.uniform(0.5, 1.0, pool)
            p = weight / weight.sum()
            culture = np.full(pool, names.culture_of(country), dtype=object)
            if spec.kind == "person":
                given, surname = names.draw_person_names(
                    rng, culture, np.full(pool, spec.female_share)
                )
                family_name = names.draw_surnames(rng, culture[: len(hh_size)])
                surname = family_name[household]
            else:
                given = names.draw_organisation_names(rng, spec.kind, pool)
                surname = np.full(pool, "", dtype=object)
            frames.append(
                self._person_frame(
                    spec,
                    given,
                    surname,
                    np.full(pool, country, dtype=object),
                    household=household + person_base,
                ).with_columns(pl.col("person") + person_base)
            )
            # Each sender draws its beneficiaries by popularity; a household member may follow.
            draws = rng.choice(pool, size=links, p=p)
            spread = rng.random(links) < spec.household_spread
            hh_first = _offsets(hh_size)
            mate = hh_first[household[draws]] + rng.integers(0, hh_size[household[draws]])
            draws = np.where(spread, mate, draws)
            owner = np.repeat(rows, k[rows])
            chosen = pl.DataFrame({"owner": owner, "person": draws, "order": np.arange(links)})
            chosen = chosen.unique(["owner", "person"], keep="first", maintain_order=True)
            counts = chosen.group_by("owner", maintain_order=True).len()
            k_out[counts["owner"].to_numpy()] = counts["len"].to_numpy()
            slot_of_sender[counts["owner"].to_numpy()] = slot_cursor + _offsets(
                counts["len"].to_numpy()
            )
            slot_chunks.append(chosen["person"].to_numpy() + person_base)
            slot_cursor += len(chosen)
            person_base += pool
        frame = pl.concat(frames)
        slots = np.concatenate(slot_chunks)
        return (
            {"frame": frame, "joined_surname": np.full(n, None, dtype=object)},
            slots,
            slot_of_sender,
            k_out,
        )

    def _person_frame(
        self,
        spec: Beneficiaries,
        given: np.ndarray,
        surname: np.ndarray,
        country: np.ndarray,
        household: np.ndarray,
    ) -> pl.DataFrame:
        rng = self.rng
        m = len(given)
        city = np.empty(m, dtype=object)
        for c in np.unique(country):
            rows = np.flatnonzero(country == c)
            pool = np.asarray(self.scenario.cities[c], dtype=object)
            hot = np.asarray(self.scenario.hotspot_cities.get(c, []), dtype=object)
            city[rows] = pool[rng.integers(0, len(pool), len(rows))]
            if len(hot) and spec.hotspot_share > 0:
                to_hot = rows[rng.random(len(rows)) < spec.hotspot_share]
                city[to_hot] = hot[rng.integers(0, len(hot), len(to_hot))]
        # Members of one household live in one city.
        first_of_household = (
            pl.DataFrame({"h": household, "i": np.arange(m)})
            .group_by("h", maintain_order=True)
            .agg(pl.col("i").first())
        )
        lead = dict(
            zip(first_of_household["h"].to_list(), first_of_household["i"].to_list(), strict=True)
        )
        city = city[np.asarray([lead[h] for h in household], dtype=np.int64)] if m else city
        return pl.DataFrame(
            {
                "person": np.arange(m),
                "household": household,
                "given": given,
                "surname": surname,
                "country": country,
                "city": city,
                "role": spec.role,
            },
            schema={
                "person": pl.Int64,
                "household": pl.Int64,
                "given": pl.String,
                "surname": pl.String,
                "country": pl.String,
                "city": pl.String,
                "role": pl.String,
            },
        )

    def _accounts(
        self, spec: Beneficiaries, persons: pl.DataFrame
    ) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
        """Each person's accounts / wallets; extra ones often under a spelling variant."""
        rng = self.rng
        m = persons.height
        count = 1 + rng.poisson(spec.accounts_per_person_mean - 1, m)
        owner = np.repeat(np.arange(m), count)
        nth = _position_in_run(count)
        given = persons["given"].to_numpy()[owner]
        surname = persons["surname"].to_numpy()[owner]
        is_org = spec.kind != "person"
        canonical = given if is_org else given + " " + surname
        variant = (nth > 0) & (rng.random(len(owner)) < spec.variant_share) & (not is_org)
        name = canonical.copy()
        for i in np.flatnonzero(variant):  # a few per person: spelling rules are per string
            name[i] = names.spelling_variant(given[i], surname[i], rng)
        city = persons["city"].to_numpy()[owner]
        country = persons["country"].to_numpy()[owner]
        moved = (nth > 0) & (rng.random(len(owner)) < SECOND_CITY_SHARE)
        for c in np.unique(country[moved]):
            rows = np.flatnonzero(moved & (country == c))
            pool = np.asarray(self.scenario.cities[c], dtype=object)
            city[rows] = pool[rng.integers(0, len(pool), len(rows))]
        accounts = pl.DataFrame(
            {
                "account": np.arange(len(owner)),
                "person": persons["person"].to_numpy()[owner],
                "household": persons["household"].to_numpy()[owner],
                "name": _text(name),
                "country": _text(country),
                "city": _text(city),
                "role": spec.role,
            },
        )
        return accounts, _offsets(count), count

    # --- sessions, times, amounts ------------------------------------------------------
    def _sessions(self, pop: Population, n: int) -> dict[str, np.ndarray]:
        """When each party is active, how many sessions it pays for, and where in its span."""
        rng = self.rng
        rate = pop.rate
        duration = np.exp(
            rng.normal(np.log(rate.active_years_median * 365.25), rate.active_years_sigma, n)
        )
        begin = rng.uniform(-duration, self.days)
        end = np.minimum(begin + duration, self.days)
        begin = np.maximum(begin, 0)
        end = np.maximum(end, np.minimum(begin + 14, self.days))
        begin = np.minimum(begin, end - 1)
        months = (end - begin) / 30.44

        level = rng.gamma(rate.heterogeneity, rate.sessions_per_month / rate.heterogeneity, n)
        count = rng.poisson(level * months)
        regular = rng.random(n) < rate.regular_share
        count = np.where(regular, np.maximum(np.round(months), 1), count).astype(np.int64)
        light = rng.random(n) < rate.light_share
        lo, hi = rate.light_sessions
        count = np.where(light, rng.integers(lo, hi + 1, n), count)
        count = np.maximum(count, 1)
        escalating = (rng.random(n) < rate.escalation_share) & ~light & ~regular

        party = np.repeat(np.arange(n), count)
        u = rng.random(len(party))
        gain = np.where(escalating, rate.escalation_gain, 0.0)[party]
        # Inverse CDF of a density rising linearly by `gain` over the active span.
        ramp = (-1 + np.sqrt(1 + 2 * gain * u * (1 + gain / 2))) / np.where(gain > 0, gain, 1)
        x = np.where(gain > 0, ramp, u)
        nth = _position_in_run(count)
        x = np.where(regular[party], (nth + rng.uniform(0.3, 0.7, len(party))) / count[party], x)
        day = begin[party] + x * (end - begin)[party]
        return {
            "party": party,
            "x": np.clip(x, 0, 1),
            "day": day,
            "escalating": escalating,
            "light": light,
        }

    def _local_times(
        self, pop: Population, n: int, party: np.ndarray, day_float: np.ndarray
    ) -> np.ndarray:
        rng = self.rng
        timing = pop.timing
        day = np.floor(day_float).astype(np.int64)
        if timing.paydays and timing.payday_pull > 0:
            payday = np.asarray(timing.paydays)[rng.integers(0, len(timing.paydays), n)][party]
            pulled = rng.random(len(day)) < timing.payday_pull
            jitter = np.round(rng.normal(0, timing.payday_jitter_days, len(day))).astype(np.int64)
            snapped = month_start_day(day, self.epoch_day) + payday - 1 + jitter
            day = np.where(pulled, snapped, day)
        if timing.weekdays_only:
            dow = weekday(day, self.epoch_day)
            day = day + np.where(dow == 5, 2, np.where(dow == 6, 1, 0))
        day = np.clip(day, 0, self.days - 1)
        windows = timing.hours
        w = np.asarray([h.weight for h in windows])
        pick = rng.choice(len(windows), size=len(day), p=w / w.sum())
        starts = np.asarray([h.start for h in windows])[pick]
        ends = np.asarray([h.end for h in windows])[pick]
        hours = rng.uniform(starts, ends)
        seconds = np.floor(hours * 3600).astype(np.int64)
        return (self.epoch_day + day) * US_PER_DAY + seconds * US_PER_SECOND

    def _amounts(
        self, pop: Population, n: int, party: np.ndarray, x: np.ndarray, escalating: np.ndarray
    ) -> np.ndarray:
        rng = self.rng
        a = pop.amount
        level = a.median_usd * np.exp(rng.normal(0, a.party_sigma, n))
        growth = 1 + np.where(escalating[party], a.escalation_growth * x, 0.0)
        amount = level[party] * growth * np.exp(rng.normal(0, a.sigma, len(party)))
        return np.clip(amount, a.min_usd, a.max_usd)

    def _per_party_choice(
        self, weights: Weights, n: int, party: np.ndarray, loyalty: float
    ) -> np.ndarray:
        rng = self.rng
        preferred = _pick(rng, weights, n)[party]
        other = _pick(rng, weights, len(party))
        return np.where(rng.random(len(party)) < loyalty, preferred, other)

    def _narratives(self, pop: Population, n: int, party: np.ndarray) -> np.ndarray:
        rng = self.rng
        spec = pop.narratives
        if not spec.words:
            return np.full(len(party), None, dtype=object)
        words = {w: 1.0 for w in spec.words}
        text = self._per_party_choice(words, n, party, spec.favourite_share)
        habit = np.clip(rng.normal(spec.blank_share, 0.25, n), 0, 1)[party]
        return np.where(rng.random(len(party)) < habit, None, text)
