"""Where the money is collected and which phone the beneficiary gave: the optional
`payout_location` and `beneficiary_phone` columns of the generated payments.

Every person has one mobile number that their country's numbering plan accepts (in E.164,
or for a share of records as dialled at home, with the trunk 0 where the country has one, as
remitters' exports do), recorded on wallet and remittance payments.
Cash pick-ups and wallet cash-outs name an agent in the beneficiary's city. A facilitator's
household collects near home at a few agents (research/exchanges.md §4: the crime scene is
usually the home of the facilitator, a relative or a neighbour [C9][C10]); other
beneficiaries collect at whichever agent of their city is at hand.
"""

from __future__ import annotations

import functools

import numpy as np
import phonenumbers
import polars as pl

from vigil.synth.shards import stream_key

PHONE_CHANNELS = ("ewallet", "online_remittance", "agent_remittance")
COLLECTION_CHANNELS = ("online_remittance", "agent_remittance", "ewallet")
AGENTS_PER_CITY = 40
HOME_AGENTS = 2  # agents a facilitator household keeps to
HOME_AGENT_SHARE = 0.85  # of its collections
LOCAL_FORMAT_SHARE = 0.3  # phones written as dialled at home, 0917... rather than +63917...
MOBILE_PREFIX_DIGITS = 3  # kept from the numbering plan's example mobile number
MOBILE_DRAWS = 50  # tries at a number the plan accepts before taking the example itself
FACILITATOR = "facilitator"


@functools.cache
def _plan(country: str) -> tuple[int, str | None]:
    """The country's calling code and its plan's example mobile number (national digits)."""
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number) if example is not None else None
    return phonenumbers.country_code_for_region(country), national


def _is_valid(code: int, national: str) -> bool:
    # Built rather than parsed from text (the parse was most of the generator's time); the
    # national numbers here never start with 0, so nothing of the text is lost.
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return phonenumbers.is_valid_number(number)


def mobile_number(country: str, rng: np.random.Generator, national: str | None = None) -> str:
    """A mobile number in E.164 that `country`'s numbering plan accepts (phonenumbers'
    metadata, as the exchange parsers check it): `national` when it is one, else the
    leading digits of the plan's example mobile number and the rest drawn."""
    code, sample = _plan(country)
    national = national or f"9{rng.integers(100_000_000, 999_999_999)}"
    if not code or sample is None or _is_valid(code, national):
        return f"+{code}{national}" if code else f"0{national}"
    for _ in range(MOBILE_DRAWS):
        drawn = "".join(map(str, rng.integers(0, 10, len(sample) - MOBILE_PREFIX_DIGITS)))
        if _is_valid(code, sample[:MOBILE_PREFIX_DIGITS] + drawn):
            return f"+{code}{sample[:MOBILE_PREFIX_DIGITS]}{drawn}"
    return f"+{code}{sample}"


def _phones(account: pl.DataFrame, seed: int, shard: int) -> pl.DataFrame:
    persons = account.select("person", "country").unique("person", keep="first").sort("person")
    rng = np.random.default_rng(stream_key(seed, 0xF0E, shard))
    n = persons.height
    subscriber = rng.integers(100_000_000, 999_999_999, n)
    local = rng.random(n) < LOCAL_FORMAT_SHARE
    # Numbers a country's plan rejects are redrawn from their own stream, so that the
    # numbers it accepts (and every other column) stay those of earlier versions.
    redraw = np.random.default_rng(stream_key(seed, 0xF0F, shard))
    phones = []
    for country, number, written_locally in zip(
        persons["country"].to_list(), subscriber.tolist(), local.tolist(), strict=True
    ):
        phone = mobile_number(country, redraw, f"9{number}")
        phones.append(_written_locally(phone) if written_locally else phone)
    return persons.select("person").with_columns(beneficiary_phone=pl.Series(phones))


def _written_locally(phone: str) -> str:
    """The number as dialled within its country, digits only: 09171234567 in the
    Philippines (trunk 0), 2221234567 in Mexico (none), 8092345678 in the Dominican Republic."""
    if not phone.startswith("+"):
        return phone
    national = phonenumbers.format_number(
        phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    return "".join(c for c in national if c.isdigit())


def add_collection_columns(
    payment: pl.DataFrame, account: pl.DataFrame, seed: int, shard: int = 0
) -> pl.DataFrame:
    """`payment` (with `account`, `channel`, `beneficiary_city`) plus `beneficiary_phone`
    and `payout_location`; `account` has account, person, household, country, role."""
    phones = _phones(account, seed, shard)
    people = account.select("account", "person", "household", beneficiary_role="role").join(
        phones, on="person"
    )
    joined = payment.join(people, on="account", how="left")
    rng = np.random.default_rng(stream_key(seed, 0xC011, shard))
    n = joined.height
    household = joined["household"].to_numpy()
    # Each household's two agents, fixed: drawn from its number, not from the payment.
    preferred = (household * 7919 + seed) % AGENTS_PER_CITY
    step = 1 + (household * 104729 + seed) % (AGENTS_PER_CITY - 1)
    second = (preferred + step) % AGENTS_PER_CITY
    home = np.where(rng.random(n) < 0.5, preferred, second)
    anywhere = rng.integers(0, AGENTS_PER_CITY, n)
    keeps_home = (joined["beneficiary_role"].to_numpy() == FACILITATOR) & (
        rng.random(n) < HOME_AGENT_SHARE
    )
    agent = np.where(keeps_home, home, anywhere) + 1
    joined = joined.with_columns(agent=pl.Series(agent, dtype=pl.Int64))
    channel = pl.col("channel")
    return joined.with_columns(
        payout_location=pl.when(
            channel.is_in(COLLECTION_CHANNELS) & pl.col("beneficiary_city").is_not_null()
        ).then(
            pl.format(
                "Agent {}, {}",
                pl.col("agent").cast(pl.String).str.pad_start(3, "0"),
                pl.col("beneficiary_city"),
            )
        ),
        beneficiary_phone=pl.when(channel.is_in(PHONE_CHANNELS)).then(pl.col("beneficiary_phone")),
    ).drop("person", "household", "beneficiary_role", "agent")
