"""The learned ranking: trained on small randomised populations, calibrated, explained per
indicator, monotone where the typology says, and applied by `vigil scan --model`."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from tests.builders import payment, series, write_payments_csv
from vigil.cli import app
from vigil.config import read_yaml_mapping
from vigil.errors import InputError
from vigil.evaluation import evaluate_tables, read_labels
from vigil.indicators.catalogue import load_catalogue
from vigil.network.resolution_config import DEFAULT_CONFIG
from vigil.scan import scan
from vigil.scoring import model as model_module
from vigil.scoring.correction_bound import BOUNDS, TIE_BREAK
from vigil.scoring.model import (
    KindModel,
    RankingModel,
    ranked_by_expert,
    ranked_by_model,
    read_features,
)
from vigil.scoring.model_build import code_fingerprint, default_model_path, resolve_model
from vigil.scoring.model_card import save_model
from vigil.scoring.model_evaluation import split_by_date
from vigil.scoring.model_features import (
    OTHER_BEHAVIOUR,
    indicator_groups,
    monotone_directions,
    numeric_columns,
)
from vigil.scoring.training import calibrate, collect_examples, train_model
from vigil.scoring.training_options import LabelledWorkspace, TrainingOptions
from vigil.synth import generate
from vigil.synth.randomise import RandomisationRanges, randomise_scenario
from vigil.synth.scenario import SHIPPED, load_scenario

RANGES = RandomisationRanges(offender_share=(0.02, 0.03))  # enough positives in small runs
# The classic scenarios: calibration is checked where facilitator accounts keep a steady rate
# (the hard scenarios' churned wallets move it from one population to the next).
CLASSIC = SHIPPED[:3]


@pytest.fixture(scope="module")
def quick_resolution(tmp_path_factory) -> Path:
    """The shipped entity-resolution settings, deciding from the priors (no EM training):
    the model's tests are about the model, and a small scan stays a few seconds."""
    settings = read_yaml_mapping(DEFAULT_CONFIG, "resolution config")
    settings["training"]["min_parties"] = 10**9
    path = tmp_path_factory.mktemp("resolution") / "resolution.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, quick_resolution):
    options = TrainingOptions(
        scenarios=CLASSIC,
        populations=2,
        calibration_every=2,
        senders=1200,
        rounds=40,
        ranges=RANGES,
        watchlist_share=0.5,
        resolution=quick_resolution,
    )
    result = train_model(options, name="test")
    folder = save_model(
        tmp_path_factory.mktemp("model") / "test-model", result.model, options, result, None
    )
    return folder, result


@pytest.fixture(scope="module")
def heldout(tmp_path_factory, quick_resolution):
    """A population the model never saw, drawn from the training distribution."""
    tmp = tmp_path_factory.mktemp("heldout")
    bases = [load_scenario(s).model_copy(update={"senders": 2000}) for s in CLASSIC]
    scenario = randomise_scenario(bases, np.random.default_rng([99]), RANGES)
    data = generate(tmp / "data", seed=99, scenario=scenario)
    result = scan([data.transactions], tmp / "expert", resolution=quick_resolution)
    return data, result


EXPLAINED = 100  # parties per kind explained by the model's own contributions in this test


@pytest.fixture(scope="module")
def with_model(tmp_path_factory, heldout, trained, quick_resolution):
    data, _ = heldout
    out = tmp_path_factory.mktemp("with-model")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model_module, "EXPLAIN_AT_LEAST", EXPLAINED)
        patch.setattr(model_module, "EXPLAIN_SHARE", 0.0)
        return scan([data.transactions], out, model=trained[0], resolution=quick_resolution)


def features_of(workspace: Path, model: RankingModel, kind: str) -> np.ndarray:
    with duckdb.connect(str(workspace), read_only=True) as con:
        return read_features(con, f"{kind}_scores", model.kinds[kind].features)[1]


def test_trained_model_ranks_unseen_offenders_near_the_top(trained, heldout):
    folder, _ = trained
    data, expert = heldout
    model = RankingModel.load(folder)
    with duckdb.connect(str(expert.out / "vigil.duckdb"), read_only=True) as con:
        report = evaluate_tables(ranked_by_model(con, model), read_labels(data.labels))
    senders = report.kinds["sender"]
    assert senders.positives >= 20
    # A random ranking scores about the offender share (2-3 %): the model is far above it.
    assert senders.average_precision > 0.5
    assert report.kinds["beneficiary"].average_precision > 0.3


