"""Assemble a scenario's populations into the canonical files: transactions, labels, parties."""

from __future__ import annotations

import zlib
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from rich.console import Console, Group
from rich.progress import Progress
from rich.table import Table

from vigil.ingest.fx import load_fx_rates
from vigil.schema import CANONICAL_ORDER, LABEL_COLUMNS
from vigil.synth.collection import add_collection_columns
from vigil.synth.engine import Pool, PopulationSimulator, Simulated
from vigil.synth.institutions import split_over_institutions
from vigil.synth.scenario import Population, Scenario, load_scenario
from vigil.synth.shards import SHARD_SENDERS, shard_counts, stream_key
from vigil.synth.timing import format_in_zone

ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "LAK", "COP", "IDR", "VND"})
MERGE_MEMORY = "2GiB"  # DuckDB's limit while it sorts the shards' parties into one file


@dataclass(frozen=True)
class GenerationResult:
    out: Path
    transactions: Path
    labels: Path
    parties: Path
    scenario: str
    payments: int
    makeup: pl.DataFrame  # party_kind, role, parties, payments, median_usd

    def render_makeup(self) -> Group:
        table = Table(title=f"Population '{self.scenario}': {self.payments:,} payments")
        for column in ("kind", "role", "parties", "payments", "median amount (USD)"):
            table.add_column(column, justify="left" if column in ("kind", "role") else "right")
        for row in self.makeup.iter_rows(named=True):
            table.add_row(
                row["party_kind"],
                row["role"],
                f"{row['parties']:,}",
                f"{row['payments']:,}",
                f"{row['median_usd']:,.0f}",
            )
        return Group(table, f"Written to {self.out}/ (transactions.csv, labels.csv, parties.csv)")


def _allocate(total: int, shares: list[float]) -> list[int]:
    """Largest-remainder split of `total` senders by population share."""
    exact = np.asarray(shares) * total
    counts = np.floor(exact).astype(int)
    remainder = total - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts.tolist()


def _usd_per_unit() -> pl.DataFrame:
    """The shipped reference rates (the table ingest converts with), one row per year."""
    rates = load_fx_rates().usd_per_unit
    return pl.DataFrame(
        [(c, y, r) for c, by_year in rates.items() for y, r in by_year.items()],
        schema={"currency": pl.String, "year": pl.Int32, "usd_per_unit": pl.Float64},
        orient="row",
    )


