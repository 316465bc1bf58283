"""A daily increment gives what a full scan of all the payments gives."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from tests.builders import write_payments_csv
from vigil.indicators.catalogue import load_catalogue
from vigil.network.resolution import (
    KEPT,
    META_MODELS,
    RETRAIN_GROWTH,
    ResolutionSummary,
    resolve_entities,
)
from vigil.pipeline.increment import META_LAST_SCAN
from vigil.scan import scan
from vigil.synth.generate import generate
from vigil.synth.withhold import withhold_last_days
from vigil.workspace import Workspace

# Sums of amounts may be added in another order when a party's rows are recomputed: scores
# may differ in the last bits of a double, never more (on this population they are equal).
SCORE_TOLERANCE = 1e-12


def _scores(workspace: Path, kind: str) -> pl.DataFrame:
    with Workspace.open(workspace, read_only=True) as ws:
        return pl.from_arrow(
            ws.con.sql(f"SELECT party_id, score, rank FROM {kind}_scores").to_arrow_table()
        )


def _last_scan(workspace: Path) -> str | None:
    with Workspace.open(workspace, read_only=True) as ws:
        return ws.meta_get(META_LAST_SCAN)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("increment")
    data = generate(root / "data", senders=1000, seed=8)
    split = withhold_last_days(data.transactions, root / "split", days=7)
    assert split.recent_payments > 100
    full = root / "full"
    scan([data.transactions], full)
    daily = root / "daily"
    scan([split.history], daily / "day0", workspace=daily / "vigil.duckdb")
    scan([split.recent], daily / "day1", workspace=daily / "vigil.duckdb")
    # The same week as two increments: the second runs the queries the first compiled and
    # kept, and evaluates only what changed since the first.
    week = withhold_last_days(split.recent, root / "week", days=3)
    assert week.history_payments > 50 and week.recent_payments > 50
    twice = root / "twice"
    scan([split.history], twice / "day0", workspace=twice / "vigil.duckdb")
    scan([week.history], twice / "day1", workspace=twice / "vigil.duckdb")
    scan([week.recent], twice / "day2", workspace=twice / "vigil.duckdb")
    return {
        "full": full / "vigil.duckdb",
        "daily": daily / "vigil.duckdb",
        "twice": twice / "vigil.duckdb",
        "root": root,
        "day0": daily / "day0" / "summary.json",
        "day1": daily / "day1" / "summary.json",
    }


def test_the_second_scan_into_a_workspace_is_an_increment(scanned: dict[str, Path]) -> None:
    assert _last_scan(scanned["daily"]) == "increment"
    assert _last_scan(scanned["full"]) == "full"


def test_the_increment_scores_pairs_with_the_models_the_full_scan_trained(
    scanned: dict[str, Path],
) -> None:
    """Training is most of resolution's time: a week's payments reuse what two years taught."""
    full = json.loads(scanned["day0"].read_text())["entities"]
    daily = json.loads(scanned["day1"].read_text())["entities"]
    for kind in ("beneficiary", "sender"):
        assert full[kind]["model"].startswith("trained"), full[kind]
        assert not full[kind]["model"].endswith(KEPT), full[kind]
        assert daily[kind]["model"] == f"{full[kind]['model']}; {KEPT}"


@pytest.mark.parametrize("daily", ["daily", "twice"])
@pytest.mark.parametrize("kind", ["sender", "beneficiary"])
def test_increment_scores_every_party_as_a_full_scan_does(
    scanned: dict[str, Path], kind: str, daily: str
) -> None:
    """After one increment, and after two in a row (the second on kept queries)."""
    assert _last_scan(scanned[daily]) == "increment"
    full, daily = _scores(scanned["full"], kind), _scores(scanned[daily], kind)
    assert set(full["party_id"]) == set(daily["party_id"])
    both = full.join(daily, on="party_id", suffix="_daily")
    assert (both["score"] - both["score_daily"]).abs().max() <= SCORE_TOLERANCE
    # Ranks agree except between parties whose scores are equal within the tolerance.
    moved = both.filter(pl.col("rank") != pl.col("rank_daily"))
    for row in moved.iter_rows(named=True):
        tied = both.filter((pl.col("score") - row["score"]).abs() <= SCORE_TOLERANCE)
        assert row["rank_daily"] in set(tied["rank"]), row


def test_increment_updates_features_of_parties_without_new_payments(
    scanned: dict[str, Path],
) -> None:
    """R4's co-payers change for a sender whose beneficiary another sender paid this week."""
    query = "SELECT party_id, co_payers, shared_hr_beneficiaries FROM sender_features"
    with Workspace.open(scanned["full"], read_only=True) as ws:
        full = set(ws.con.execute(query).fetchall())
    with Workspace.open(scanned["daily"], read_only=True) as ws:
        daily = set(ws.con.execute(query).fetchall())
    assert full == daily


