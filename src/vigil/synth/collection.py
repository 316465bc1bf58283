"""Where the money is collected and which phone the beneficiary gave: the optional
`payout_location` and `beneficiary_phone` columns of the generated payments.

Every person has one mobile number (in E.164, or as written locally with the trunk 0 for a
share of records, as remitters' exports do), recorded on wallet and remittance payments.
Cash pick-ups and wallet cash-outs name an agent in the beneficiary's city. A facilitator's
household collects near home at a few agents (research/exchanges.md §4: the crime scene is
usually the home of the facilitator, a relative or a neighbour [C9][C10]); other
beneficiaries collect at whichever agent of their city is at hand.
"""

from __future__ import annotations

import numpy as np
import phonenumbers
import polars as pl

PHONE_CHANNELS = ("ewallet", "online_remittance", "agent_remittance")
COLLECTION_CHANNELS = ("online_remittance", "agent_remittance", "ewallet")
AGENTS_PER_CITY = 40
HOME_AGENTS = 2  # agents a facilitator household keeps to
HOME_AGENT_SHARE = 0.85  # of its collections
LOCAL_FORMAT_SHARE = 0.3  # phones written 0917... rather than +63917...
FACILITATOR = "facilitator"


def _phones(account: pl.DataFrame, seed: int) -> pl.DataFrame:
    persons = account.select("person", "country").unique("person", keep="first").sort("person")
    rng = np.random.default_rng([seed, 0xF0E])
    n = persons.height
    subscriber = rng.integers(100_000_000, 999_999_999, n)
    local = rng.random(n) < LOCAL_FORMAT_SHARE
    codes = {c: phonenumbers.country_code_for_region(c) for c in persons["country"].unique()}
    phones = []
    for country, number, written_locally in zip(
        persons["country"].to_list(), subscriber.tolist(), local.tolist(), strict=True
    ):
        national = f"9{number}"  # a ten-digit mobile number
        code = codes.get(country) or 0
        phones.append(f"0{national}" if written_locally or not code else f"+{code}{national}")
    return persons.select("person").with_columns(beneficiary_phone=pl.Series(phones))


def add_collection_columns(payment: pl.DataFrame, account: pl.DataFrame, seed: int) -> pl.DataFrame:
    """`payment` (with `account`, `channel`, `beneficiary_city`) plus `beneficiary_phone`
    and `payout_location`; `account` has account, person, household, country, role."""
    phones = _phones(account, seed)
    people = account.select("account", "person", "household", beneficiary_role="role").join(
        phones, on="person"
    )
    joined = payment.join(people, on="account", how="left")
    rng = np.random.default_rng([seed, 0xC011])
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