def test_model_folder_holds_boosters_calibration_features_and_card(trained):
    folder, result = trained
    assert {p.name for p in folder.iterdir()} >= {
        "sender.txt",
        "beneficiary.txt",
        "model.json",
        "model_card.json",
        "model_card.md",
    }
    card = json.loads((folder / "model_card.json").read_text())
    sender_features = [f["name"] for f in card["features"]["sender"]]
    assert sender_features == result.model.kinds["sender"].features
    assert card["data"]["training_seeds"] == [p.seed for p in result.populations]
    assert card["data"]["randomisation"]["offender_share"] == [0.02, 0.03]
    assert {p["use"] for p in card["data"]["generated"]} == {"train", "calibrate"}
    assert card["versions"]["lightgbm"]
    text = (folder / "model_card.md").read_text()
    assert "## Data" in text and "hr_small_30d_max" in text
    assert "## Populations left out" in text and "| every population |" in text


def test_features_come_from_the_schema_without_ids_names_or_expert_points(trained, heldout):
    _, expert = heldout
    with duckdb.connect(str(expert.out / "vigil.duckdb"), read_only=True) as con:
        features = numeric_columns(con, "sender_scores")
        con.execute(
            "CREATE TEMP TABLE wider AS "
            "SELECT *, 1.5 AS brand_new_feature, 7 AS cluster_id FROM sender_scores"
        )
        wider = numeric_columns(con, "wider")
        assert "brand_new_feature" in wider and "cluster_id" not in wider
    assert {"hr_small_30d_max", "s_R1", "co_payer_suspicion"} <= set(features)
    forbidden = {"party_id", "name", "country", "points", "score", "rank", "first_ts"}
    assert not forbidden & set(features)
    assert not [f for f in features if f.startswith("p_")]


def test_a_missing_feature_column_is_an_error_naming_it_and_extra_columns_are_ignored(heldout):
    _, expert = heldout
    with duckdb.connect(str(expert.out / "vigil.duckdb")) as con:
        con.execute("CREATE TABLE thin AS SELECT * EXCLUDE (hr_burst_days) FROM sender_scores")
        with pytest.raises(InputError, match="hr_burst_days"):
            read_features(con, "thin", ["hr_small_30d_max", "hr_burst_days"])
        ids, x = read_features(con, "sender_scores", ["hr_small_30d_max"])
        assert x.shape == (len(ids), 1)


def test_monotone_directions_follow_the_catalogue():
    catalogue = load_catalogue()
    features = ["s_R1", "hr_small_30d_max", "hr_small_busy_months", "total_usd"]
    assert monotone_directions(features, catalogue, "sender") == [1, 1, 0, 0]
    groups = indicator_groups(features, catalogue, "sender")
    assert groups == {
        "s_R1": ["R1"],
        "hr_small_30d_max": ["R1"],
        "hr_small_busy_months": ["R1"],  # shown in R1's figures
        "total_usd": [OTHER_BEHAVIOUR],
    }


def test_raising_a_constrained_feature_never_lowers_the_score(trained, heldout):
    folder, _ = trained
    _, expert = heldout
    model = RankingModel.load(folder)
    for kind, part in model.kinds.items():
        x = features_of(expert.out / "vigil.duckdb", model, kind)[:400]
        before = part.probability(x)
        raw_before = part.raw(x)
        constrained = [j for j, m in enumerate(part.monotone) if m == 1]
        assert constrained, kind
        for j in constrained:
            raised = x.copy()
            top = np.nanmax(x[:, j]) if np.isfinite(x[:, j]).any() else 1.0
            raised[:, j] = np.nan_to_num(raised[:, j]) + max(top, 1.0)
            assert (part.raw(raised) >= raw_before - 1e-9).all(), part.features[j]
            assert (part.probability(raised) >= before - 1e-12).all(), part.features[j]