def test_a_hand_made_increment_reaches_the_co_payers(tmp_path: Path) -> None:
    """Week 1: A pays a Manila wallet. Week 2: B and C, unrelated, start paying it too: A has
    no new payment, yet its co-payers go from 0 to 2."""
    wallet = {"beneficiary_id": "W1", "beneficiary_name": "Rosa Dela Cruz"}
    wallet |= {"beneficiary_country": "PH", "beneficiary_city": "Manila"}
    row = {"amount": "40.00", "currency": "USD", "channel": "online_remittance"}
    row |= {"narrative": "", "sender_country": "GB"}
    week1 = [
        {**row, **wallet, "txn_id": f"A{i}", "ts": f"2025-03-0{i + 1}T22:00:00+00:00"}
        | {"sender_id": "A", "sender_name": "Alan Smith"}
        for i in range(3)
    ]
    week2 = [
        {**row, **wallet, "txn_id": f"{s}{i}", "ts": f"2025-03-1{i + 1}T21:00:00+00:00"}
        | {"sender_id": s, "sender_name": name}
        for s, name in (("B", "Brian Jones"), ("C", "Colin Brown"))
        for i in range(3)
    ]
    workspace = tmp_path / "ws.duckdb"
    scan([write_payments_csv(tmp_path / "w1.csv", week1)], tmp_path / "o1", workspace=workspace)
    scan([write_payments_csv(tmp_path / "w2.csv", week2)], tmp_path / "o2", workspace=workspace)
    assert _last_scan(workspace) == "increment"
    with Workspace.open(workspace, read_only=True) as ws:
        co_payers = ws.con.execute(
            "SELECT co_payers FROM sender_features WHERE party_id = 'A'"
        ).fetchall()
        payers = ws.con.execute(
            "SELECT payers FROM beneficiary_features WHERE party_id = 'W1'"
        ).fetchall()
    assert co_payers == [(2,)]
    assert payers == [(3,)]


def test_changed_parameters_make_the_next_scan_a_full_one(tmp_path: Path) -> None:
    rows = [
        {
            "txn_id": f"T{i}",
            "ts": f"2025-03-0{i + 1}T22:00:00+00:00",
            "sender_id": "A",
            "sender_name": "Alan Smith",
            "sender_country": "GB",
            "beneficiary_id": "W1",
            "beneficiary_name": "Rosa Dela Cruz",
            "beneficiary_country": "PH",
            "beneficiary_city": "Manila",
            "amount": "40.00",
            "currency": "USD",
            "channel": "online_remittance",
            "narrative": "",
        }
        for i in range(4)
    ]
    workspace = tmp_path / "ws.duckdb"
    scan([write_payments_csv(tmp_path / "a.csv", rows[:2])], tmp_path / "o1", workspace=workspace)
    catalogue = load_catalogue()
    changed = catalogue.model_copy(
        update={"parameters": catalogue.parameters.model_copy(update={"small_band_usd": (1, 50)})}
    )
    scan(
        [write_payments_csv(tmp_path / "b.csv", rows[2:])],
        tmp_path / "o2",
        workspace=workspace,
        catalogue=changed,
    )
    assert _last_scan(workspace) == "full"


def _resolve_with_kept_models(
    scanned: dict[str, Path], tmp_path: Path, change: Callable[[dict], None]
) -> tuple[ResolutionSummary, dict]:
    """Resolution of a copy of the daily workspace whose kept models `change` edited;
    the summary and the models kept after it."""
    workspace = tmp_path / "copy.duckdb"
    shutil.copy(scanned["daily"], workspace)
    with Workspace.open(workspace) as ws:
        kept = json.loads(ws.meta_get(META_MODELS))
        change(kept["models"])
        ws.meta_set(META_MODELS, json.dumps(kept))
        summary = resolve_entities(ws, reuse_models=True)
        return summary, json.loads(ws.meta_get(META_MODELS))


def test_a_kind_grown_by_more_than_a_tenth_is_trained_again(
    scanned: dict[str, Path], tmp_path: Path
) -> None:
    def shrink(models: dict) -> None:
        trained_on = models["beneficiary"]["parties"]
        models["beneficiary"]["parties"] = int(trained_on / RETRAIN_GROWTH) - 1

    summary, again = _resolve_with_kept_models(scanned, tmp_path, shrink)
    assert summary.beneficiary.model == "trained"
    assert summary.sender.model.endswith(KEPT)
    assert again["models"]["beneficiary"]["parties"] == summary.beneficiary.parties


