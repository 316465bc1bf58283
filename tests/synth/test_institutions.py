"""`vigil generate --institutions N`: one population, as N institutions would report it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from vigil.schema import LABEL_COLUMNS
from vigil.synth import generate
from vigil.synth.institutions import OWN_COLUMNS, TRANSACTION_COLUMNS

SENDERS, SEED = 1500, 5


@pytest.fixture(scope="module")
def populations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("institutions")
    generate(root / "whole", senders=SENDERS, seed=SEED)
    generate(root / "split", senders=SENDERS, seed=SEED, institutions=3)
    return {"whole": root / "whole", "split": root / "split", "root": root}


def read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def test_same_seed_and_options_give_identical_files(populations):
    again = populations["root"] / "again"
    generate(again, senders=SENDERS, seed=SEED, institutions=3)
    split = populations["split"]
    files = sorted(p.relative_to(split) for p in split.rglob("*.csv"))
    assert len(files) == 3 + 2 * 3
    assert files == sorted(p.relative_to(again) for p in again.rglob("*.csv"))
    for file in files:
        assert (split / file).read_bytes() == (again / file).read_bytes(), file


def test_union_of_institutions_is_the_unsplit_population(populations):
    whole = read(populations["whole"] / "transactions.csv")
    split = read(populations["split"] / "transactions.csv")
    parties = read(populations["split"] / "parties.csv")
    assert split.columns == list(TRANSACTION_COLUMNS) and TRANSACTION_COLUMNS[-1] == "reporter"
    assert split.height == whole.height
    assert set(split["reporter"].unique()) == {"inst-1", "inst-2", "inst-3"}
    same = [c for c in OWN_COLUMNS if c not in ("sender_id", "sender_name")]
    assert split.select(same).equals(whole.select(same))  # same payments, same order
    # Each institution's customer id leads back to the population's sender of the payment.
    mapped = split.join(
        parties.select(sender_id="party_id", reporter="reporter", person="population_party_id"),
        on=["sender_id", "reporter"],
        how="left",
    )
    assert mapped["person"].to_list() == whole["sender_id"].to_list()


def test_customer_ids_are_the_institutions_own_beneficiary_ids_are_shared(populations):
    split = read(populations["split"] / "transactions.csv")
    customers = split.select("reporter", "sender_id").unique()
    assert customers["sender_id"].n_unique() == customers.height  # one id, one institution
    wallets = split.group_by("beneficiary_id").agg(pl.col("reporter").n_unique())
    assert wallets["reporter"].max() == 3  # one wallet, paid through several institutions
    whole = read(populations["whole"] / "transactions.csv")
    assert set(split["beneficiary_id"]) == set(whole["beneficiary_id"])


def test_offenders_use_several_institutions_most_customers_one(populations):
    parties = read(populations["split"] / "parties.csv").filter(party_kind="sender")
    per_person = parties.group_by("population_party_id", "role").agg(
        institutions=pl.col("reporter").n_unique()
    )
    payments = (
        read(populations["whole"] / "transactions.csv")
        .group_by(population_party_id="sender_id")
        .agg(months=pl.col("ts").str.slice(0, 7).n_unique())
    )
    offenders = per_person.filter(role="offender").join(payments, on="population_party_id")
    assert offenders.height > 5
    # Every offender who pays in two months or more is seen by two institutions or three.
    several = offenders.filter(pl.col("months") >= 2)["institutions"]
    assert several.len() >= 0.8 * offenders.height
    assert several.min() >= 2 and several.max() == 3
    others = per_person.filter(pl.col("role") != "offender")["institutions"]
    one = (others == 1).mean()
    assert 0.75 < one < 0.95  # most legitimate senders at one, a realistic minority at two
    assert others.max() == 2


def test_labels_and_ground_truth_name_the_reporter_of_each_customer(populations):
    split = populations["split"]
    labels = read(split / "labels.csv")
    assert labels.columns == [*LABEL_COLUMNS, "reporter"]
    senders = labels.filter(party_kind="sender")
    assert senders["reporter"].null_count() == 0
    assert (
        labels.filter(party_kind="beneficiary")["reporter"].null_count()
        == labels.filter(party_kind="beneficiary").height
    )
    tx = read(split / "transactions.csv")
    customers = tx.select(party_id="sender_id", reporter="reporter").unique()
    assert customers.join(senders, on=["party_id", "reporter"], how="anti").height == 0
    whole_roles = read(populations["whole"] / "labels.csv").filter(party_kind="sender")
    truth = read(split / "parties.csv").filter(party_kind="sender")
    joined = truth.join(
        whole_roles.select(population_party_id="party_id", whole_role="role"),
        on="population_party_id",
    )
    assert joined.height == truth.height and (joined["role"] == joined["whole_role"]).all()


def test_each_institution_gets_its_own_files_for_a_siloed_scan(populations):
    split = populations["split"]
    tx = read(split / "transactions.csv")
    for name in ("inst-1", "inst-2", "inst-3"):
        own = read(split / "institutions" / name / "transactions.csv")
        assert own.columns == list(OWN_COLUMNS)
        assert own.equals(tx.filter(reporter=name).drop("reporter"))
        labels = read(split / "institutions" / name / "labels.csv")
        assert labels.columns == list(LABEL_COLUMNS)
        senders = set(labels.filter(party_kind="sender")["party_id"])
        beneficiaries = set(labels.filter(party_kind="beneficiary")["party_id"])
        assert senders == set(own["sender_id"]) and beneficiaries == set(own["beneficiary_id"])


def test_a_name_is_sometimes_typed_another_way_at_another_institution(populations):
    split = read(populations["split"] / "transactions.csv")
    parties = read(populations["split"] / "parties.csv").filter(party_kind="sender")
    names = (
        split.select("sender_id", "reporter", "sender_name")
        .unique()
        .join(parties, left_on=["sender_id", "reporter"], right_on=["party_id", "reporter"])
        .group_by("population_party_id")
        .agg(spellings=pl.col("sender_name").n_unique(), seen=pl.len())
        .filter(pl.col("seen") > 1)
    )
    retyped = (names["spellings"] > 1).mean()
    assert 0.2 < retyped < 0.8