def test_contributions_add_up_to_the_raw_score(trained, heldout):
    folder, _ = trained
    _, expert = heldout
    model = RankingModel.load(folder)
    for kind, part in model.kinds.items():
        x = features_of(expert.out / "vigil.duckdb", model, kind)
        groups = part.contributions(x)
        assert groups.shape[1] == len(part.group_names)
        np.testing.assert_allclose(groups.sum(axis=1), part.raw(x), atol=1e-6)
        ids = {i.id for i in load_catalogue().for_party(kind)}
        # Indicator ids, and the expert's own part (which its indicators share).
        assert set(part.group_names[:-2]) <= ids | {"expert"}


@pytest.mark.parametrize("bound", [0.0, 0.3, 2.0])
def test_a_bounded_correction_stays_within_the_bound_and_still_adds_up(trained, heldout, bound):
    folder, _ = trained
    _, expert = heldout
    model = RankingModel.load(folder)
    for kind, trained_part in model.kinds.items():
        part = KindModel(**{**trained_part.__dict__, "correction_bound": bound, "tie_break": 0.0})
        x = features_of(expert.out / "vigil.duckdb", model, kind)
        moved = part.raw(x) - part.expert_part(x)
        assert (np.abs(moved) <= bound + 1e-12).all()
        np.testing.assert_allclose(part.contributions(x).sum(axis=1), part.raw(x), atol=1e-6)
        if bound == 0:  # no correction at all: the expert's order, rescaled
            order = np.argsort(-part.raw(x), kind="stable")
            assert (np.diff(np.nan_to_num(x[order, 0], nan=0.0)) <= 1e-12).all()


def test_the_correction_bound_and_its_held_out_checks_are_saved(trained):
    folder, result = trained
    body = json.loads((folder / "model.json").read_text())
    for kind, part in result.model.kinds.items():
        saved = body["kinds"][kind]
        assert saved["correction_bound"] in BOUNDS
        assert saved["tie_break"] in (0.0, TIE_BREAK)
        checks = {c["population"]: c for c in saved["held_out_checks"]}
        assert "every population" in checks
        for check in checks.values():  # the chosen bound never ranks worse than the expert
            assert check["model_ap"] >= check["expert_ap"] - 1e-4
        loaded = RankingModel.load(folder).kinds[kind]
        assert (loaded.correction_bound, loaded.tie_break) == (
            part.correction_bound,
            part.tie_break,
        )


def test_probabilities_are_calibrated_on_held_out_parties(trained, heldout):
    folder, _ = trained
    data, expert = heldout
    model = RankingModel.load(folder)
    labels = read_labels(data.labels)
    with duckdb.connect(str(expert.out / "vigil.duckdb"), read_only=True) as con:
        ranked = ranked_by_model(con, model)
    joined = ranked.join(labels, on=["party_kind", "party_id"]).with_columns(
        positive=pl.col("role").is_in(["offender", "facilitator"]).cast(pl.Float64)
    )
    for kind in ("sender", "beneficiary"):
        rows = joined.filter(pl.col("party_kind") == kind)
        p, y = rows["score"].to_numpy(), rows["positive"].to_numpy()
        # Overall: the mean score is the rate of positives.
        assert abs(p.mean() - y.mean()) < 0.03, kind
        # Reliability: parties scored alike are positive at about that rate.
        bins = np.digitize(p, [0.05, 0.5])
        error = sum(
            abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).sum()
            for b in np.unique(bins)
        ) / len(p)
        assert error < 0.035, kind
        assert y[p >= 0.5].mean() > 0.5 and y[p < 0.05].mean() < 0.05


def test_calibration_shrinks_small_blocks_and_keeps_order():
    raw = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
    positive = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    calibration = calibrate(raw, positive)
    p = calibration(np.linspace(-5, 6, 50))
    assert (np.diff(p) >= 0).all()
    assert 0 < p.min() < 0.5 < p.max() < 1  # four out of four is not certainty


