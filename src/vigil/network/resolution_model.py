"""The Splink model behind entity resolution: prepared party records, comparisons, blocking.

Everything here is SQL that DuckDB runs: the party table is built from `payments` with
normalised name keys, and Splink compares pairs of parties that share a blocking key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from splink import block_on

from vigil.network.resolution_config import LevelPrior, ResolutionConfig
from vigil.phones import calling_codes_sql, phone_sql


@dataclass(frozen=True)
class PartyKind:
    """Where one kind of party's identity attributes live in `payments`, and who is on the
    other side of its payments (a beneficiary's payers, a sender's payees)."""

    kind: str
    id_column: str
    name_column: str
    country_column: str
    city_column: str | None
    counterpart_column: str
    counterparts: str  # the comparison's name and the word in explanations: payers, payees
    # A level for one counterpart in common whom few parties of the kind share (senders:
    # across institutions, one person's ids often share just one payee, the relative or
    # facilitator few others pay; a popular performer's payers share theirs by chance).
    rare_level: bool = False
    # One counterpart in common that is each party's only one is evidence of one person
    # for beneficiaries (who pays two namesakes and no one else?), not for senders: most
    # customers pay one beneficiary, and namesakes among a performer's or a shop's
    # customers are bound to occur.
    sole_counterpart_tells: bool = False
    # "Most counterparts in common": at least half of each side's counterparts (all of
    # them, distinctive or not) rather than of one side. One customer's two ids each pay
    # mostly the people the other pays (each payment goes out under one id or the other);
    # a namesake customer of one performer also pays others. A facilitator's second
    # wallet gets a few of her payers: half of one side is what her wallets show.
    most_of_each_side: bool = False
    # The phone the party gave (many wallets are phone numbers): beneficiaries only, as
    # payment data records it for them alone.
    phone_column: str | None = None


BENEFICIARY = PartyKind(
    "beneficiary",
    "beneficiary_id",
    "beneficiary_name",
    "beneficiary_country",
    "beneficiary_city",
    "sender_id",
    "payers",
    sole_counterpart_tells=True,
    phone_column="beneficiary_phone",
)
SENDER = PartyKind(
    "sender",
    "sender_id",
    "sender_name",
    "sender_country",
    None,
    "beneficiary_id",
    "payees",
    rare_level=True,
    most_of_each_side=True,
)


@dataclass(frozen=True)
class Level:
    """One comparison level: its SQL over the pair (`_l` / `_r` columns) and its plain label."""

    key: str  # the level's name in the config's priors
    label: str
    sql: str
    tf_column: str | None = None


@dataclass(frozen=True)
class Comparison:
    name: str
    null_sql: str
    levels: tuple[Level, ...]  # most to least alike; the last is the ELSE level
    detail_sql: str | None = None  # text after the level's label in an explanation
    behavioural: bool = False  # evidence from payments rather than from identity attributes
    # Whether expectation maximisation sets the levels' m (else the priors' m stands).
    m_trained: bool = True
    null_label: str = "missing"  # the null level's label in explanations
    # Pairs the comparison says nothing of though their values are known (the phone: one
    # number under names that differ): they fall in the null level too.
    unheeded_sql: str | None = None

    @property
    def null_level_sql(self) -> str:
        """The null level's condition: a value missing, or the pair unheeded."""
        if self.unheeded_sql is None:
            return self.null_sql
        return f"{self.null_sql} OR ({self.unheeded_sql})"

    def gamma_labels(self) -> dict[int, str]:
        """Splink's comparison-vector value of each level -> its label (-1: the null level)."""
        top = len(self.levels) - 1
        labels = {top - i: level.label for i, level in enumerate(self.levels)}
        return {-1: self.null_label, **labels}

    def level(self, key: str) -> Level:
        return next(level for level in self.levels if level.key == key)

    def gamma_of(self, key: str) -> int:
        """Splink's comparison-vector value of the level named `key`."""
        keys = [level.key for level in self.levels]
        return len(keys) - 1 - keys.index(key)


# An extra name is a later given name or a middle name: the longer name's first word is in
# the shorter ("Maria Luisa Cruz" and "Maria Cruz", not "Wayne Steven White" and "Steven
# White"). "Juan Cruz Jr." is not "Juan Cruz" with an extra name: father and son.
SUFFIXES = "['jr', 'sr', 'ii', 'iii', 'iv']"
# The first letters of one name's words are all among the other's: "Maria S. Cruz" and
# "Maria Cruz" fit, "C. De Leon" and "J. De Leon" (two people of one family) do not.
_INITIALS_FIT = (
    "(list_has_all(initial_set_l, initial_set_r) OR list_has_all(initial_set_r, initial_set_l))"
)

