"""One population, several institutions: the split behind `vigil generate --institutions N`.

The population is the one `vigil generate` makes for the same seed and options; the split is
a deterministic step after it, so a benchmark can compare N institutions with one that sees
everything. What differs between institutions is what differs in life:

- a customer has an id of each institution they use (the same person is `C123...` at one
  and `C987...` at another), and the name is sometimes typed another way;
- a beneficiary id is an account or wallet identifier, the same whoever pays it;
- offenders spread their payments over two or three remitters and banks (typologies.md R15:
  one offender seen in a bank's and three remitters' reports [S2]; a new account after a
  block [S9]); most legitimate senders use one institution and a minority two.

A sender moves between its institutions per beneficiary and calendar month (a remitter
used for one person, another after a block or a change of habit); its first few
(beneficiary, month) streams go one to each of its institutions, so an offender who pays in
two months or more is seen by at least two of them.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from vigil.schema import CANONICAL_ORDER, LABEL_COLUMNS

OFFENDER_INSTITUTIONS = (2, 3)  # drawn with equal chance, at most N
MULTI_INSTITUTION_SHARE = 0.15  # legitimate senders using a second institution
NAME_RETYPED_SHARE = 0.5  # at a customer's other institutions, a name typed another way
REPORTER = "reporter"
# An institution's own export names no reporter; the files of all of them together do, last.
OWN_COLUMNS = tuple(c for c in CANONICAL_ORDER if c != REPORTER)
TRANSACTION_COLUMNS = (*OWN_COLUMNS, REPORTER)


def institution_names(institutions: int) -> list[str]:
    return [f"inst-{k}" for k in range(1, institutions + 1)]


def split_over_institutions(
    transactions: pl.DataFrame, parties: pl.DataFrame, institutions: int, seed: int
) -> dict[str, object]:
    """The population's files as N institutions report them.

    Returns `transactions` (every payment, with `reporter` and that institution's sender
    id and name), `labels` (senders per reporter, beneficiaries once with no reporter),
    `parties` (ground truth: each (reporter, sender id) with its person and its id in the
    unsplit population), and `institutions`: name → (its transactions, its labels) as its
    own export, without a reporter column.
    """
    names = institution_names(institutions)
    rng = np.random.default_rng([seed, 0x1A57])
    senders = (
        parties.filter(pl.col("party_kind") == "sender")
        .select("party_id", "role", "segment", "person_id")
        .sort("party_id")
        .with_row_index("sender_index")
    )
    n = senders.height
    offender = (senders["role"] == "offender").to_numpy()
    used = np.where(
        offender,
        rng.choice(OFFENDER_INSTITUTIONS, n),
        np.where(rng.random(n) < MULTI_INSTITUTION_SHARE, 2, 1),
    )
    used = np.minimum(used, institutions)
    # Row s is sender s's institutions in the order it took them up: the first is its home.
    preference = np.argsort(rng.random((n, institutions)), axis=1, kind="stable")
    senders = senders.with_columns(institutions_used=pl.Series(used, dtype=pl.Int64))

    month = pl.col("ts").str.slice(0, 4).cast(pl.Int64) * 12 + pl.col("ts").str.slice(5, 2).cast(
        pl.Int64
    )
    payments = transactions.with_row_index("row").join(
        senders.select(sender_id="party_id", sender_index="sender_index", used="institutions_used"),
        on="sender_id",
    )
    streams = (
        payments.with_columns(month=month)
        .group_by("sender_index", "beneficiary_id", "month")
        .agg(first_row=pl.col("row").min(), used=pl.col("used").first())
        .sort("sender_index", "first_row")
        .with_columns(order=pl.int_range(pl.len()).over("sender_index"))
    )
    drawn = np.floor(rng.random(streams.height) * streams["used"].to_numpy()).astype(np.int64)
    order = streams["order"].to_numpy()
    slot = np.where(order < streams["used"].to_numpy(), order, drawn)
    institution = preference[streams["sender_index"].to_numpy(), slot]
    streams = streams.select(
        "sender_index", "beneficiary_id", "month", institution=pl.Series(institution)
    )
    payments = (
        payments.with_columns(month=month)
        .join(streams, on=["sender_index", "beneficiary_id", "month"])
        .sort("row")
    )

    accounts = _customer_accounts(payments, preference, names, rng)
    payments = payments.join(accounts, on=["sender_index", "institution"]).sort("row")
    split = payments.with_columns(
        sender_id=pl.col("customer_id"), sender_name=pl.col("customer_name")
    ).select(TRANSACTION_COLUMNS)

    ground_truth = accounts.join(senders, on="sender_index")
    sender_labels = ground_truth.select(
        party_kind=pl.lit("sender"), party_id="customer_id", role="role", reporter=REPORTER
    )
    beneficiary_labels = parties.filter(pl.col("party_kind") == "beneficiary").select(
        "party_kind", "party_id", "role", reporter=pl.lit(None, pl.String)
    )
    labels = pl.concat([sender_labels, beneficiary_labels]).sort(
        "party_kind", REPORTER, "party_id", nulls_last=True
    )
    truth = pl.concat(
        [
            ground_truth.select(
                party_kind=pl.lit("sender"),
                party_id="customer_id",
                reporter=REPORTER,
                role="role",
                segment="segment",
                person_id="person_id",
                household_id=pl.lit(None, pl.String),
                population_party_id="party_id",
            ),
            parties.filter(pl.col("party_kind") == "beneficiary").select(
                "party_kind",
                "party_id",
                reporter=pl.lit(None, pl.String),
                role="role",
                segment="segment",
                person_id="person_id",
                household_id="household_id",
                population_party_id="party_id",
            ),
        ]
    ).sort("party_kind", REPORTER, "party_id", nulls_last=True)

    own: dict[str, tuple[pl.DataFrame, pl.DataFrame]] = {}
    for name in names:
        mine = split.filter(pl.col(REPORTER) == name)
        paid = mine.select(party_id="beneficiary_id").unique()
        own_labels = pl.concat(
            [
                sender_labels.filter(pl.col(REPORTER) == name),
                beneficiary_labels.join(paid, on="party_id"),
            ]
        ).select(LABEL_COLUMNS)
        own[name] = (mine.select(OWN_COLUMNS), own_labels.sort("party_kind", "party_id"))
    return {"transactions": split, "labels": labels, "parties": truth, "institutions": own}


def _customer_accounts(
    payments: pl.DataFrame, preference: np.ndarray, names: list[str], rng: np.random.Generator
) -> pl.DataFrame:
    """One row per (sender, institution) that carries payments: the institution's own
    customer id and the name as it typed it (as given at the home institution, else half
    the time upper case or "Surname, Given")."""
    accounts = (
        payments.group_by("sender_index", "institution")
        .agg(name=pl.col("sender_name").first())
        .sort("sender_index", "institution")
    )
    ids = rng.choice(90_000_000, accounts.height, replace=False) + 10_000_000
    home = preference[accounts["sender_index"].to_numpy(), 0]
    elsewhere = accounts["institution"].to_numpy() != home
    retyped = elsewhere & (rng.random(accounts.height) < NAME_RETYPED_SHARE)
    upper = rng.random(accounts.height) < 0.5
    given = pl.col("name").str.replace(r"\s+\S+$", "")
    surname = pl.col("name").str.extract(r"(\S+)$")
    inverted = (
        pl.when(given == pl.col("name"))
        .then(pl.col("name"))
        .otherwise(pl.concat_str(surname, pl.lit(", "), given))
    )
    return accounts.with_columns(
        customer_id=pl.lit("C") + pl.Series(ids).cast(pl.String).str.pad_start(8, "0"),
        customer_name=pl.when(pl.Series(retyped & upper))
        .then(pl.col("name").str.to_uppercase())
        .when(pl.Series(retyped))
        .then(inverted)
        .otherwise(pl.col("name")),
        reporter=pl.Series(names, dtype=pl.String).gather(accounts["institution"]),
    ).select("sender_index", "institution", "customer_id", "customer_name", REPORTER)