def test_scan_with_a_model_ranks_by_it_and_explains_in_catalogue_words(with_model, trained):
    model = RankingModel.load(trained[0])
    workspace = with_model.out / "vigil.duckdb"
    alerts = pl.read_csv(with_model.alerts, infer_schema=False)
    with duckdb.connect(str(workspace), read_only=True) as con:
        expected = ranked_by_model(con, model).filter(pl.col("party_kind") == "sender")
        scores = con.sql("SELECT party_id, expert_score, score, rank FROM sender_scores").pl()
        model_meta = con.execute("SELECT value FROM meta WHERE key = 'scoring_model'").fetchall()
    senders = alerts.filter(pl.col("party_kind") == "sender")
    joined = senders.join(expected, on="party_id", suffix="_model")
    np.testing.assert_allclose(joined["score"].cast(pl.Float64), joined["score_model"], atol=1e-6)
    assert (joined["rank"].cast(pl.Int64) == joined["rank_model"]).all()
    assert scores["expert_score"].is_not_null().all()
    assert model_meta and model_meta[0][0] == str(trained[0].resolve())
    explained = json.loads(with_model.alerts_json.read_text())
    top = next(p for p in explained if p["party_kind"] == "sender")
    assert top["contributions"] and all(c["title"] for c in top["contributions"])


def test_the_top_is_explained_by_the_model_and_the_rest_by_the_catalogue(with_model, trained):
    part = RankingModel.load(trained[0]).kinds["sender"]
    with duckdb.connect(str(with_model.out / "vigil.duckdb"), read_only=True) as con:
        ids, x = read_features(con, "sender_scores", part.features)
        logits = con.sql(
            "SELECT party_id, sum(log_odds) AS raw FROM model_contributions "
            "WHERE party_kind = 'sender' GROUP BY party_id"
        ).pl()
        hits = con.sql(
            """SELECT h.party_id, s.rank, s.score, s.points AS all_points,
                      sum(h.contribution) AS contribution, sum(h.points) AS points
               FROM indicator_hits h JOIN sender_scores s USING (party_id)
               WHERE h.party_kind = 'sender' GROUP BY ALL"""
        ).pl()
    raw = pl.DataFrame({"party_id": ids.astype(str), "expected": part.raw(x)})
    joined = logits.join(raw, on="party_id")
    assert joined.height == EXPLAINED
    np.testing.assert_allclose(joined["raw"], joined["expected"], atol=1e-6)  # additivity
    top, rest = hits.filter(pl.col("rank") <= EXPLAINED), hits.filter(pl.col("rank") > EXPLAINED)
    assert top.height and rest.height
    # The model's share for the fired indicators: never more than its score in all.
    assert (top["contribution"] <= top["score"] + 1e-9).all()
    assert top["contribution"].max() > 0.3
    # Beyond the explained top, the catalogue's weights share the model's score.
    np.testing.assert_allclose(
        rest["contribution"], rest["score"] * rest["points"] / rest["all_points"], atol=1e-9
    )


def test_scan_without_a_model_keeps_the_expert_score(heldout):
    _, expert = heldout
    scale = load_catalogue().scoring["sender"].scale
    with duckdb.connect(str(expert.out / "vigil.duckdb"), read_only=True) as con:
        columns = {r[0] for r in con.execute("DESCRIBE sender_scores").fetchall()}
        rows = con.sql("SELECT points, score FROM sender_scores").pl()
        assert not con.execute(
            "SELECT * FROM duckdb_tables() WHERE table_name = 'model_contributions'"
        ).fetchall()
        expert_ranking = ranked_by_expert(con)
    assert "expert_score" not in columns
    np.testing.assert_allclose(rows["score"], 1 - np.exp(-rows["points"] / scale), atol=1e-9)
    alerts = pl.read_csv(expert.alerts, infer_schema=False)
    senders = alerts.filter(pl.col("party_kind") == "sender").join(
        expert_ranking.filter(pl.col("party_kind") == "sender"), on="party_id"
    )
    np.testing.assert_allclose(senders["score"].cast(pl.Float64), senders["score_right"], atol=1e-6)