# The alike-name levels weigh by how common the name is, as the exact level does: for a
# pair, the more common of the two names ("Peter White" beside "Peter Michael White",
# "J. Smith" beside "John Smith": an initial stands for any name with that letter).
NAME = Comparison(
    "name",
    "name_sorted_l IS NULL OR name_sorted_r IS NULL",
    (
        Level(
            "exact",
            "same name (ignoring case, accents, punctuation and word order)",
            "name_in_country_l = name_in_country_r",  # pairs share a country: same name
            tf_column="name_in_country",
        ),
        Level(
            "same_apart_from_initials",
            "same name apart from a middle initial",
            f"name_core_l = name_core_r AND {_INITIALS_FIT}",
            tf_column="name_in_country",
        ),
        Level(
            "one_letter_apart",
            "one letter dropped, added, changed or swapped",
            # the cheap tests first: DuckDB only computes the distance where they pass
            # (one edit apart implies a Jaro-Winkler of at least 0.83 from 4 letters on)
            "abs(length(name_core_l) - length(name_core_r)) <= 1 "
            "AND jaro_winkler_similarity(name_core_l, name_core_r) >= 0.8 "
            f"AND damerau_levenshtein(name_core_l, name_core_r) <= 1 AND {_INITIALS_FIT}",
            tf_column="name_in_country",
        ),
        Level(
            "initial_for_given_name",
            "a name written as its initial",
            "initials_l = initials_r AND len(core_l) > 0 AND len(core_r) > 0 "
            "AND (list_has_all(tokens_l, core_r) OR list_has_all(tokens_r, core_l))",
            tf_column="name_in_country",
        ),
        Level(
            "extra_name",
            "one has an extra given or middle name",
            "len(core_l) >= 2 AND len(core_r) >= 2 "
            "AND ((list_has_all(core_l, core_r) AND list_has_all(initial_set_l, initial_set_r) "
            "AND list_contains(tokens_r, tokens_l[1])) "
            "OR (list_has_all(core_r, core_l) AND list_has_all(initial_set_r, initial_set_l) "
            "AND list_contains(tokens_l, tokens_r[1]))) "
            f"AND list_has_any(tokens_l, {SUFFIXES}) = list_has_any(tokens_r, {SUFFIXES})",
            tf_column="name_in_country",
        ),
        Level(
            "very_similar",
            "token-sorted Jaro-Winkler >= 0.92",
            "jaro_winkler_similarity(name_sorted_l, name_sorted_r) >= 0.92",
        ),
        Level(
            "similar",
            "token-sorted Jaro-Winkler >= 0.80",
            "jaro_winkler_similarity(name_sorted_l, name_sorted_r) >= 0.80",
        ),
        Level("different", "different names", "ELSE"),
    ),
)

CITY = Comparison(
    "city",
    "city_l IS NULL OR city_r IS NULL",
    (
        Level(
            "exact",
            "same city",
            "city_in_country_l = city_in_country_r",
            tf_column="city_in_country",
        ),
        Level(
            "similar",
            "city spelled alike (Jaro-Winkler >= 0.90)",
            "jaro_winkler_similarity(city_l, city_r) >= 0.90",
        ),
        Level("different", "different city", "ELSE"),
    ),
)

COUNTRY = Comparison(
    "country",
    "country_l IS NULL OR country_r IS NULL",
    (
        Level("exact", "same country", "country_l = country_r", tf_column="country"),
        Level("different", "different country", "ELSE"),
    ),
    m_trained=False,  # every scored pair shares a country (blocking)
)

# Names alike enough for evidence beyond the name (payers, a phone) to say "one person": the
# same name, or one form of it (initials, a middle name, a typo). Under names that merely
# look alike ("Maria" and "Mario"), payers and a phone in common are what one family's
# members have.
ALIKE_NAME_LEVELS = (
    "exact",
    "same_apart_from_initials",
    "one_letter_apart",
    "initial_for_given_name",
    "extra_name",
)
ALIKE_NAMES = "((" + ") OR (".join(NAME.level(key).sql for key in ALIKE_NAME_LEVELS) + "))"

# The phone the beneficiary gave (E.164 digits; its most used one). One phone under names
# that are not one name written two ways is a household's or an agent's (research: a
# facilitator's relatives collect for her; an agent registers wallets on his own number):
# no evidence either way, so it falls in the null level, as a phone missing on one side
# does. A phone several accounts share weighs less, by how many share it (term frequency,
# within the country, as a city). The phone takes no part in expectation maximisation: only
# one person's accounts share a number there, so EM drives its u to zero, and it would
# learn how often generated people keep one number, while in the field a second wallet
# often comes with a second SIM. m is the prior's, u sampled from random pairs.
PHONE = Comparison(
    "phone",
    "phone_l IS NULL OR phone_r IS NULL",
    (
        Level(
            "same",
            "same phone number",
            "phone_in_country_l = phone_in_country_r",
            tf_column="phone_in_country",
        ),
        Level("different", "different phone number", "ELSE"),
    ),
    m_trained=False,
    null_label="no phone on one side, or one phone under names that differ",
    unheeded_sql=f"phone_l = phone_r AND NOT coalesce({ALIKE_NAMES}, FALSE)",
)


# One wallet replaced by another: the earlier account's last payment at most
# CHURN_OVERLAP_DAYS after, and at most CHURN_GAP_DAYS before, the later account's first;
# the later one goes on after the earlier stops; each was in use for CHURN_MIN_SPAN_DAYS
# (two one-off payments a month apart say nothing).
CHURN_OVERLAP_DAYS = 14
CHURN_GAP_DAYS = 62
CHURN_MIN_SPAN_DAYS = 14
_EARLY = "(CASE WHEN first_day_l <= first_day_r THEN {l} ELSE {r} END)"
_LATE = "(CASE WHEN first_day_l <= first_day_r THEN {r} ELSE {l} END)"
_GAP = (
    _LATE.format(l="first_day_l", r="first_day_r")
    + " - "
    + _EARLY.format(l="last_day_l", r="last_day_r")
)
# One account stops as the other starts (the condition of the churn level, and of a payer
# handed over from one account to the other).
CHURN_SQL = (
    f"first_day_l <> first_day_r "
    f"AND last_day_l - first_day_l >= {CHURN_MIN_SPAN_DAYS} "
    f"AND last_day_r - first_day_r >= {CHURN_MIN_SPAN_DAYS} "
    f"AND {_GAP} BETWEEN -{CHURN_OVERLAP_DAYS} AND {CHURN_GAP_DAYS} "
    f"AND {_LATE.format(l='last_day_l', r='last_day_r')} "
    f"> {_EARLY.format(l='last_day_l', r='last_day_r')}"
)


