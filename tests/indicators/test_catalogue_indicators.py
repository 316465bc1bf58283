"""Each indicator of the catalogue on the smallest payment table that shows it: fires or not."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.builders import payment, series

DAY = timedelta(days=1)
# 12:00 UTC is 20:00 in Manila: the facilitator's evening; 02:00 UTC is 10:00 there.
MANILA_EVENING = datetime(2024, 3, 1, 12, 0)
MANILA_MORNING = datetime(2024, 3, 1, 2, 0)


def regular_payer(sender: str, beneficiary: str, **kwargs) -> list[dict[str, str]]:
    """Six small payments to the Philippines in 25 days: enough for R1."""
    return series(sender, beneficiary, MANILA_EVENING, 6, 5 * DAY, **kwargs)


def test_r1_fires_on_frequent_small_payments_to_a_high_risk_country(run_scan):
    rows = regular_payer("alice", "w1") + series("bob", "w2", MANILA_EVENING, 3, 5 * DAY)
    rows += series("carl", "w3", MANILA_EVENING, 6, 5 * DAY, amount=900)
    rows += series("dave", "w4", MANILA_EVENING, 6, 5 * DAY, beneficiary_country="GB")
    scanned = run_scan(rows)
    assert "R1" in scanned.fired("sender", "alice")
    assert "6 payments of 10-200 USD" in scanned.figures("sender", "alice", "R1")
    for too_few_too_large_or_elsewhere in ("bob", "carl", "dave"):
        assert "R1" not in scanned.fired("sender", too_few_too_large_or_elsewhere)


def test_r2_counts_unrelated_beneficiaries_not_relatives(run_scan):
    rows = [payment("alice", f"w{i}", MANILA_EVENING + i * DAY) for i in range(4)]
    rows += [
        payment(
            "maria",
            f"f{i}",
            MANILA_EVENING + i * DAY,
            sender_name="Maria Santos",
            beneficiary_name=f"{given} Santos",
        )
        for i, given in enumerate(["Jose", "Lorna", "Ramon", "Divina"])
    ]
    scanned = run_scan(rows)
    assert "R2" in scanned.fired("sender", "alice")
    assert "R2" not in scanned.fired("sender", "maria")


def test_r3_no_family_link_only_counts_with_a_core_indicator(run_scan):
    rows = regular_payer("alice", "w1")
    rows += regular_payer("maria", "f1", sender_name="Maria Reyes", beneficiary_name="REYES, Jose")
    rows += [payment("olga", "w9", MANILA_EVENING)]  # one payment, no family link: not enough
    scanned = run_scan(rows)
    assert "R3" in scanned.fired("sender", "alice")
    assert "R3" not in scanned.fired("sender", "maria")
    assert "R3" not in scanned.fired("sender", "olga")


def test_r4_beneficiary_paid_by_other_unrelated_customers(run_scan):
    rows = regular_payer("alice", "shared") + regular_payer("bob", "shared")
    rows += regular_payer("carl", "own")
    scanned = run_scan(rows)
    assert "R4" in scanned.fired("sender", "alice") and "R4" in scanned.fired("sender", "bob")
    assert "R4" not in scanned.fired("sender", "carl")


def test_r5_payments_in_the_facilitators_evening(run_scan):
    rows = regular_payer("alice", "w1")
    rows += series("bob", "w2", MANILA_MORNING, 6, 5 * DAY)
    scanned = run_scan(rows)
    assert "R5" in scanned.fired("sender", "alice")
    assert "100% of 6 payments" in scanned.figures("sender", "alice", "R5")
    assert "R5" not in scanned.fired("sender", "bob")


def test_r5_reads_the_beneficiary_clock_across_daylight_saving(run_scan):
    # Romania: 18:30 local is 16:30 UTC in winter (UTC+2) but 15:30 UTC in summer (UTC+3).
    winter = series(
        "alice", "ro1", datetime(2024, 1, 8, 16, 30), 6, 4 * DAY, beneficiary_country="RO"
    )
    summer = series(
        "bob", "ro2", datetime(2024, 7, 8, 15, 30), 6, 4 * DAY, beneficiary_country="RO"
    )
    wrong = series(
        "carl", "ro3", datetime(2024, 7, 8, 13, 30), 6, 4 * DAY, beneficiary_country="RO"
    )
    scanned = run_scan(winter + summer + wrong)
    assert "R5" in scanned.fired("sender", "alice")
    assert "R5" in scanned.fired("sender", "bob")
    assert "R5" not in scanned.fired("sender", "carl")  # 16:30 in Bucharest: afternoon


def test_r6_bursts_of_payments_minutes_apart(run_scan):
    rows = []
    for day in range(4):
        start = MANILA_EVENING + day * 3 * DAY
        rows += [
            payment("alice", "w1", start),
            payment("alice", "w1", start + timedelta(minutes=9)),
        ]
    rows += series("bob", "w2", MANILA_EVENING, 8, 3 * DAY)
    scanned = run_scan(rows)
    assert "R6" in scanned.fired("sender", "alice")
    assert "4 days with 2 or more payments to the same beneficiary" in scanned.figures(
        "sender", "alice", "R6"
    )
    assert "R6" not in scanned.fired("sender", "bob")


def test_r7_escalation_from_monthly_to_weekly_and_larger(run_scan):
    rows = [payment("alice", "w1", datetime(2024, m, 10, 12), 20) for m in (1, 2, 3)]
    rows += [
        payment("alice", "w1", datetime(2024, m, d, 12), 60)
        for m in (6, 7, 8)
        for d in (3, 10, 17, 24)
    ]
    rows += [payment("bob", "w2", datetime(2024, m, 10, 12), 40) for m in range(1, 9)]
    rows += series("bob", "w2", datetime(2024, 1, 12, 12), 6, 4 * DAY)
    scanned = run_scan(rows)
    assert "R7" in scanned.fired("sender", "alice")
    assert "R7" not in scanned.fired("sender", "bob")


@pytest.mark.parametrize(
    ("narrative", "fires"),
    [("school fees", True), ("Gift", True), ("@rosa_live", True), ("", False), ("rent", False)],
)
def test_r8_cover_narratives(run_scan, narrative: str, fires: bool):
    scanned = run_scan(regular_payer("alice", "w1", narrative=narrative))
    assert ("R8" in scanned.fired("sender", "alice")) is fires


def test_r9_round_amounts_only_alongside_a_core_indicator(run_scan):
    rows = regular_payer("alice", "w1", amount=50)
    rows += regular_payer("bob", "w2", amount=47.35)
    rows += [payment("carl", "w3", MANILA_EVENING, 50)]
    scanned = run_scan(rows)
    assert "R9" in scanned.fired("sender", "alice")
    assert "R9" not in scanned.fired("sender", "bob")
    assert "R9" not in scanned.fired("sender", "carl")


def test_r16_persistence_over_consecutive_months(run_scan):
    rows = regular_payer("alice", "w1")
    rows += [payment("alice", "w1", datetime(2024, m, 20, 12)) for m in range(4, 11)]
    rows += regular_payer("bob", "w2")
    scanned = run_scan(rows)
    assert "R16" in scanned.fired("sender", "alice")
    assert "8 consecutive months" in scanned.figures("sender", "alice", "R16")
    assert "R16" not in scanned.fired("sender", "bob")


def test_b1_many_unrelated_foreign_senders(run_scan):
    rows = [payment(s, "hub", MANILA_EVENING + i * DAY) for i, s in enumerate(["a", "b", "c", "d"])]
    rows += [
        payment(
            s,
            "home",
            MANILA_EVENING + i * DAY,
            sender_name=f"{g} Dizon",
            beneficiary_name="Rosalie Dizon",
        )
        for i, (s, g) in enumerate([("e", "Jose"), ("f", "Ana"), ("g", "Liza"), ("h", "Jun")])
    ]
    scanned = run_scan(rows)
    assert "B1" in scanned.fired("beneficiary", "hub")
    assert "B1" not in scanned.fired("beneficiary", "home")  # relatives abroad, one surname


def test_b2_many_small_foreign_inflows(run_scan):
    # Two unrelated payers showing the pattern (N1 opens B2; one payer alone counts half).
    rows = series("alice", "w1", MANILA_EVENING, 10, 3 * DAY)
    rows += series("amy", "w1", MANILA_EVENING + DAY, 10, 3 * DAY)
    rows += [payment("bob", "w2", datetime(2024, m, 28, 12), 350) for m in range(1, 11)]
    scanned = run_scan(rows)
    assert "B2" in scanned.fired("beneficiary", "w1")
    assert "B2" not in scanned.fired("beneficiary", "w2")


def test_b5_one_name_spelt_differently_on_wallets_with_the_same_payer(run_scan):
    rows = regular_payer("alice", "w1", beneficiary_name="Rosalie Dizon")
    rows += regular_payer("alice", "w2", beneficiary_name="DIZON, Rosalie")
    rows += regular_payer("bob", "w3", beneficiary_name="Maria Santos")
    rows += regular_payer("carl", "w4", beneficiary_name="SANTOS, Maria")  # no shared payer
    scanned = run_scan(rows)
    assert "B5" in scanned.fired("beneficiary", "w1") and "B5" in scanned.fired("beneficiary", "w2")
    assert "B5" not in scanned.fired("beneficiary", "w3")


def test_n5_senders_from_several_demand_countries(run_scan):
    # N5 adds weight only where the payers themselves look suspicious (gated on N1).
    rows = []
    for sender, country in [("a", "US"), ("b", "GB"), ("c", "AU")]:
        rows += regular_payer(sender, "hub", sender_country=country)
        rows += regular_payer(sender, f"{sender}-own", sender_country=country)
    for sender in ("d", "e", "f"):
        rows += regular_payer(sender, "local", sender_country="US")
        rows += regular_payer(sender, f"{sender}-own", sender_country="US")
    scanned = run_scan(rows)
    assert "N5" in scanned.fired("beneficiary", "hub")
    assert "3 demand countries (AU, GB, US)" in scanned.figures("beneficiary", "hub", "N5")
    assert "N1" in scanned.fired("beneficiary", "local")
    assert "N5" not in scanned.fired("beneficiary", "local")


def test_n1_co_offenders_light_up_each_other_and_their_facilitator(run_scan):
    rows = []
    for sender in ("alice", "bob", "carl"):  # clear offender patterns (R1, R2, R5, R6)
        rows += regular_payer(sender, "facilitator")
        for other in ("second", "third"):
            rows += regular_payer(sender, f"{sender}-{other}")
    rows += [payment("light", "facilitator", MANILA_EVENING + 2 * DAY)]
    rows += [payment("loner", "elsewhere", MANILA_EVENING + 2 * DAY)]
    scanned = run_scan(rows)
    assert "N1" in scanned.fired("sender", "light")  # a handful of payments, found by network
    assert "N1" not in scanned.fired("sender", "loner")
    assert "N1" in scanned.fired("beneficiary", "facilitator")
    assert scanned.score("sender", "light") > scanned.score("sender", "loner")


def test_watchlist_fires_r17_b10_and_r14_by_id_and_fuzzy_name(run_scan, tmp_path):
    watchlist = tmp_path / "watchlist.csv"
    watchlist.write_text(
        "kind,id,name,country,source\n"
        "beneficiary,,Rosalie Dizon,PH,PNP-WCPC 2023\n"
        "sender,C9,,,FIU prior STR\n"
    )
    rows = [payment("alice", "w1", MANILA_EVENING, beneficiary_name="DIZON, Rosalie")]
    rows += [payment("C9", "w2", MANILA_EVENING)]
    rows += [
        payment(
            "bob", "w3", MANILA_EVENING, beneficiary_name="Rosalie Dizon", beneficiary_country="TH"
        )
    ]
    scanned = run_scan(rows, watchlist=watchlist)
    assert "B10" in scanned.fired("beneficiary", "w1")
    assert "R17" in scanned.fired("sender", "alice")
    assert "PNP-WCPC 2023" in scanned.figures("sender", "alice", "R17")
    assert "R14" in scanned.fired("sender", "C9")
    assert "B10" not in scanned.fired("beneficiary", "w3")  # same name, other country


def test_n2_n3_a_payer_of_a_ring_is_close_to_it_a_hubs_donors_are_not(run_scan):
    rows = []
    for sender in ("alice", "bob", "carl"):  # clear offender patterns, one shared facilitator
        rows += regular_payer(sender, "facilitator")
        for other in ("second", "third"):
            rows += regular_payer(sender, f"{sender}-{other}")
    rows += regular_payer("light", "facilitator")
    rows += regular_payer("loner", "partner")  # the same payments, to an exclusive partner
    for i in range(30):  # a charity many ordinary donors pay, one of the offenders too
        rows += regular_payer(f"donor{i}", "parish", beneficiary_name="St Jude Parish")
    rows += regular_payer("alice", "parish", beneficiary_name="St Jude Parish")
    scanned = run_scan(rows)
    assert {"N2", "N3"} <= scanned.fired("sender", "light")
    assert "random walk" in scanned.figures("sender", "light", "N3")
    assert "other members show the pattern" in scanned.figures("sender", "light", "N2")
    assert not {"N2", "N3"} & scanned.fired("sender", "loner")
    assert not {"N2", "N3"} & scanned.fired("sender", "donor0")
    assert "N3" in scanned.fired("beneficiary", "facilitator")
    assert "N3" not in scanned.fired("beneficiary", "parish")
    assert scanned.score("sender", "light") > scanned.score("sender", "loner")
    assert scanned.score("sender", "light") > scanned.score("sender", "donor0")


def test_resolved_wallets_count_as_one_person(run_scan):
    """Three wallets under spellings of one name in one city are one facilitator: paying all
    three is one beneficiary for R2, and their three payers are one person's payers for B1."""
    wallets = [
        ("w1", "Maria Cristina Dimaculangan"),
        ("w2", "DIMACULANGAN, Maria Cristina"),
        ("w3", "Maria Cristna Dimaculangan"),
    ]
    rows = []
    for wallet, name in wallets:
        rows += regular_payer("alice", wallet, beneficiary_name=name, city="Angeles City")
    rows += regular_payer("alice", "other", beneficiary_name="Rodel Pangilinan")
    for payer, (wallet, name) in zip(("bob", "carl", "dave"), wallets, strict=True):
        rows += regular_payer(payer, wallet, beneficiary_name=name, city="Angeles City")
    scanned = run_scan(rows)
    assert "R2" not in scanned.fired("sender", "alice")  # two people, not four accounts
    for wallet, _ in wallets:
        assert "B1" in scanned.fired("beneficiary", wallet)
        assert "4 unrelated foreign senders" in scanned.figures("beneficiary", wallet, "B1")
        assert "B5" in scanned.fired("beneficiary", wallet)
