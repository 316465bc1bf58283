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
from vigil.synth.scenario import Beneficiaries, Population, Rate, Scenario, Stream, Weights
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
_ACCOUNT_SCHEMA = {
    "account": pl.Int64,
    "person": pl.Int64,
    "household": pl.Int64,
    "name": pl.String,
    "country": pl.String,
    "city": pl.String,
    "role": pl.String,
}


@dataclass(frozen=True)
class Pool:
    """A population's shared beneficiaries, which other populations' senders may pay too."""

    population: int  # the scenario index of the population that owns the accounts
    persons: pl.DataFrame  # person, household, given, surname, country, city, role, weight
    acc_start: np.ndarray  # first account of each person (in the owner's account numbering)
    acc_count: np.ndarray
    churn_days: np.ndarray  # > 0: the person opens a new wallet every this many days
    churn_phase: np.ndarray


@dataclass(frozen=True)
class Simulated:
    """One population's parties and payments, with indices local to the population."""

    senders: pl.DataFrame  # sender, person, name, country, zone, role, segment
    accounts: pl.DataFrame  # account, person, household, name, country, city, role
    # sender, account, account_population (whose accounts `account` numbers), utc_us,
    # amount_usd, round_p (chance the amount is rounded), channel, narrative
    payments: pl.DataFrame
    pool: Pool | None  # the main stream's shared beneficiaries, if any