SHARED = "len(list_intersect(counterparts_l, counterparts_r))"
SHARED_RARE = "len(list_intersect(rare_counterparts_l, rare_counterparts_r))"


def counterparts_comparison(kind: PartyKind) -> Comparison:
    """Payers (of a beneficiary) or payees (of a sender) the two parties have in common.
    Only distinctive counterparts count (see `behaviour_sql`): an offender paying two
    wallets of one facilitator, not a shop's thousand customers. Beside how many are in
    common, two patterns of one person's accounts that a payer or two shows:
    - handover: one account stops as the other starts and the payers moved with it (a
      churned wallet: the offender pays whichever wallet the facilitator has open);
    - sole (beneficiaries, see PartyKind): each account has one distinctive payer, the
      same (a facilitator whose one offender pays each of her wallets; two namesakes
      each paid by one and the same person and by no one else are rare);
    - rare (senders, see PartyKind): a payee in common whom few senders pay;
    and one against: one payer in common among many on each side is what two shops'
    accounts show, a customer who bought from both."""
    word = kind.counterparts
    alike = ALIKE_NAMES
    # Across reporters only (FIU mode): one customer's two ids at one institution pay the
    # same people ("most" finds them), while a customer of two institutions splits his
    # payees between them, so one rare payee in common is what shows; and two namesake
    # customers of one institution who pay one little-known performer are no rarity.
    rare = Level(
        "rare",
        f"a {word[:-1]} in common whom few others pay, at another reporter",
        f"{SHARED_RARE} >= 1 AND {alike} AND reporter_l IS DISTINCT FROM reporter_r",
    )
    sole = Level(
        "sole",
        f"one {word[:-1]} in common, the only one of each",
        f"{SHARED} = 1 AND len(counterparts_l) = 1 AND len(counterparts_r) = 1 AND {alike}",
    )
    half_of, side = (
        ("greatest(counterpart_count_l, counterpart_count_r)", "all those of each side")
        if kind.most_of_each_side
        else ("least(len(counterparts_l), len(counterparts_r))", "one side")
    )
    most = Level(
        "most",
        f"most {word} in common (two or more, at least half of {side})",
        f"{SHARED} >= 2 AND 2 * {SHARED} >= {half_of} AND {alike}",
    )
    levels = (
        most,
        Level(
            "handover",
            f"{word} in common, and one account stops as the other starts",
            f"{SHARED} >= 1 AND {alike} AND {CHURN_SQL}",
        ),
        Level("many", f"three or more {word} in common", f"{SHARED} >= 3 AND {alike}"),
        # Rare comes before two common counterparts: a relative nobody else pays says more
        # than two shops' shared customers.
        *((rare,) if kind.rare_level else ()),
        Level("several", f"two {word} in common", f"{SHARED} = 2 AND {alike}"),
        *((sole,) if kind.sole_counterpart_tells else ()),
        Level(
            "one_among_many",
            f"one {word[:-1]} in common, of three or more on each side",
            f"{SHARED} = 1 AND least(len(counterparts_l), len(counterparts_r)) >= 3 AND {alike}",
        ),
        Level("one", f"one {word[:-1]} in common", f"{SHARED} = 1 AND {alike}"),
        Level("unlike_names", f"{word} in common, under names that differ", f"{SHARED} >= 1"),
        Level("none", f"no {word[:-1]} in common", "ELSE"),
    )
    return Comparison(
        word,
        "counterparts_l IS NULL OR counterparts_r IS NULL",
        levels,
        detail_sql=(
            f"'(' || {SHARED} || ' of ' || len(counterparts_l) || ' and ' "
            f"|| len(counterparts_r) || ' distinctive {word})'"
        ),
        behavioural=True,
    )


TIMING = Comparison(
    "timing",
    "first_day_l IS NULL OR first_day_r IS NULL",
    (
        Level("churn", "one account stops as the other starts", CHURN_SQL),
        Level("other", "active side by side, or far apart", "ELSE"),
    ),
    detail_sql=f"'(' || ({_GAP}) || ' days from the one''s last payment to the other''s first)'",
    behavioural=True,
)


def comparisons_for(
    kind: PartyKind, *, behaviour: bool = True, phone: bool = True
) -> tuple[Comparison, ...]:
    """The kind's comparisons: identity attributes, then (unless `behaviour` is False)
    the behavioural ones. `phone` False leaves the phone out (the training's expectation
    maximisation: see PHONE)."""
    identity = (NAME, CITY, COUNTRY) if kind.city_column else (NAME, COUNTRY)
    if kind.phone_column and phone:
        identity = (*identity, PHONE)
    return (*identity, counterparts_comparison(kind), TIMING) if behaviour else identity


# --- the party records ------------------------------------------------------------------
def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def name_tokens_sql(column: str, config: ResolutionConfig) -> str:
    """The name's words: lower case, no accents, "SURNAME, Given" turned round, punctuation
    dropped, abbreviations written out (config `names.aliases`), titles left out."""
    text = f"strip_accents(lower(coalesce({column}, '')))"
    text = f"regexp_replace({text}, '^([^,]*),(.*)$', '\\2 \\1')"  # first comma only
    text = f"regexp_replace({text}, '[''’`]', '', 'g')"  # O'Brien = OBrien
    text = f"regexp_replace({text}, '[^\\p{{L}}\\p{{N}}]+', ' ', 'g')"
    tokens = f"list_filter(string_split(trim({text}), ' '), lambda t: t <> '')"
    aliases = config.names.aliases
    if aliases:
        cases = " ".join(f"WHEN {_literal(a)} THEN {_literal(b)}" for a, b in aliases.items())
        tokens = f"list_transform({tokens}, lambda t: CASE t {cases} ELSE t END)"
    if config.names.ignore:
        ignored = ", ".join(_literal(word) for word in config.names.ignore)
        tokens = f"list_filter({tokens}, lambda t: t NOT IN ({ignored}))"
    return tokens