def test_kept_models_that_cannot_be_read_are_trained_again(
    scanned: dict[str, Path], tmp_path: Path
) -> None:
    def garble(models: dict) -> None:
        del models["sender"]["parties"]  # e.g. written by an older Vigil

    summary, _ = _resolve_with_kept_models(scanned, tmp_path, garble)
    assert summary.beneficiary.model == "trained"
    assert summary.sender.model == "trained; name m from beneficiaries"


def test_the_second_increment_runs_the_queries_the_first_kept(scanned: dict[str, Path]) -> None:
    with Workspace.open(scanned["twice"], read_only=True) as ws:
        kept = ws.con.execute(
            "SELECT key FROM meta WHERE key LIKE 'increment_sql:%' OR key LIKE 'evaluation_sql:%'"
        ).fetchall()
    labels = {key for (key,) in kept}
    assert {"increment_sql:senders", "increment_sql:beneficiaries"} <= labels
    assert "evaluation_sql:sender_scores" in labels


def _two_weeks(tmp_path: Path) -> tuple[Path, Path]:
    """Week 1: A and B each pay their own Manila wallet in the evening. Week 2: only B pays
    again."""
    row = {"amount": "40.00", "currency": "USD", "channel": "online_remittance"}
    row |= {"narrative": "", "sender_country": "GB", "beneficiary_country": "PH"}
    row |= {"beneficiary_city": "Manila"}
    people = {"A": ("Alan Smith", "W1", "Rosa Dela Cruz"), "B": ("Brian Jones", "W2", "Ana Reyes")}

    def paying(sender: str, day: int) -> dict[str, str]:
        name, wallet, holder = people[sender]
        return row | {
            "txn_id": f"{sender}{day}",
            "ts": f"2025-03-{day:02d}T22:00:00+00:00",
            "sender_id": sender,
            "sender_name": name,
            "beneficiary_id": wallet,
            "beneficiary_name": holder,
        }

    week1 = [paying(s, d) for s in ("A", "B") for d in range(1, 6)]
    week2 = [paying("B", d) for d in range(8, 13)]
    return (
        write_payments_csv(tmp_path / "w1.csv", week1),
        write_payments_csv(tmp_path / "w2.csv", week2),
    )


def test_an_increment_keeps_the_scores_of_parties_whose_inputs_did_not_change(
    tmp_path: Path,
) -> None:
    """A's figures stay as the first scan wrote them (a stand-in value written there shows
    they were not evaluated again); B, with new payments, is evaluated again."""
    week1, week2 = _two_weeks(tmp_path)
    workspace = tmp_path / "ws.duckdb"
    scan([week1], tmp_path / "o1", workspace=workspace)
    with Workspace.open(workspace) as ws:
        ws.con.execute("UPDATE sender_scores SET points = 123.0 WHERE party_id IN ('A', 'B')")
    scan([week2], tmp_path / "o2", workspace=workspace)
    assert _last_scan(workspace) == "increment"
    with Workspace.open(workspace, read_only=True) as ws:
        points = dict(ws.con.execute("SELECT party_id, points FROM sender_scores").fetchall())
    assert points["A"] == 123.0
    assert points["B"] != 123.0


def test_a_changed_catalogue_evaluates_every_party_again(tmp_path: Path) -> None:
    """Heavier sender indicators change A's score though A paid nothing new: the increment
    gives the full scan's scores under the new catalogue."""
    week1, week2 = _two_weeks(tmp_path)
    catalogue = load_catalogue()
    heavier = catalogue.model_copy(
        update={
            "indicators": [
                i.model_copy(update={"weight": i.weight * 3}) if i.party == "sender" else i
                for i in catalogue.indicators
            ]
        }
    )
    workspace = tmp_path / "ws.duckdb"
    scan([week1], tmp_path / "o1", workspace=workspace, catalogue=catalogue)
    first = _scores(workspace, "sender").filter(pl.col("party_id") == "A")["score"][0]
    scan([week2], tmp_path / "o2", workspace=workspace, catalogue=heavier)
    assert _last_scan(workspace) == "increment"
    scan([week1, week2], tmp_path / "full", catalogue=heavier)
    daily = _scores(workspace, "sender").sort("party_id")
    full = _scores(tmp_path / "full" / "vigil.duckdb", "sender").sort("party_id")
    assert daily["score"].to_list() == pytest.approx(full["score"].to_list(), abs=1e-12)
    assert first != pytest.approx(daily.filter(pl.col("party_id") == "A")["score"][0])