@dataclass
class _Paid:
    """What one stream of a population produced."""

    persons: pl.DataFrame
    accounts: pl.DataFrame
    payments: pl.DataFrame  # as Simulated.payments, plus `session` (unique within the stream)
    escalating: np.ndarray
    light: np.ndarray
    pool: Pool | None


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
    def run(
        self, pop: Population, n: int, index: int = 0, pools: dict[str, Pool] | None = None
    ) -> Simulated:
        """Simulate `n` senders of `pop` (scenario index `index`); `pools` holds the shared
        beneficiaries of populations already simulated, for streams with `pool_of`."""
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
        zone_sender = _sender_zones(rng, country)
        begin, end = self._active_spans(pop.rate, n)

        parts: list[_Paid] = []
        persons_seen = households_seen = accounts_seen = 0
        payments = []
        for stream in (pop, *pop.also):
            where = (
                destination if stream.destinations is None else _pick(rng, stream.destinations, n)
            )
            lo, hi = stream.span
            paid, surname = self._stream(
                stream,
                index,
                where,
                surname,
                zone_sender,
                begin + lo * (end - begin),
                begin + hi * (end - begin),
                pools or {},
            )
            own = pl.col("account_population") == index
            payments.append(
                paid.payments.with_columns(
                    account=pl.when(own)
                    .then(pl.col("account") + accounts_seen)
                    .otherwise(pl.col("account")),
                    session=pl.col("session") * (len(pop.also) + 1) + len(parts),
                )
            )
            parts.append(paid)
            paid.accounts = paid.accounts.with_columns(
                pl.col("account") + accounts_seen,
                pl.col("person") + persons_seen,
                pl.col("household") + households_seen,
            )
            if paid.accounts.height:
                persons_seen = int(paid.accounts["person"].max()) + 1
                households_seen = int(paid.accounts["household"].max()) + 1
            accounts_seen += paid.accounts.height
        given = self._distinct_sibling_names(
            given, surname, culture, 1 - pop.male_share, pl.concat(payments)
        )
        main = parts[0]
        segment = np.where(main.light, "light", np.where(main.escalating, "escalating", "")).astype(
            object
        )
        if pop.segment:
            segment[:] = pop.segment
        senders = pl.DataFrame(
            {
                "sender": np.arange(n),
                "person": np.arange(n),
                "name": _text(given + " " + surname),
                "country": _text(country),
                "zone": _text(zone_sender),
                "role": pop.label_role,
                "segment": _text(segment),
            },
        )
        payment = pl.concat(payments)
        if pop.split_id_share > 0:
            senders, payment = self._split_ids(pop, senders, payment, given, surname)
        accounts = pl.concat([p.accounts for p in parts])
        return Simulated(
            senders=senders,
            accounts=accounts,
            payments=payment.drop("session"),
            pool=main.pool,
        )

    def _distinct_sibling_names(
        self,
        given: np.ndarray,
        surname: np.ndarray,
        culture: np.ndarray,
        female_share: float,
        payments: pl.DataFrame,
    ) -> np.ndarray:
        """Senders of one name who pay one account (siblings abroad paying their parents'
        household): the later one takes another given name, as siblings have."""
        pays = payments.select("sender", "account", "account_population").unique()
        full = pl.DataFrame({"sender": np.arange(len(given)), "name": given + " " + surname})
        pays = pays.join(full, on="sender")
        twins = (
            pays.join(pays, on=["account", "account_population", "name"], suffix="_other")
            .filter(pl.col("sender") > pl.col("sender_other"))
            .select("sender")
            .unique()
            .sort("sender")
        )
        rows = twins["sender"].to_numpy()
        if len(rows):
            given = given.copy()
            fresh, _ = names.draw_person_names(  # a child: the population's draws stay
                self.rng.spawn(1)[0], culture[rows], np.full(len(rows), female_share)
            )
            given[rows] = fresh
        return given

    def _split_ids(
        self,
        pop: Population,
        senders: pl.DataFrame,
        payments: pl.DataFrame,
        given: np.ndarray,
        surname: np.ndarray,
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Some senders pay under a second customer id: another channel, the name typed
        another way ("SMITH, John", "J. Smith"); each session goes to one id or the other."""
        rng = self.rng
        n = senders.height
        sessions = payments.select("sender", "session").unique().sort("sender", "session")
        per_sender = np.bincount(sessions["sender"].to_numpy(), minlength=n)
        # Two ids need two sessions at least: the first stays on the first id, the last moves.
        split = np.flatnonzero((rng.random(n) < pop.split_id_share) & (per_sender >= 2))
        if len(split) == 0:
            return senders, payments
        second = n + np.arange(len(split))
        typed = np.asarray(
            [names.spelling_variant(given[i], surname[i], rng) for i in split], dtype=object
        )
        twins = senders[split].with_columns(sender=pl.Series(second), name=_text(typed))
        other_channel = _pick(rng, pop.channels, len(split))
        lookup = pl.DataFrame(
            {
                "sender": split,
                "second": second,
                "share": rng.uniform(0.3, 0.7, len(split)),
                "other_channel": _text(other_channel),
            }
        )
        sessions = sessions.join(lookup, on="sender", how="inner").with_columns(
            nth=pl.int_range(pl.len()).over("sender"), last=pl.len().over("sender") - 1
        )
        draw = pl.Series(rng.random(sessions.height))
        moved = sessions.filter(
            (pl.col("nth") > 0) & ((draw < pl.col("share")) | (pl.col("nth") == pl.col("last")))
        )
        payments = (
            payments.join(
                moved.select("sender", "session", "second", "other_channel"),
                on=["sender", "session"],
                how="left",
            )
            .with_columns(
                sender=pl.coalesce("second", "sender"),
                channel=pl.coalesce("other_channel", "channel"),
            )
            .drop("second", "other_channel")
        )
        return pl.concat([senders, twins]), payments

    def _stream(
        self,
        stream: Stream,
        index: int,
        destination: np.ndarray,
        surname: np.ndarray,
        zone_sender: np.ndarray,
        begin: np.ndarray,
        end: np.ndarray,
        pools: dict[str, Pool],
    ) -> tuple[_Paid, np.ndarray]:
        rng = self.rng
        n = len(destination)
        spec = stream.beneficiaries
        if spec.pool_of is not None:
            pool = pools[spec.pool_of]
            persons_frame, sender_slots, slot_start, k = self._pooled_beneficiaries(
                spec, pool, stream.destinations or dict.fromkeys(np.unique(destination), 1.0), n
            )
            if spec.relatives:
                surname = persons_frame["surname"].to_numpy()[sender_slots[slot_start]]
            acc_start, acc_count = pool.acc_start, pool.acc_count
            churn_days, churn_phase = pool.churn_days, pool.churn_phase
            accounts = pl.DataFrame(schema=_ACCOUNT_SCHEMA)
            account_population = pool.population
            own_pool = None
        else:
            persons, sender_slots, slot_start, k = self._beneficiaries(spec, destination, surname)
            # Senders who joined a relative's household carry that household's surname.
            surname = np.where(
                persons["joined_surname"] != None,  # noqa: E711
                persons["joined_surname"],
                surname,
            )
            persons_frame = persons["frame"]
            accounts, acc_start, acc_count, churn_days, churn_phase = self._accounts(
                spec, persons_frame
            )
            account_population = index
            own_pool = (
                Pool(index, persons_frame, acc_start, acc_count, churn_days, churn_phase)
                if spec.sharing == "shared"
                else None
            )

        sessions = self._sessions(stream, n, begin, end)
        s_party = sessions["party"]
        x = sessions["x"]

        # Which beneficiary each session pays: the main one, or a secondary (in turn if churning).
        lo, hi = spec.main_share
        main_share = rng.uniform(lo, hi, n)[s_party]
        ks = k[s_party]
        secondary_slot = np.where(
            spec.churn,
            1 + np.floor(x * (ks - 1)).astype(np.int64),
            1 + rng.integers(0, np.maximum(ks - 1, 1)),
        )
        slot = np.where((ks > 1) & (rng.random(len(x)) >= main_share), secondary_slot, 0)
        slot = np.minimum(slot, ks - 1)
        person = sender_slots[slot_start[s_party] + slot]

        zone_person = np.asarray(
            [main_time_zone()[c] for c in persons_frame["country"].to_list()], dtype=object
        )
        timing = stream.timing
        if timing.clock == "mixed":
            by_beneficiary = (rng.random(n) < timing.beneficiary_clock_share)[s_party]
        else:
            by_beneficiary = np.full(len(x), timing.clock == "beneficiary")
        clock_zone = np.where(by_beneficiary, zone_person[person], zone_sender[s_party])
        local_us = self._local_times(stream, n, s_party, sessions["day"])
        session_utc = local_to_utc(local_us, clock_zone)

        # Further payments within a session, minutes apart (top-ups, tips, retries).
        rate = stream.rate
        extra = (
            rng.geometric(1 - rate.extra_payment_p, len(x)) - 1
            if rate.extra_payment_p > 0
            else np.zeros(len(x), np.int64)
        )
        per_session = 1 + extra
        p_session = np.repeat(np.arange(len(x)), per_session)
        gaps = rng.exponential(rate.extra_payment_gap_minutes * 60 * US_PER_SECOND, len(p_session))
        gaps[_offsets(per_session)] = 0
        within = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[_offsets(per_session)], per_session)
        utc_us = session_utc[p_session] + within.astype(np.int64)
        p_party = s_party[p_session]
        p_x = x[p_session]
        p_person = person[p_session]

        # A churning person's payers pay whichever wallet is open at the time.
        day = (utc_us // US_PER_DAY) - self.epoch_day
        churning = churn_days[p_person] > 0
        period = np.where(churning, churn_days[p_person], 1.0)
        open_now = np.floor((day + churn_phase[p_person]) / period).astype(np.int64)
        primary = rng.random(len(p_session)) < PRIMARY_ACCOUNT_SHARE
        anyone = np.where(primary, 0, rng.integers(0, acc_count[p_person]))
        nth = np.where(churning, np.clip(open_now, 0, acc_count[p_person] - 1), anyone)
        account = acc_start[p_person] + nth

        amount_usd = self._amounts(stream, n, p_party, p_x, sessions["escalating"])
        channel = self._per_party_choice(stream.channels, n, p_party, PREFERRED_CHANNEL_SHARE)
        narrative = self._narratives(stream, n, p_party)
        payments = pl.DataFrame(
            {
                "sender": p_party,
                "account": account,
                "account_population": np.full(len(p_session), account_population, np.int64),
                "utc_us": utc_us,
                "amount_usd": amount_usd,
                "round_p": np.full(len(p_session), stream.amount.round_share),
                "channel": _text(channel),
                "narrative": _text(narrative),
                "session": p_session.astype(np.int64),
            },
        )
        paid = _Paid(
            persons=persons_frame,
            accounts=accounts,
            payments=payments,
            escalating=sessions["escalating"],
            light=sessions["light"],
            pool=own_pool,
        )
        return paid, surname

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
        given, surname = names.draw_person_names(
            rng, culture, np.full(m, spec.female_share), households=person_sender
        )
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
                    rng, culture, np.full(pool, spec.female_share), households=household
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
                ).with_columns(pl.col("person") + person_base, weight=pl.Series(weight))
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

    def _pooled_beneficiaries(
        self, spec: Beneficiaries, pool: Pool, destinations: Weights, n: int
    ) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        """Each sender draws its beneficiaries from another population's pool, by popularity,
        in the countries it sends to (anywhere in the pool if the pool has none there)."""
        rng = self.rng
        persons = pool.persons
        popularity = persons["weight"].to_numpy()
        country = persons["country"].to_numpy()
        wanted = np.asarray([destinations.get(c, 0.0) for c in country], dtype=float)
        weight = popularity * wanted if (popularity * wanted).sum() > 0 else popularity
        k = np.minimum(1 + rng.poisson(spec.per_sender_mean - 1, n), spec.per_sender_max)
        links = int(k.sum())
        draws = rng.choice(len(weight), size=links, p=weight / weight.sum())
        chosen = pl.DataFrame(
            {"owner": np.repeat(np.arange(n), k), "person": draws, "order": np.arange(links)}
        ).unique(["owner", "person"], keep="first", maintain_order=True)
        counts = chosen.group_by("owner", maintain_order=True).len().sort("owner")
        k_out = counts["len"].to_numpy().astype(np.int64)
        return persons, chosen["person"].to_numpy(), _offsets(k_out), k_out

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
    ) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each person's accounts / wallets; extra ones often under a spelling variant. A
        churning person opens one every few months (period and phase per person)."""
        rng = self.rng
        m = persons.height
        count = 1 + rng.poisson(spec.accounts_per_person_mean - 1, m)
        churning = rng.random(m) < spec.account_churn_share
        lo, hi = spec.account_churn_months
        churn_days = np.where(churning, rng.uniform(lo, hi, m) * 30.44, 0.0)
        churn_phase = rng.uniform(0, 1, m) * churn_days
        count = np.where(churning, np.ceil(self.days / np.maximum(churn_days, 1)) + 1, count)
        count = count.astype(np.int64)
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
        return accounts, _offsets(count), count, churn_days, churn_phase

    # --- sessions, times, amounts ------------------------------------------------------
    def _active_spans(self, rate: Rate, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Each sender's first and last active day (newcomers start near the end)."""
        rng = self.rng
        duration = np.exp(
            rng.normal(np.log(rate.active_years_median * 365.25), rate.active_years_sigma, n)
        )
        begin = rng.uniform(-duration, self.days)
        if rate.recent_months is not None:
            begin = self.days - rng.uniform(0, rate.recent_months * 30.44, n)
        end = np.minimum(begin + duration, self.days)
        begin = np.maximum(begin, 0)
        end = np.maximum(end, np.minimum(begin + 14, self.days))
        begin = np.minimum(begin, end - 1)
        return begin, end

    def _sessions(
        self, pop: Stream, n: int, begin: np.ndarray, end: np.ndarray
    ) -> dict[str, np.ndarray]:
        """How many sessions each party pays for within [begin, end), and where in it."""
        rng = self.rng
        rate = pop.rate
        end = np.maximum(end, begin + 1)
        months = (end - begin) / 30.44

        level = rng.gamma(rate.heterogeneity, rate.sessions_per_month / rate.heterogeneity, n)
        count = rng.poisson(level * months)
        regular = rng.random(n) < rate.regular_share
        periods = np.maximum(np.round((end - begin) / rate.period_days), 1)
        count = np.where(regular, periods, count).astype(np.int64)
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
        self, pop: Stream, n: int, party: np.ndarray, day_float: np.ndarray
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
        self, pop: Stream, n: int, party: np.ndarray, x: np.ndarray, escalating: np.ndarray
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

    def _narratives(self, pop: Stream, n: int, party: np.ndarray) -> np.ndarray:
        rng = self.rng
        spec = pop.narratives
        if not spec.words:
            return np.full(len(party), None, dtype=object)
        words = {w: 1.0 for w in spec.words}
        text = self._per_party_choice(words, n, party, spec.favourite_share)
        habit = np.clip(rng.normal(spec.blank_share, 0.25, n), 0, 1)[party]
        return np.where(rng.random(len(party)) < habit, None, text)