def _place_sql(column: str) -> str:
    text = f"strip_accents(lower({column}))"
    return f"nullif(trim(regexp_replace({text}, '[^\\p{{L}}\\p{{N}}]+', ' ', 'g')), '')"


def payment_summary_sql(payments: str) -> str:
    """`payments` folded to one row per sender, beneficiary and the identity attributes
    they were paid under: how many payments, the first and the last. Every later step of
    resolution reads this (one pass over the payments for both kinds of party); the
    sender's reporter (FIU mode; one per sender, as it is part of the sender's key) too."""
    return f"""
        SELECT sender_id, sender_name, sender_country, beneficiary_id, beneficiary_name,
               beneficiary_country, beneficiary_city, reporter, count(*) AS payments,
               CAST(floor(epoch(min(ts_utc)) / 86400) AS INTEGER) AS first_day,
               CAST(floor(epoch(max(ts_utc)) / 86400) AS INTEGER) AS last_day
        FROM {payments}
        GROUP BY ALL
    """


def phones_sql(kind: PartyKind, payments: str) -> str:
    """Each party's phone (a kind with one): the number its payments give most often,
    normalised to E.164 digits (a number written at home with the country's calling code),
    ties to the first in text order; parties without one are left out. One fold of the
    payments on three columns, the rest on its few thousand distinct numbers per country."""
    assert kind.phone_column, f"{kind.kind} parties have no phone"
    local_code = "coalesce(codes.calling_code, '')"
    return f"""
        WITH written AS (
            SELECT {kind.id_column} AS party_id, upper(trim({kind.country_column})) AS country,
                   {kind.phone_column} AS written, count(*) AS payments
            FROM {payments} WHERE {kind.phone_column} IS NOT NULL GROUP BY ALL
        ),
        normalised AS (
            SELECT party_id, {phone_sql("written", local_code)} AS phone, sum(payments) AS payments
            FROM written LEFT JOIN ({calling_codes_sql()}) codes USING (country)
            GROUP BY ALL
        )
        SELECT party_id, arg_min(phone, (-payments, phone)) AS phone
        FROM normalised WHERE phone IS NOT NULL GROUP BY party_id
    """


def parties_sql(kind: PartyKind, summary: str) -> str:
    """Each party once, as its payments show it most often: name, country, city (ties go
    to the first in text order, so the choice is the same on every run), and a sender's
    reporter (FIU mode; part of the sender's key, so one per sender; NULL otherwise).
    `summary`: the `payment_summary_sql` table."""
    city = kind.city_column or "NULL"
    reporter = "reporter" if kind.rare_level else "NULL::VARCHAR"
    return f"""
        SELECT {kind.id_column} AS party_id, {kind.name_column} AS name,
               {kind.country_column} AS country, {city} AS city, {reporter} AS reporter
        FROM {summary}
        GROUP BY 1, 2, 3, 4, 5
        QUALIFY row_number() OVER (
            PARTITION BY party_id ORDER BY sum(payments) DESC, name, country, city NULLS LAST
        ) = 1
        ORDER BY party_id
    """


def behaviour_sql(
    kind: PartyKind, summary: str, config: ResolutionConfig, counterpart_persons: str | None = None
) -> str:
    """Each party's payment behaviour, for the behavioural comparisons and blocking
    (`summary`: the `payment_summary_sql` table):
    - `counterparts`: its distinctive payers (payees), sorted: those who pay (are paid by)
      at most `behaviour.max_counterpart_parties` parties of its kind, at most
      `behaviour.counterparts_listed` of them (the most frequent). A shop's customers and
      a big employer's staff are left out: sharing them says nothing.
    - `rare_counterparts` (a kind with a rare level; else NULL, as no comparison reads it,
      and the party records hold an empty list): the people (`counterpart_persons`, a
      relation of account and person: the resolved entities of the other kind; else each
      account a person) it pays (is paid by) whom at most `behaviour.rare_counterpart_share`
      of the parties of its kind pay, two at least, and no more than
      `max_counterpart_parties`; the most frequent `counterparts_listed`. The inverse
      document frequency of a search engine, where a word in every page is no evidence and
      one in two pages is. People, not accounts: an offender at two remitters pays the
      facilitator's wallet open that month from each, and the wallets are one person
      (typologies.md B5, R15).
    - `counterpart_count`: how many payers (payees) it has, distinctive or not.
    - `first_day`, `last_day`: its first and last payment (days since 1970-01-01)."""
    behaviour = config.behaviour
    person, person_join = "counterpart", ""
    if counterpart_persons is not None:
        person = "coalesce(persons.person, counterpart)"
        person_join = (
            f" LEFT JOIN ({counterpart_persons}) persons ON persons.account = pairs.counterpart"
        )
    # The `counterparts_listed` most paid counterparts (ties in text order, as a sort per
    # party would rank them), listed in text order.
    most_paid = (
        f"list_sort(arg_min(counterpart, (-payments, counterpart), "
        f"{behaviour.counterparts_listed}))"
    )
    rare, rare_list, rare_join = "", "NULL::VARCHAR[]", ""
    if kind.rare_level:
        rare = f"""
        rarity AS (
            SELECT greatest(2, floor(count(*) * {behaviour.rare_counterpart_share!r}))
                AS rare_parties
            FROM days
        ),
        people AS (
            SELECT party_id, {person} AS counterpart, sum(payments) AS payments
            FROM pairs{person_join} GROUP BY 1, 2
        ),
        people_spread AS (
            SELECT counterpart, count(*) AS parties FROM people GROUP BY counterpart
        ),
        rare_lists AS (
            SELECT party_id, {most_paid} AS rare_counterparts
            FROM people JOIN people_spread USING (counterpart) CROSS JOIN rarity
            WHERE parties <= least(rare_parties, {behaviour.max_counterpart_parties})
            GROUP BY party_id
        ),"""
        rare_list = "r.rare_counterparts"
        rare_join = " LEFT JOIN rare_lists r USING (party_id)"
    return f"""
        WITH pairs AS (
            SELECT {kind.id_column} AS party_id, {kind.counterpart_column} AS counterpart,
                   sum(payments) AS payments, min(first_day) AS first_day,
                   max(last_day) AS last_day
            FROM {summary} GROUP BY 1, 2
        ),
        days AS (
            SELECT party_id, count(*) AS counterpart_count, min(first_day) AS first_day,
                   max(last_day) AS last_day
            FROM pairs GROUP BY 1
        ),
        spread AS (SELECT counterpart, count(*) AS parties FROM pairs GROUP BY counterpart),{rare}
        lists AS (
            SELECT party_id, {most_paid} AS counterparts
            FROM pairs JOIN spread USING (counterpart)
            WHERE parties <= {behaviour.max_counterpart_parties}
            GROUP BY party_id
        )
        SELECT party_id, counterparts, {rare_list} AS rare_counterparts, counterpart_count,
               first_day, last_day
        FROM days LEFT JOIN lists USING (party_id){rare_join}
    """