def test_model_evaluate_command_compares_model_and_expert(trained, quick_resolution, monkeypatch):
    folder, _ = trained
    # The command scans with the shipped resolution settings; decide from the priors here.
    import vigil.scoring.model_evaluation as evaluation

    original = evaluation.scan
    monkeypatch.setattr(
        evaluation, "scan", lambda *a, **k: original(*a, **{**k, "resolution": quick_resolution})
    )
    result = CliRunner().invoke(
        app,
        [
            "model",
            "evaluate",
            "--model",
            str(folder),
            "--scenarios",
            "ewallet",
            "--senders",
            "800",
            "--seed",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)[0]["rows"]
    assert {r["party_kind"] for r in rows} == {"sender", "beneficiary"}
    assert set(rows[0]["rankings"]) == {"expert", "model"}


def test_model_commands_report_user_mistakes_in_one_line(tmp_path, trained):
    runner = CliRunner()
    missing = runner.invoke(app, ["model", "evaluate", "--model", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "not a model folder" in missing.output
    training_seed = runner.invoke(
        app, ["model", "evaluate", "--model", str(trained[0]), "--seed", "1000000"]
    )
    assert training_seed.exit_code == 2 and "training populations" in training_seed.output
    unpaired = runner.invoke(
        app, ["model", "train", "--out", str(tmp_path / "m"), "--labels", str(tmp_path)]
    )
    assert unpaired.exit_code == 2 and "pairs" in unpaired.output
    assert "Traceback" not in missing.output + training_seed.output + unpaired.output


def test_labelled_workspaces_join_the_training_data(tmp_path, trained, heldout, quick_resolution):
    """Analyst dispositions (a labels.csv for a scanned workspace) add real examples."""
    data, expert = heldout
    labels = pl.read_csv(data.labels).filter(pl.col("role").is_in(["offender", "facilitator"]))
    reviewed = pl.read_csv(data.labels).head(50)
    path = tmp_path / "dispositions.csv"
    pl.concat([labels, reviewed]).unique(["party_kind", "party_id"]).write_csv(path)
    _, positives, parties = collect_examples(
        None, expert.out / "vigil.duckdb", read_labels(path), calibrates=False, labelled_only=True
    )
    assert positives["sender"] == labels.filter(pl.col("party_kind") == "sender").height
    assert parties["sender"] < 200  # only the labelled parties, not the whole workspace
    assert LabelledWorkspace(path, expert.out / "vigil.duckdb").labels == path


def test_scan_command_takes_a_model_folder(tmp_path, trained):
    rows = []
    for sender in ("alice", "bob", "carol"):
        rows += series(sender, "hub", datetime(2024, 3, 1, 12), 8, timedelta(days=3))
    rows += [payment("maria", "home", datetime(2024, m, 1, 9), 300) for m in range(1, 7)]
    source = write_payments_csv(tmp_path / "payments.csv", rows)
    runner = CliRunner()
    result = runner.invoke(
        app, ["scan", str(source), "--out", str(tmp_path / "out"), "--model", str(trained[0])]
    )
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(tmp_path / "out" / "vigil.duckdb"), read_only=True) as con:
        ranked = con.sql(
            "SELECT party_id, expert_score, score FROM sender_scores ORDER BY rank"
        ).pl()
    assert ranked.height == 4 and ranked["expert_score"].is_not_null().all()
    missing = runner.invoke(
        app,
        [
            "scan",
            str(source),
            "--out",
            str(tmp_path / "again"),
            "--model",
            str(tmp_path / "no-model"),
        ],
    )
    assert missing.exit_code == 2 and "not a model folder" in missing.output


def test_the_default_model_is_found_in_the_cache_without_training(tmp_path, trained, monkeypatch):
    monkeypatch.setenv("VIGIL_CACHE_DIR", str(tmp_path))
    path = default_model_path()
    assert path.is_relative_to(tmp_path) and code_fingerprint() in path.name
    shutil.copytree(trained[0], path)
    assert resolve_model("default") == path
    assert resolve_model(str(trained[0])) == trained[0]
    assert resolve_model(None) is None


def test_payments_split_by_date_for_temporal_evaluation(tmp_path):
    rows = [payment("alice", "hub", datetime(2024, m, 10, 12), 40) for m in range(1, 7)]
    rows.append(payment("bob", "hub", "2024-03-31T23:30:00-05:00", 40))  # April in UTC
    source = write_payments_csv(tmp_path / "payments.csv", rows)
    split_by_date(source, date(2024, 4, 1), tmp_path / "early.csv", tmp_path / "late.csv")
    early, late = (pl.read_csv(tmp_path / f, infer_schema=False) for f in ("early.csv", "late.csv"))
    assert early.height == 3 and late.height == 4
    assert early.columns == pl.read_csv(source, infer_schema=False).columns
    assert "bob" in late["sender_id"].to_list()


def test_scores_rank_instead_of_tying_at_the_top_and_bottom(with_model, trained):
    model = RankingModel.load(trained[0])
    alerts = pl.read_csv(with_model.alerts, infer_schema=False)
    workspace = with_model.out / "vigil.duckdb"
    for kind in ("sender", "beneficiary"):
        # The accounts of one resolved person carry that person's figures, hence one score:
        # ties are counted between people.
        with duckdb.connect(str(workspace), read_only=True) as con:
            people = con.sql(f"SELECT party_id, entity_id FROM {kind}_entities").pl()
        top = (
            alerts.filter(pl.col("party_kind") == kind)
            .join(people, on="party_id", how="left")
            .select(
                pl.col("score").cast(pl.Float64),
                person=pl.coalesce("entity_id", "party_id"),
            )
            .sort("score", descending=True)
            .unique("person", keep="first", maintain_order=True)
            .head(50)
        )
        # at most a couple of exact ties among the top 50 people
        assert top["score"].n_unique() >= 48, kind
        # No plateau within the alert budgets (the top 5 %): parties the model sees differently
        # do not share a score there (isotonic steps once put dozens of different parties on
        # one); identical features may, and so may the tail of parties no indicator touches,
        # where the trees are constant.
        with duckdb.connect(str(workspace), read_only=True) as con:
            ids, x = read_features(con, f"{kind}_scores", model.kinds[kind].features)
            scored = con.sql(f"SELECT party_id, score FROM {kind}_scores").pl()
        _, same_features = np.unique(np.nan_to_num(x, nan=-1.0), axis=0, return_inverse=True)
        groups = pl.DataFrame({"party_id": ids.astype(str), "group": same_features.ravel()})
        upper = scored.filter(pl.col("score") >= pl.col("score").quantile(0.95))
        per_score = (
            upper.join(groups, on="party_id")
            .group_by("score")
            .agg(pl.col("group").n_unique().alias("different"))
        )
        assert per_score["different"].max() <= 2, kind
    with duckdb.connect(str(workspace), read_only=True) as con:
        expert = con.sql(
            "SELECT expert_score FROM sender_scores ORDER BY expert_score DESC LIMIT 50"
        ).pl()["expert_score"]
    assert expert.n_unique() >= 45


@pytest.fixture(scope="module")
def without_webcam(tmp_path_factory, quick_resolution):
    """A small model that never saw an adult-webcam customer, and a hard population with
    many of them (offenders at 2-3 %, so that a small run has enough)."""
    options = TrainingOptions(
        scenarios=("hard_global",),
        populations=4,
        calibration_every=2,
        senders=1500,
        rounds=40,
        ranges=RANGES,
        exclude=("webcam_customer",),
        resolution=quick_resolution,
    )
    model = train_model(options, name="without webcam").model
    tmp = tmp_path_factory.mktemp("webcam")
    base = load_scenario("hard_global").model_copy(update={"senders": 2500})
    ranges = RandomisationRanges(offender_share=(0.02, 0.03), absent_p=0.0)
    scenario = randomise_scenario([base], np.random.default_rng([41]), ranges)
    data = generate(tmp / "data", seed=41, scenario=scenario)
    scanned = scan([data.transactions], tmp / "scan", resolution=quick_resolution)
    return model, data, scanned


def test_a_model_that_never_saw_a_look_alike_population_ranks_no_worse_than_the_expert(
    without_webcam,
):
    model, data, scanned = without_webcam
    labels = read_labels(data.labels)
    assert labels.filter(pl.col("role") == "webcam_customer").height >= 20
    with duckdb.connect(str(scanned.out / "vigil.duckdb"), read_only=True) as con:
        expert = evaluate_tables(ranked_by_expert(con), labels)
        learned = evaluate_tables(ranked_by_model(con, model), labels)
    for kind in ("sender", "beneficiary"):
        assert expert.kinds[kind].positives >= 10
        assert learned.kinds[kind].average_precision >= expert.kinds[kind].average_precision