def _to_send_currency(payments: pl.DataFrame, round_share: np.ndarray) -> pl.DataFrame:
    """Amounts in the sender's currency, mostly rounded to 5 / 10 / 50 as people do."""
    rates = _usd_per_unit()
    years = rates.group_by("currency").agg(
        pl.col("year").min().alias("lo"), pl.col("year").max().alias("hi")
    )
    frame = (
        payments.with_columns(year=pl.from_epoch("utc_us", time_unit="us").dt.year())
        .join(years, on="currency", how="left")
        .with_columns(year=pl.col("year").clip(pl.col("lo"), pl.col("hi")))
        .join(rates, on=["currency", "year"], how="left")
    )
    local = (frame["amount_usd"] / frame["usd_per_unit"]).to_numpy()
    zero_dec = frame["currency"].is_in(list(ZERO_DECIMAL_CURRENCIES)).to_numpy()
    unit = np.maximum(1.0, 5 * 10 ** (np.floor(np.log10(local)) - 1))
    rounded = np.maximum(unit, np.round(local / unit) * unit)
    exact = np.where(zero_dec, np.round(local), np.round(local, 2))
    value = np.where(round_share, rounded, exact)
    cents = np.round(value * 100).astype(np.int64)
    text = np.where(
        zero_dec,
        (cents // 100).astype(str),
        np.char.add(
            np.char.add((cents // 100).astype(str), "."),
            np.char.zfill((cents % 100).astype(str), 2),
        ),
    )
    return payments.with_columns(amount=pl.Series(text, dtype=pl.String))


def generate(
    out: Path | str,
    *,
    senders: int | None = None,
    seed: int = 0,
    scenario: str | Path | Scenario = "default",
    progress: bool = False,
    institutions: int | None = None,
    shard_senders: int = SHARD_SENDERS,
) -> GenerationResult:
    """Simulate a payment institution's customers and write the canonical files to `out`.

    Up to `shard_senders` senders are simulated at once; a larger population is simulated
    and written shard by shard (see `SHARD_SENDERS`), so memory stays bounded whatever
    its size. With `institutions`, the same population is then split over that many
    institutions (`vigil.synth.institutions`): `out` gets the files of all of them with a
    `reporter` column, and `out/institutions/inst-K/` each one's own files; the split needs
    the whole population at once, so it is simulated as one shard."""
    if institutions is not None and institutions < 1:
        raise ValueError("institutions must be at least 1")
    if shard_senders < 1:
        raise ValueError("shard_senders must be at least 1")
    spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    total = senders if senders is not None else spec.senders
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = _allocate(total, [p.share for p in spec.populations])
    shard_count = 1 if institutions is not None else max(1, -(-total // shard_senders))
    shards = shard_counts(counts, shard_count)
    numbering = _Numbering(ids=np.random.default_rng([seed, 0x1D5]))
    transactions = out / "transactions.csv"
    labels = out / "labels.csv"
    parties = out / "parties.csv"

    bar = Progress(console=Console(stderr=True), transient=True) if progress else nullcontext()
    with bar as live, transactions.open("wb") as ledger:
        task = (
            live.add_task("Simulating populations", total=len(spec.populations) * len(shards) + 2)
            if live
            else None
        )
        shard_parties: list[Path] = []
        makeups: list[pl.DataFrame] = []
        for shard, counts_in_shard in enumerate(shards):
            parts = _simulate_shard(spec, counts_in_shard, seed, shard, live, task)
            frames = _assemble(spec, parts, seed, shard, numbering)
            del parts
            if institutions is not None:
                frames |= split_over_institutions(
                    frames["transactions"], frames["parties"], institutions, seed
                )
            # The ledger is written as it is made: each shard's payments, in time order.
            frames["transactions"].write_csv(ledger, include_header=shard == 0)
            numbering.payments += frames["transactions"].height
            makeups.append(frames["makeup"])
            if len(shards) == 1:
                frames["labels"].write_csv(labels)
                frames["parties"].write_csv(parties)
            else:
                shard_parties.append(out / f".parties-{shard}.csv")
                frames["parties"].write_csv(shard_parties[-1])
            for name, (own_transactions, own_labels) in frames.get("institutions", {}).items():
                folder = out / "institutions" / name
                folder.mkdir(parents=True, exist_ok=True)
                own_transactions.write_csv(folder / "transactions.csv")
                own_labels.write_csv(folder / "labels.csv")
            del frames
        if live:
            live.update(task, description="Writing files")
            live.advance(task)
        makeup = makeups[0] if len(shards) == 1 else _merge_shards(out, shard_parties, makeups)
        if live:
            live.advance(task)
    return GenerationResult(
        out=out,
        transactions=transactions,
        labels=labels,
        parties=parties,
        scenario=spec.name,
        payments=numbering.payments,
        makeup=makeup,
    )


def _simulate_shard(
    spec: Scenario, counts: list[int], seed: int, shard: int, live: Progress | None, task: object
) -> list[tuple[Simulated, int]]:
    """One shard's populations: each its own senders and beneficiaries; a population that
    pays another's shared pool pays the pool of its own shard."""
    parts: list[tuple[Simulated, int]] = []
    pools: dict[str, Pool] = {}
    for index in _simulation_order(spec.populations):
        pop, n = spec.populations[index], counts[index]
        if n == 0 or any(s.beneficiaries.pool_of not in (None, *pools) for s in (pop, *pop.also)):
            continue  # no senders, or the pool it pays has none (a share of zero)
        # The first shard draws as the unsharded generator always did: same seed, same files.
        rng = np.random.default_rng(stream_key(seed, zlib.crc32(pop.role.encode()), shard))
        sim = PopulationSimulator(spec, rng).run(pop, n, index, pools)
        if sim.pool is not None:
            pools[pop.role] = sim.pool
        parts.append((sim, index))
        if live:
            live.advance(task)
    parts.sort(key=lambda part: part[1])
    return parts


@dataclass
class _Numbering:
    """What carries from one shard to the next so that every identifier stays unique."""

    ids: np.random.Generator  # draws sender and beneficiary ids, shard after shard
    sender_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    beneficiary_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    payments: int = 0
    sender_persons: int = 0
    persons: int = 0
    households: int = 0


def _fresh_ids(rng: np.random.Generator, space: int, count: int, used: np.ndarray) -> np.ndarray:
    """`count` distinct numbers below `space` that are not in `used` (sorted); with none
    used, exactly `rng.choice(space, count, replace=False)`."""
    drawn = rng.choice(space, count, replace=False)
    if not len(used):
        return drawn
    fresh = drawn[~np.isin(drawn, used)]
    while len(fresh) < count:
        more = rng.choice(space, count - len(fresh), replace=False)
        fresh = np.concatenate([fresh, more[~np.isin(more, used) & ~np.isin(more, fresh)]])
    return fresh


def _merge_shards(
    out: Path, shard_parties: list[Path], makeups: list[pl.DataFrame]
) -> pl.DataFrame:
    """labels.csv and parties.csv sorted over all shards (out of core, in DuckDB), and the
    population's makeup from the shards': parties and payments add up (no identifier is in
    two shards); the median amount is the median of the shards' medians (shards are
    samples of one population, so it is close to the whole's, not equal)."""
    parties = out / "parties.csv"
    con = duckdb.connect(config={"memory_limit": MERGE_MEMORY, "temp_directory": str(out)})
    try:
        con.execute(
            "CREATE TABLE parties AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
            [[str(p) for p in shard_parties]],
        )
        con.execute(
            f"COPY (SELECT * FROM parties ORDER BY party_kind, party_id) TO '{parties}' (HEADER)"
        )
        columns = ", ".join(LABEL_COLUMNS)
        con.execute(
            f"COPY (SELECT {columns} FROM parties ORDER BY party_kind, party_id) "
            f"TO '{out / 'labels.csv'}' (HEADER)"
        )
    finally:
        con.close()
    for path in shard_parties:
        path.unlink()
    return (
        pl.concat(makeups)
        .group_by("party_kind", "role")
        .agg(
            parties=pl.col("parties").sum(),
            payments=pl.col("payments").sum(),
            median_usd=pl.col("median_usd").median(),
        )
        .select("party_kind", "role", "parties", "payments", "median_usd")
        .sort(["party_kind", "parties"], descending=[True, True])
    )


def _simulation_order(populations: list[Population]) -> list[int]:
    """Scenario indices, each population after those whose beneficiaries it pays."""
    pays = {
        i: {s.beneficiaries.pool_of for s in (p, *p.also)} - {None}
        for i, p in enumerate(populations)
    }
    return sorted(range(len(populations)), key=lambda i: (bool(pays[i]), i))


def _assemble(
    spec: Scenario,
    parts: list[tuple[Simulated, int]],
    seed: int,
    shard: int,
    numbering: _Numbering,
) -> dict[str, pl.DataFrame]:
    """One shard's files: its parties numbered after those of earlier shards."""
    senders, accounts, payments = [], [], []
    sender_base = account_base = 0
    person_base, household_base = numbering.persons, numbering.households
    sender_person_base = numbering.sender_persons
    first_account: dict[int, int] = {}
    for sim, index in parts:
        first_account[index] = account_base
        senders.append(
            sim.senders.with_columns(
                pl.col("sender") + sender_base, person=pl.col("person") + sender_person_base
            )
        )
        accounts.append(
            sim.accounts.with_columns(
                pl.col("account") + account_base,
                person=pl.col("person") + person_base,
                household=pl.col("household") + household_base,
                population=pl.lit(index),
            )
        )
        payments.append(sim.payments.with_columns(pl.col("sender") + sender_base))
        sender_base += sim.senders.height
        sender_person_base += int(sim.senders["person"].max()) + 1
        account_base += sim.accounts.height
        if sim.accounts.height:
            person_base += int(sim.accounts["person"].max()) + 1
            household_base += int(sim.accounts["household"].max()) + 1
    numbering.persons, numbering.households = person_base, household_base
    numbering.sender_persons = sender_person_base
    sender = pl.concat(senders)
    account = pl.concat(accounts)
    # A payment's account is numbered within the population that owns it.
    payment = (
        pl.concat(payments)
        .with_columns(
            account=pl.col("account")
            + pl.col("account_population").replace_strict(first_account, return_dtype=pl.Int64)
        )
        .drop("account_population")
    )

    # Identifiers carry no trace of the population: random, unique, then sorted into the ledger.
    sender_numbers = _fresh_ids(numbering.ids, 90_000_000, sender.height, numbering.sender_ids)
    numbering.sender_ids = np.union1d(numbering.sender_ids, sender_numbers)
    sender = sender.with_columns(
        sender_id=pl.Series(sender_numbers + 10_000_000).cast(pl.String).str.pad_start(8, "0"),
        currency=pl.col("country").replace_strict(spec.currencies),
    ).with_columns(sender_id=pl.lit("C") + pl.col("sender_id"))
    used = payment["account"].unique().sort()
    account = account.filter(pl.col("account").is_in(used.implode()))
    account_numbers = _fresh_ids(
        numbering.ids, 900_000_000, account.height, numbering.beneficiary_ids
    )
    numbering.beneficiary_ids = np.union1d(numbering.beneficiary_ids, account_numbers)
    account = account.with_columns(
        beneficiary_id=pl.lit("B") + pl.Series(account_numbers + 100_000_000).cast(pl.String)
    )

    payment = payment.join(
        sender.select(
            "sender",
            "sender_id",
            sender_name="name",
            sender_country="country",
            zone="zone",
            currency="currency",
            sender_role="role",
        ),
        on="sender",
    ).join(
        account.select(
            "account",
            "beneficiary_id",
            beneficiary_name="name",
            beneficiary_country="country",
            beneficiary_city="city",
        ),
        on="account",
    )
    payment = payment.sort(["utc_us", "sender_id", "beneficiary_id", "amount_usd"])
    round_prob = payment["round_p"].to_numpy()
    rounds = np.random.default_rng(stream_key(seed, 0xA11, shard)).random(payment.height)
    rounds = rounds < round_prob
    payment = _to_send_currency(payment, rounds)
    payment = payment.with_columns(
        txn_id=pl.lit("T")
        + pl.int_range(numbering.payments + 1, numbering.payments + payment.height + 1)
        .cast(pl.String)
        .str.pad_start(9, "0"),
        ts=pl.Series(
            format_in_zone(payment["utc_us"].to_numpy(), payment["zone"].to_numpy()),
            dtype=pl.String,
        ),
    )
    payment = add_collection_columns(payment, account, seed, shard)  # payout point, phone
    # every canonical column the population has (a `reporter` only when split over institutions)
    transactions = payment.select([c for c in CANONICAL_ORDER if c in payment.columns])

    labels = pl.concat(
        [
            sender.select(party_kind=pl.lit("sender"), party_id="sender_id", role="role"),
            account.select(
                party_kind=pl.lit("beneficiary"), party_id="beneficiary_id", role="role"
            ),
        ]
    ).sort(["party_kind", "party_id"])
    parties = pl.concat(
        [
            sender.select(
                party_kind=pl.lit("sender"),
                party_id="sender_id",
                role="role",
                segment="segment",
                person_id=pl.lit("S") + pl.col("person").cast(pl.String),
                household_id=pl.lit(None, pl.String),
            ),
            account.select(
                party_kind=pl.lit("beneficiary"),
                party_id="beneficiary_id",
                role="role",
                segment=pl.lit(None, pl.String),
                person_id=pl.lit("P") + pl.col("person").cast(pl.String),
                household_id=pl.lit("H") + pl.col("household").cast(pl.String),
            ),
        ]
    ).sort(["party_kind", "party_id"])

    makeup = (
        pl.concat(
            [
                payment.group_by(role="sender_role").agg(
                    party_kind=pl.lit("sender"),
                    parties=pl.col("sender_id").n_unique(),
                    payments=pl.len(),
                    median_usd=pl.col("amount_usd").median(),
                ),
                payment.join(account.select("beneficiary_id", "role"), on="beneficiary_id")
                .group_by("role")
                .agg(
                    party_kind=pl.lit("beneficiary"),
                    parties=pl.col("beneficiary_id").n_unique(),
                    payments=pl.len(),
                    median_usd=pl.col("amount_usd").median(),
                ),
            ]
        )
        .select("party_kind", "role", "parties", "payments", "median_usd")
        .sort(["party_kind", "parties"], descending=[True, True])
    )
    assert labels.columns == list(LABEL_COLUMNS)
    return {"transactions": transactions, "labels": labels, "parties": parties, "makeup": makeup}