def party_records_sql(
    kind: PartyKind,
    parties: str,
    behaviour: str,
    config: ResolutionConfig,
    phones: str | None = None,
) -> str:
    """Each party's record for Splink (from the `parties_sql` table `parties`, the
    `behaviour_sql` table `behaviour` and, for a kind with a phone, the `phones_sql` table
    `phones`): the normalised name columns the comparisons use, the behaviour, the phone,
    and the capped blocking keys (a phone shared by more than
    `behaviour.max_counterpart_parties` parties of the country, an agent's or a shop's, is
    no blocking key)."""
    cap, country_cap = config.max_block_size, config.max_country_block_size
    # Blocking keys too common to block on, per scope (the country; the city, for a kind
    # with one): the columns the parties are counted by, and the most that may share a key.
    scopes = {"country": ("country", country_cap)}
    if kind.city_column:  # a kind without city (senders) needs no count per city
        scopes["city"] = ("country, city", cap)
    counts = "".join(
        f"""
        common_in_{scope} AS (
            SELECT {keys}, token_key FROM exploded GROUP BY ALL HAVING sum(bearers) > {limit}
        ),"""
        for scope, (keys, limit) in scopes.items()
    )
    too_common = " UNION ALL ".join(
        f"SELECT e.identity, '{scope}' AS scope, e.token_key FROM exploded e "
        f"JOIN common_in_{scope} c ON c.token_key = e.token_key AND "
        + " AND ".join(f"c.{key} IS NOT DISTINCT FROM e.{key}" for key in keys.split(", "))
        for scope, (keys, _) in scopes.items()
    )
    dropped = ", ".join(
        f"list(token_key) FILTER (WHERE scope = '{scope}') AS {scope}_dropped" for scope in scopes
    )
    # An identity's keys less the dropped ones, sorted; none left (or none at all): NULL.
    key_lists = ",".join(
        f"""
                   nullif(list_sort(list_filter(keyed.token_keys,
                       lambda k: NOT list_contains(coalesce(d.{scope}_dropped, []), k))), [])
                       AS token_keys_{scope}"""
        for scope in scopes
    )
    phone_columns = "NULL::VARCHAR AS phone, NULL::VARCHAR AS phone_in_country, " + (
        "NULL::VARCHAR AS phone_key"
    )
    phone_join = ""
    if phones is not None:
        phone_columns = f"""ph.phone, i.country || ' ' || ph.phone AS phone_in_country,
               CASE WHEN count(*) OVER (PARTITION BY i.country, ph.phone)
                   <= {config.behaviour.max_counterpart_parties} THEN ph.phone END AS phone_key"""
        phone_join = f" LEFT JOIN {phones} ph USING (party_id)"
    records = f"""
        WITH
        -- The name's columns depend on the name alone: worked out once per distinct name
        -- (many parties share one).
        tokenised AS (
            SELECT name, {name_tokens_sql("name", config)} AS tokens
            FROM (SELECT DISTINCT name FROM {parties})
        ),
        spelled AS (
            SELECT name, tokens,
                   nullif(array_to_string(list_sort(tokens), ' '), '') AS name_sorted,
                   list_sort(list_filter(tokens, lambda t: length(t) > 1)) AS core,
                   array_to_string(list_sort(list_transform(tokens, lambda t: left(t, 1))), '')
                       AS initials,
                   list_sort(list_distinct(list_transform(tokens, lambda t: left(t, 1))))
                       AS initial_set,
                   tokens[-1] AS surname_guess
            FROM tokenised
        ),
        named AS (
            SELECT *, nullif(array_to_string(core, ' '), '') AS name_core,
                   list_distinct(list_transform(core, lambda t: t || ' ' || initials)) AS token_keys
            FROM spelled
        ),
        -- The rest of a record but the behaviour depends on the name, country and city
        -- alone: worked out once per such identity (at 10M payments 335,000 for 574,000
        -- beneficiaries, 148,000 for 620,000 senders), each counting for its bearers, then
        -- joined to each party.
        identities AS (
            SELECT row_number() OVER () AS identity, *
            FROM (SELECT name, country AS given_country, city AS given_city,
                         count(*) AS bearers
                  FROM {parties} GROUP BY ALL)
        ),
        keyed AS (
            SELECT i.identity, i.name, i.given_country, i.given_city, i.bearers,
                   upper(trim(i.given_country)) AS country, {_place_sql("i.given_city")} AS city,
                   n.* EXCLUDE (name)
            FROM identities i JOIN named n ON n.name IS NOT DISTINCT FROM i.name
        ),
        exploded AS MATERIALIZED (
            SELECT identity, bearers, country, city, unnest(token_keys) AS token_key FROM keyed
        ),
        -- The keys shared by too many parties (few are): counted per key, then found
        -- in each identity's keys.{counts}
        too_common AS ({too_common}),
        dropped AS (SELECT identity, {dropped} FROM too_common GROUP BY identity),
        cores AS (
            SELECT country, name_core, sum(bearers) AS parties FROM keyed GROUP BY ALL
        ),
        identified AS (
            SELECT keyed.name, keyed.given_country, keyed.given_city, keyed.country,
                   keyed.city, keyed.tokens, keyed.name_sorted, keyed.core, keyed.initials,
                   keyed.initial_set, keyed.surname_guess, keyed.name_core,
                   {key_lists},
                   keyed.country || ' ' || keyed.name_sorted AS name_in_country,
                   keyed.country || ' ' || keyed.city AS city_in_country,
                   CASE WHEN cores.parties <= {cap} THEN keyed.name_core END AS core_key,
                   keyed.country || ' ' || keyed.name_core AS namesake_key
            FROM keyed LEFT JOIN dropped d USING (identity)
            JOIN cores ON cores.country IS NOT DISTINCT FROM keyed.country
                AND cores.name_core IS NOT DISTINCT FROM keyed.name_core
        )
        SELECT p.party_id, i.country, i.city, i.tokens, p.reporter,
               i.* EXCLUDE (name, given_country, given_city, country, city, tokens),
               b.counterparts, coalesce(b.counterparts, []) AS counterpart_keys,
               coalesce(b.rare_counterparts, []) AS rare_counterparts,
               b.counterpart_count, b.first_day, b.last_day, {phone_columns}
        FROM {parties} p
        JOIN identified i ON i.name IS NOT DISTINCT FROM p.name
            AND i.given_country IS NOT DISTINCT FROM p.country
            AND i.given_city IS NOT DISTINCT FROM p.city
        LEFT JOIN {behaviour} b USING (party_id){phone_join}
        ORDER BY party_id
    """
    return records


