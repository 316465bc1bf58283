"""The hard scenarios' populations, each checked for its signature on generated data: the
look-alikes that share the pattern and the offenders and facilitators who hide."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from vigil.synth import generate
from vigil.synth.scenario import Scenario, load_scenario

ENRICHED = {  # shares large enough to see each population's signature in 3,000 senders
    "offender": 0.03,
    "offender_low_slow": 0.01,
    "offender_newcomer": 0.01,
    "offender_diaspora": 0.01,
    "offender_split": 0.01,
    "facilitator_relative": 0.02,
    "webcam_customer": 0.1,
    "romance_victim": 0.06,
    "expat_retiree": 0.05,
    "tutoring_student": 0.05,
    "va_client": 0.04,
}


def test_hard_scenarios_put_offenders_at_one_in_a_thousand():
    for name in ("hard_global", "hard_european"):
        scenario = load_scenario(name)
        offenders = sum(p.share for p in scenario.populations if p.label_role == "offender")
        assert offenders == pytest.approx(0.001)
        assert {p.segment for p in scenario.populations if p.label_role == "offender"} >= {
            "low_and_slow",
            "newcomer",
            "diaspora",
            "split_ids",
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = load_scenario("hard_global").model_dump(mode="python")
    rest = 1 - sum(ENRICHED.values())
    others = [p for p in base["populations"] if p["role"] not in ENRICHED]
    total = sum(p["share"] for p in others)
    for p in base["populations"]:
        p["share"] = ENRICHED.get(p["role"], p["share"] * rest / total if p in others else 0)
    base["populations"][-1]["share"] += 1 - sum(p["share"] for p in base["populations"])
    scenario = Scenario.model_validate(base)
    data = generate(tmp_path_factory.mktemp("hard"), senders=3000, seed=11, scenario=scenario)
    payments = pl.read_csv(data.transactions, infer_schema=False).with_columns(
        amount=pl.col("amount").cast(pl.Float64),
        at=pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z").dt.convert_time_zone("UTC"),
    )
    parties = pl.read_csv(data.parties, infer_schema=False)
    senders = parties.filter(pl.col("party_kind") == "sender").select(
        sender_id="party_id", sender_role="role", segment="segment", sender_person="person_id"
    )
    accounts = parties.filter(pl.col("party_kind") == "beneficiary").select(
        beneficiary_id="party_id", beneficiary_role="role", person="person_id"
    )
    joined = payments.join(senders, on="sender_id").join(accounts, on="beneficiary_id")
    return scenario, joined


def of(world, role: str) -> pl.DataFrame:
    return world[1].filter(pl.col("sender_role") == role)


def test_webcam_performers_have_a_heavy_tail_of_customers_and_tips_follow_minutes_after(world):
    webcam = of(world, "webcam_customer")
    customers = webcam.group_by("person").agg(pl.col("sender_id").n_unique().alias("n"))["n"]
    assert customers.max() >= 4 * customers.median()
    ordered = webcam.sort("sender_id", "beneficiary_id", "at").with_columns(
        gap=pl.col("at").diff().over("sender_id", "beneficiary_id")
    )
    tips = (ordered["gap"] < timedelta(minutes=15)).mean()
    assert tips > 0.2


def test_romance_victims_pay_a_persona_then_shared_mules_ever_more(world):
    romance = of(world, "romance_victim").sort("sender_id", "at")
    first = romance.group_by("sender_id").agg(pl.col("beneficiary_role").first())
    assert (first["beneficiary_role"] == "scam_persona").mean() > 0.7
    mules = romance.filter(pl.col("beneficiary_role") == "money_mule")
    victims = mules.group_by("person").agg(pl.col("sender_id").n_unique().alias("n"))["n"]
    assert (victims >= 2).mean() > 0.3
    growth = (
        mules.with_columns(
            third=(pl.int_range(pl.len()).over("sender_id") * 3 // pl.len().over("sender_id"))
        )
        .group_by("sender_id")
        .agg(
            first=pl.col("amount").filter(pl.col("third") == 0).median(),
            last=pl.col("amount").filter(pl.col("third") == 2).median(),
            n=pl.len(),
        )
        .filter(pl.col("n") >= 6)
    )
    assert (growth["last"] / growth["first"]).median() > 2
    assert mules["amount"].max() > 3000


def test_expatriates_pay_a_helper_monthly_a_shared_landlord_and_school_fees_twice_a_year(world):
    expat = of(world, "expat_retiree")
    landlords = expat.filter(pl.col("beneficiary_role") == "landlord")
    tenants = landlords.group_by("person").agg(pl.col("sender_id").n_unique().alias("n"))["n"]
    assert tenants.max() >= 2
    fees = expat.filter(pl.col("beneficiary_role") == "student_guardian")
    per_year = fees.group_by("sender_id", pl.col("at").dt.year()).len()["len"]
    assert per_year.max() <= 3
    helper = expat.filter(pl.col("beneficiary_role") == "household_helper").sort("sender_id", "at")
    gaps = helper.with_columns(gap=pl.col("at").diff().over("sender_id"))["gap"].drop_nulls()
    assert timedelta(days=24) < gaps.median() < timedelta(days=36)


def test_students_of_online_tutors_pay_weekly_and_tutors_have_many_students(world):
    students = of(world, "tutoring_student").sort("sender_id", "at")
    gaps = students.with_columns(gap=pl.col("at").diff().over("sender_id"))["gap"].drop_nulls()
    assert timedelta(days=6) <= gaps.median() <= timedelta(days=8)
    per_tutor = students.group_by("person").agg(pl.col("sender_id").n_unique().alias("n"))["n"]
    assert per_tutor.median() >= 3


def test_newcomers_pay_a_few_times_at_the_end_to_facilitators_others_pay(world):
    scenario, payments = world
    newcomers = payments.filter(pl.col("segment") == "newcomer")
    end_month = scenario.start.month - 1 + scenario.months
    end = datetime(scenario.start.year + end_month // 12, end_month % 12 + 1, 1)
    cutoff = end - timedelta(days=100)
    assert (newcomers["at"].dt.replace_time_zone(None) >= cutoff).all()
    assert newcomers.group_by("sender_id").len()["len"].max() <= 12
    veterans = payments.filter(
        (pl.col("sender_role") == "offender") & (pl.col("segment") != "newcomer")
    )["person"]
    assert newcomers["person"].is_in(veterans.implode()).mean() > 0.8


def test_low_and_slow_offenders_pay_one_exclusive_facilitator_a_few_times_a_month(world):
    _, payments = world
    slow = payments.filter(pl.col("segment") == "low_and_slow")
    assert (slow.group_by("sender_id").agg(pl.col("person").n_unique())["person"] == 1).all()
    others = payments.filter(pl.col("segment") != "low_and_slow")["person"]
    assert not slow["person"].is_in(others.implode()).any()
    rate = slow.group_by("sender_id").agg(
        n=pl.len(), months=(pl.col("at").max() - pl.col("at").min()).dt.total_days() / 30.44
    )
    assert (rate["n"] / rate["months"].clip(lower_bound=1)).median() < 3


def test_split_offenders_pay_under_two_ids_with_the_name_typed_another_way(world):
    _, payments = world
    split = payments.filter(pl.col("segment") == "split_ids")
    people = split.group_by("sender_person").agg(
        ids=pl.col("sender_id").n_unique(), names=pl.col("sender_name").n_unique()
    )
    # Everyone with two sessions or more splits them over two ids, each under its own name.
    assert people["ids"].is_in([1, 2]).all() and (people["ids"] == people["names"]).all()
    assert (people["ids"] == 2).mean() > 0.8


def test_diaspora_offenders_send_family_money_too_and_relatives_pay_facilitators(world):
    _, payments = world
    surname = pl.col("sender_name").str.split(" ").list.last().str.to_lowercase()
    related = pl.col("beneficiary_name").str.to_lowercase().str.contains(surname)
    diaspora = payments.filter(pl.col("segment") == "diaspora").with_columns(related=related)
    per = diaspora.group_by("sender_id").agg(
        family=(pl.col("beneficiary_role") == "family").any(),
        facilitator=(pl.col("beneficiary_role") == "facilitator").any(),
    )
    assert per["family"].all() and per["facilitator"].all()
    relatives = of(world, "facilitator_relative").with_columns(related=related)
    assert (relatives["beneficiary_role"] == "facilitator").all()
    assert relatives["related"].mean() > 0.5


def test_churning_facilitators_open_a_new_wallet_as_the_old_one_stops(world):
    _, payments = world
    facilitators = payments.filter(pl.col("beneficiary_role") == "facilitator")
    spans = facilitators.group_by("person", "beneficiary_id").agg(
        first=pl.col("at").min(), last=pl.col("at").max()
    )
    churned = spans.group_by("person").agg(pl.len().alias("wallets")).filter(pl.col("wallets") >= 3)
    assert churned.height >= 3
    ordered = spans.join(churned, on="person").sort("person", "first")
    overlap = ordered.with_columns(previous_last=pl.col("last").shift().over("person")).drop_nulls(
        "previous_last"
    )
    # Most wallets open after (or within a week of) the previous one's last payment.
    assert ((overlap["first"] - overlap["previous_last"]) > timedelta(days=-7)).mean() > 0.6