def rare_coincidence_sql(records: str) -> str:
    """The chance that two parties drawn at random have a rare counterpart in common (one
    row, one value): the sum over rare counterparts of k (k - 1) / (n (n - 1)), k being
    the parties that list it and n all parties. It is the u of the "rare" level, what an
    exact random sampling of pairs would find, and it falls as the population grows, as
    the chance of a coincidence does. (It counts one person's ids as a random pair too,
    so it errs on the side of a u too high.)"""
    return f"""
        WITH rare AS (
            SELECT count(*) AS k
            FROM (SELECT unnest(rare_counterparts) AS counterpart FROM {records})
            GROUP BY counterpart
        ),
        population AS (SELECT count(*) AS n FROM {records})
        SELECT coalesce(sum(k * (k - 1)), 0) / greatest(any_value(n) * (any_value(n) - 1), 1)
        FROM population LEFT JOIN rare ON true
    """


GOOD_TURING_NAMES = 20  # names seen k times needed before their count is trusted


def frequency_sql(records: str, column: str) -> str:
    """Term frequencies for Splink, *within the party's country*: pairs are only ever scored
    within a country, so how common a name (or city) is there is what weighs an exact
    match, and the country's share of all parties sets the prior of a pair in it.

    A name's frequency is the larger of two estimates:
    (1) the product of its words' frequencies ("Noel Bautista", seen once, is still a
        common given name with a common surname; an initial stands for any word with
        that letter);
    (2) its Good-Turing count: a name seen k times is expected (k + 1) * N(k + 1) / N(k)
        times in another sample, N(k) being how many names (of this kind of party, all
        countries together) are seen k times. Where names seen twice seldom come in
        threes, a name seen twice is probably one person's two accounts; where they often
        do (a small pool of names), it is probably two namesakes. Where fewer than
        GOOD_TURING_NAMES names are seen k times, the parties that bear it other than the
        pair being scored (k - 2).
    (1) fails for words that go together ("Mary Grace", "Load Centre") and for a small pool
    of names; (2) covers it.
    A city's (a phone's) frequency leaves the party out: (count - 1) / (parties - 1).
    `column` is `name_in_country`, `city_in_country`, `phone_in_country` or `country`."""
    if column == "country":
        return (
            f"SELECT country, count(*) / sum(count(*)) OVER () AS tf_country FROM {records} "
            "WHERE country IS NOT NULL GROUP BY country ORDER BY country"
        )
    sizes = f"SELECT country, count(*) AS parties FROM {records} GROUP BY country"
    if column in ("city_in_country", "phone_in_country"):
        return f"""
            SELECT {column}, greatest(count(*) - 1, 1) / greatest(any_value(parties) - 1, 1)
                   AS tf_{column}
            FROM {records} JOIN ({sizes}) USING (country)
            WHERE {column} IS NOT NULL GROUP BY {column} ORDER BY {column}
        """
    return f"""
        WITH sizes AS ({sizes}),
        names AS (
            SELECT {column}, any_value(country) AS country, any_value(tokens) AS tokens,
                   count(*) AS seen, any_value(parties) AS parties
            FROM {records} JOIN sizes USING (country)
            WHERE {column} IS NOT NULL GROUP BY {column}
        ),
        spectrum AS (SELECT seen, count(*) AS names FROM names GROUP BY seen),
        good_turing AS (
            SELECT a.seen, (a.seen + 1) * coalesce(b.names, 0) / a.names AS expected
            FROM spectrum a LEFT JOIN spectrum b ON b.seen = a.seen + 1
            WHERE a.names >= {GOOD_TURING_NAMES}
        ),
        -- An initial ("j") stands for any word with that first letter ("#j"). Each word
        -- once per party ("Maria Mendoza": "#m" once), counted per name for all who bear it
        -- (the parties of one name have its words; those without one have no words).
        words AS (
            SELECT country, word, sum(seen) / any_value(parties) AS share
            FROM (
                SELECT country, seen, parties, unnest(list_distinct(list_concat(
                    tokens, list_transform(tokens, lambda t: '#' || left(t, 1))))) AS word
                FROM names)
            GROUP BY country, word
        ),
        products AS (
            SELECT {column}, exp(sum(ln(share))) AS product
            FROM (
                SELECT {column}, country, unnest(list_transform(
                    tokens, lambda t: CASE WHEN length(t) = 1 THEN '#' || t ELSE t END)) AS word
                FROM names)
            JOIN words USING (country, word)
            GROUP BY {column}
        )
        SELECT {column},
               greatest(product, coalesce(expected, seen - 2) / greatest(parties - 1, 1))
                   AS tf_{column}
        FROM names JOIN products USING ({column})
        LEFT JOIN good_turing USING (seen)
        ORDER BY {column}
    """


def frequency_columns(kind: PartyKind) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(
            level.tf_column
            for comparison in comparisons_for(kind)
            for level in comparison.levels
            if level.tf_column
        )
    )


# --- Splink settings --------------------------------------------------------------------
def blocking_rules(kind: PartyKind) -> list[Any]:
    """Pairs worth scoring: the same name words in any order (within the country); a word
    plus the initials of the whole name, within the city (beneficiaries) or the country
    (senders); a distinctive payer (payee) in common; the same phone (beneficiaries).
    Every name key shared by more than `max_block_size` parties is dropped, so no rule is
    quadratic."""
    rules = [block_on("country", "core_key")]
    if kind.city_column:
        rules.append(
            block_on("country", "city", "token_keys_city", arrays_to_explode=["token_keys_city"])
        )
    else:
        # Without a city, a word and the initials anywhere in the country ("J. Smith" and
        # "SMITH, John" at two remitters). With a city, accounts in two cities come in
        # through a payer in common instead: the country-wide rule would be the largest
        # and adds next to nothing then.
        rules.append(
            block_on("country", "token_keys_country", arrays_to_explode=["token_keys_country"])
        )
    # A distinctive payer (payee) in common, whatever the names: each counterpart has at
    # most `behaviour.max_counterpart_parties` parties, so this rule is bounded too.
    rules.append(block_on("country", "counterpart_keys", arrays_to_explode=["counterpart_keys"]))
    if kind.phone_column:
        # The same phone (two wallets of one facilitator with no payer in common); a phone
        # of more than `max_counterpart_parties` parties has no key (party_records_sql).
        rules.append(block_on("country", "phone_key"))
    return rules


def _prior(config: ResolutionConfig, comparison: str, level: str) -> LevelPrior:
    return getattr(getattr(config.priors, comparison), level)


def comparison_dicts(
    kind: PartyKind,
    config: ResolutionConfig,
    fitted: dict[tuple[str, str], tuple] | None = None,
    *,
    term_frequencies: bool = True,
    behaviour: bool = True,
    phone: bool = True,
) -> list[dict[str, Any]]:
    """Splink comparison definitions; m / u are the fitted values where given, else priors.
    Without `term_frequencies` (too few parties to count how common a name is) an exact
    match weighs the same for every name."""
    out = []
    for comparison in comparisons_for(kind, behaviour=behaviour, phone=phone):
        levels: list[dict[str, Any]] = [
            {
                "sql_condition": comparison.null_level_sql,
                "label_for_charts": "missing",
                "is_null_level": True,
            }
        ]
        for level in comparison.levels:
            prior = _prior(config, comparison.name, level.key)
            m, u = (fitted or {}).get((comparison.name, level.key), (None, None))
            entry: dict[str, Any] = {
                "sql_condition": level.sql,
                "label_for_charts": level.label,
                "m_probability": m if m is not None else prior.m,
                "u_probability": u if u is not None else prior.u,
            }
            if level.tf_column and term_frequencies:
                entry["tf_adjustment_column"] = level.tf_column
                entry["tf_adjustment_weight"] = 1.0
            levels.append(entry)
        out.append({"output_column_name": comparison.name, "comparison_levels": levels})
    return out


NAMESAKES_PER_NAME = 40  # parties of one name drawn (by id hash) to count namesake pairs
# The party columns the behavioural comparisons read of a pair (as `_l` and `_r`).
PAIR_COLUMNS = (
    "party_id",
    "counterparts",
    "rare_counterparts",
    "reporter",
    "counterpart_count",
    "first_day",
    "last_day",
    "name_in_country",
    "name_core",
    "name_sorted",
    "initials",
    "initial_set",
    "core",
    "tokens",
)


def _columns_read(comparison: Comparison) -> tuple[str, ...]:
    """The PAIR_COLUMNS a comparison's SQL reads (as `_l` / `_r`)."""
    sql = " ".join([comparison.null_sql, *(level.sql for level in comparison.levels)])
    return tuple(c for c in PAIR_COLUMNS if re.search(rf"\b{c}_[lr]\b", sql))


def shared_counterparts_sql(records: str, kind: PartyKind, columns: str) -> str:
    """`columns` of `records` with each counterpart a party shares with others on a row of
    its own, beside the list it comes from (`listed`: 0 the distinctive counterparts, 1
    the rare counterpart people of a kind with a rare level): two parties meeting on a
    (listed, counterpart) are the pairs a counterparts level other than the last can hold
    for."""
    accounts = f"SELECT {columns}, 0 AS listed, unnest(counterparts) AS counterpart FROM {records}"
    if not kind.rare_level:
        return accounts
    people = (
        f"SELECT {columns}, 1 AS listed, unnest(rare_counterparts) AS counterpart FROM {records}"
    )
    return f"{accounts} UNION ALL {people}"


def namesake_levels_sql(kind: PartyKind, records: str, reporters: str | None = None) -> str:
    """How often pairs of parties with the same name in one country fall in each level of
    the behavioural comparisons: (comparison, level, share, pairs compared). At most
    NAMESAKES_PER_NAME parties of a name take part, so the pairs stay bounded.

    `reporters` (FIU mode: a relation of party_id, reporter) pairs namesakes only within one
    reporter: across reporters most namesakes are one customer of two institutions, the
    very pairs to find, and counting their payees in common as what namesakes share would
    turn that evidence against them.

    Every level of the counterparts comparison but the last needs a counterpart (or, the
    rare level, a rare counterpart person) in common (as the pruned scoring holds), and
    most namesakes share none: only the pairs that share one are found (through their
    counterparts) and compared level by level; the others are counted, into the last
    level. The other comparisons read a few numbers of every pair (timing: the first and
    last days), joined without the name and list columns."""
    reporter = "NULL::VARCHAR" if reporters is None else "r.reporter"
    join = "" if reporters is None else f" LEFT JOIN ({reporters}) r USING (party_id)"
    # Only names borne by more than NAMESAKES_PER_NAME parties need the draw (a sort of
    # their ids within each name); a name borne by one party has no pair.
    party_columns = ", ".join(f"c.{c}" for c in PAIR_COLUMNS)
    drawn_columns = f"{party_columns}, c.namesake_key, {reporter} AS namesake_reporter"
    drawn = (
        f"SELECT {drawn_columns} FROM {records} c{join} JOIN bearers b "
        f"ON b.namesake_key = c.namesake_key WHERE b.parties <= {NAMESAKES_PER_NAME} "
        f"UNION ALL SELECT {drawn_columns} FROM {records} c{join} "
        "WHERE c.party_id IN (SELECT party_id FROM drawn_from_common_names)"
    )
    drawn_from_common_names = (
        f"SELECT c.party_id FROM {records} c JOIN bearers b ON b.namesake_key = c.namesake_key "
        f"WHERE b.parties > {NAMESAKES_PER_NAME} QUALIFY row_number() "
        f"OVER (PARTITION BY c.namesake_key ORDER BY hash(c.party_id), c.party_id) "
        f"<= {NAMESAKES_PER_NAME}"
    )
    namesakes = (
        "l.namesake_key = r.namesake_key AND l.party_id < r.party_id "
        "AND l.namesake_reporter IS NOT DISTINCT FROM r.namesake_reporter"
    )
    counts = []
    for comparison in comparisons_for(kind):
        if not comparison.behavioural:
            continue
        last = comparison.levels[-1].key
        cases = " ".join(f"WHEN {level.sql} THEN '{level.key}'" for level in comparison.levels[:-1])
        if comparison.name == kind.counterparts:
            pairs = "sharing_pairs"
            # The namesake pairs whose counterparts are both known and share none.
            counts.append(
                f"SELECT '{comparison.name}', '{last}', "
                "(SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM ("
                "SELECT count(*) AS n FROM drawn WHERE counterparts IS NOT NULL "
                "GROUP BY namesake_key, namesake_reporter)) "
                f"- (SELECT count(*) FROM sharing_pairs WHERE NOT ({comparison.null_sql}))"
            )
        else:
            columns = _columns_read(comparison)
            pairs = (
                "(SELECT "
                + ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns)
                + f" FROM drawn l JOIN drawn r ON {namesakes})"
            )
        counts.append(
            f"SELECT '{comparison.name}', CASE {cases} ELSE '{last}' END, count(*) "
            f"FROM {pairs} WHERE NOT ({comparison.null_sql}) GROUP BY 2"
        )
    pair_columns = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in PAIR_COLUMNS)
    listed = shared_counterparts_sql("drawn", kind, "party_id, namesake_key, namesake_reporter")
    return f"""
        WITH bearers AS (
            SELECT namesake_key, count(*) AS parties FROM {records}
            WHERE namesake_key IS NOT NULL GROUP BY namesake_key HAVING count(*) >= 2
        ),
        drawn_from_common_names AS ({drawn_from_common_names}),
        drawn AS MATERIALIZED ({drawn}),
        listed AS ({listed}),
        sharing AS (
            SELECT DISTINCT l.party_id AS left_id, r.party_id AS right_id
            FROM listed l JOIN listed r
                ON l.listed = r.listed AND l.counterpart = r.counterpart AND {namesakes}
        ),
        sharing_pairs AS (
            SELECT {pair_columns}
            FROM sharing s JOIN drawn l ON l.party_id = s.left_id
            JOIN drawn r ON r.party_id = s.right_id
        ),
        counts (comparison, level, n) AS ({" UNION ALL ".join(counts)}),
        levels AS (
            SELECT comparison, level, sum(n) AS n FROM counts GROUP BY ALL HAVING sum(n) > 0
        )
        SELECT comparison, level, n / sum(n) OVER (PARTITION BY comparison) AS share,
               sum(n) OVER (PARTITION BY comparison) AS pairs
        FROM levels
        ORDER BY ALL
    """
