"""Training the ranking model on many randomised populations (and real labelled workspaces).

Each population: a randomised scenario (`vigil.synth.randomise`), generated, scanned into a
temporary workspace; its `sender_scores` / `beneficiary_scores` rows are the examples and its
labels the targets. Every fourth population is held out to calibrate the probabilities.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import polars as pl
from rich.console import Console
from rich.progress import Progress
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from vigil.errors import ConfigError, InputError
from vigil.evaluation import read_labels
from vigil.indicators.catalogue import Catalogue, load_catalogue
from vigil.scan import scan
from vigil.schema import POSITIVE_ROLES
from vigil.scoring.correction_bound import (
    LOOK_ALIKE_PER_POSITIVE,
    MIN_PARTIES,
    Trial,
    choose_bound,
    look_alike_populations,
)
from vigil.scoring.model import (
    EXPERT_FEATURE,
    KINDS,
    Calibration,
    KindModel,
    RankingModel,
    expert_logit,
    read_features,
)
from vigil.scoring.model_features import indicator_groups, monotone_directions, numeric_columns
from vigil.scoring.training_options import TrainingOptions
from vigil.synth import generate
from vigil.synth.randomise import randomise_scenario
from vigil.synth.scenario import SHIPPED, Scenario, load_scenario
from vigil.workspace import Workspace


@dataclass
class Examples:
    """Rows of one party kind: features, targets, and the population each row came from."""

    features: list[str]
    ids: list[npt.NDArray[np.object_]] = field(default_factory=list)
    x: list[npt.NDArray[np.float64]] = field(default_factory=list)
    y: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    roles: list[npt.NDArray[np.object_]] = field(default_factory=list)  # each row's population
    calibrates: list[bool] = field(default_factory=list)

    def add(
        self,
        ids: npt.NDArray[np.object_],
        x: np.ndarray,
        y: np.ndarray,
        calibrates: bool,
        roles: npt.NDArray[np.object_] | None = None,
    ) -> None:
        self.ids.append(ids)
        self.x.append(x)
        self.y.append(y)
        self.roles.append(np.full(len(ids), "", dtype=object) if roles is None else roles)
        self.calibrates.append(calibrates)

    def every_row(self) -> tuple[np.ndarray, np.ndarray, npt.NDArray[np.object_], np.ndarray]:
        """Features, targets and populations of all rows, and each row's fold (its
        population's number, odd or even) for fitting on one half and judging on the other."""
        folds = [np.full(len(y), i % 2) for i, y in enumerate(self.y)]
        return tuple(np.concatenate(parts) for parts in (self.x, self.y, self.roles, folds))

    def split(self, calibrates: bool) -> tuple[np.ndarray, np.ndarray, npt.NDArray[np.object_]]:
        """Features, targets and populations of the training (or calibration) rows."""
        parts = [i for i, c in enumerate(self.calibrates) if c == calibrates]
        if not parts:
            return (
                np.empty((0, len(self.features))),
                np.empty(0, dtype=bool),
                np.empty(0, dtype=object),
            )
        return (
            np.concatenate([self.x[i] for i in parts]),
            np.concatenate([self.y[i] for i in parts]),
            np.concatenate([self.roles[i] for i in parts]),
        )


@dataclass(frozen=True)
class PopulationRecord:
    """What the model card says about one training population."""

    index: int
    seed: int
    use: str  # 'train' or 'calibrate'
    months: int
    senders: int
    offender_share: float
    payments: int
    positives: dict[str, int]
    parties: dict[str, int]
    watchlist: bool

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass(frozen=True)
class TrainingResult:
    model: RankingModel
    populations: list[PopulationRecord]
    labelled: list[dict]
    seconds: float


def join_labels(
    labels: pl.DataFrame, kind: str, ids: npt.NDArray[np.object_]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.object_]]:
    """(labelled, positive) masks over `ids` for one party kind, and each one's role ('' when
    unlabelled)."""
    roles = labels.filter(pl.col("party_kind") == kind).select("party_id", "role")
    joined = pl.DataFrame({"party_id": ids.astype(str)}).join(
        roles, on="party_id", how="left", maintain_order="left"
    )
    role = joined["role"]
    return (
        role.is_not_null().to_numpy(),
        (role == POSITIVE_ROLES[kind]).fill_null(False).to_numpy(),
        role.fill_null("").to_numpy().astype(object),
    )


def write_watchlist(labels: Path, out: Path, rng: np.random.Generator) -> Path:
    """A police / FIU list as an institution might receive one: some of the facilitators and
    offenders, a few innocent parties listed by mistake."""
    table = pl.read_csv(labels, infer_schema=False)
    facilitator_share = float(rng.uniform(0.05, 0.3))
    offender_share = float(rng.uniform(0.0, 0.15))
    mistaken = float(rng.uniform(0.0, 0.002))
    share = pl.when(pl.col("role") == POSITIVE_ROLES["beneficiary"]).then(facilitator_share)
    share = share.when(pl.col("role") == POSITIVE_ROLES["sender"]).then(offender_share)
    draw = pl.Series(rng.random(table.height))
    listed = table.with_columns(u=draw).filter(pl.col("u") < share.otherwise(mistaken))
    listed.select(kind="party_kind", id="party_id", source=pl.lit("synthetic list")).write_csv(out)
    return out


def collect_examples(
    examples: dict[str, Examples] | None,
    workspace: Path,
    labels: pl.DataFrame,
    calibrates: bool,
    labelled_only: bool,
) -> tuple[dict[str, Examples], dict[str, int], dict[str, int]]:
    """Add one scanned workspace's parties to the examples (features fixed by the first)."""
    positives, parties = {}, {}
    with Workspace.open(workspace, read_only=True) as ws:
        if examples is None:
            examples = {
                k: Examples([EXPERT_FEATURE, *numeric_columns(ws.con, f"{k}_scores")])
                for k in KINDS
            }
        for kind in KINDS:
            ids, x = read_features(ws.con, f"{kind}_scores", examples[kind].features)
            labelled, positive, roles = join_labels(labels, kind, ids)
            keep = labelled if labelled_only else np.ones(len(ids), dtype=bool)
            examples[kind].add(ids[keep], x[keep], positive[keep], calibrates, roles[keep])
            positives[kind] = int(positive[keep].sum())
            parties[kind] = int(keep.sum())
    return examples, positives, parties


def generated_examples(
    options: TrainingOptions,
    bases: Sequence[Scenario],
    tmp: Path,
    tick: Callable[[], None] = lambda: None,
) -> tuple[dict[str, Examples], list[PopulationRecord]]:
    examples: dict[str, Examples] | None = None
    records = []
    for index in range(options.populations):
        rng = np.random.default_rng([options.seed, index, 0x5CE])
        scenario = randomise_scenario(
            bases, rng, options.ranges, name=f"randomised-{index}", exclude=options.exclude
        )
        seed = options.population_seed(index)
        folder = tmp / f"population-{index}"
        data = generate(folder / "data", seed=seed, scenario=scenario)
        watchlist = None
        if rng.random() < options.watchlist_share:
            watchlist = write_watchlist(data.labels, folder / "watchlist.csv", rng)
        scan(
            [data.transactions],
            folder / "scan",
            watchlist=watchlist,
            resolution=options.resolution,
        )
        calibrates = index % options.calibration_every == options.calibration_every - 1
        examples, positives, parties = collect_examples(
            examples, folder / "scan" / "vigil.duckdb", read_labels(data.labels), calibrates, False
        )
        offender_share = next(p.share for p in scenario.populations if p.role == "offender")
        records.append(
            PopulationRecord(
                index=index,
                seed=seed,
                use="calibrate" if calibrates else "train",
                months=scenario.months,
                senders=scenario.senders,
                offender_share=round(offender_share, 5),
                payments=data.payments,
                positives=positives,
                parties=parties,
                watchlist=watchlist is not None,
            )
        )
        tick()
    assert examples is not None
    return examples, records


def fit_expert_start(expert: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The expert's log-odds rescaled to the training outcome (a one-feature logistic fit):
    where boosting starts. The slope stays positive: the expert's order is kept."""
    fit = LogisticRegression(C=100.0).fit(expert_logit(expert)[:, None], y.astype(int))
    return float(fit.intercept_[0]), max(float(fit.coef_[0, 0]), 0.05)


def fit_kind(
    kind: str,
    examples: Examples,
    options: TrainingOptions,
    catalogue: Catalogue,
) -> KindModel:
    """LightGBM boosted from the expert's rescaled log-odds, with the typology's monotone
    directions; its corrections bounded by leaving look-alike populations out
    (`correction_bound`); then calibrated on the held-out rows."""
    features = examples.features
    monotone = monotone_directions(features, catalogue, kind)
    x, y, _ = examples.split(calibrates=False)
    x_cal, y_cal, _ = examples.split(calibrates=True)
    for what, target in (("training", y), ("calibration", y_cal)):
        if target.sum() < 2 or (~target).sum() < 2:
            raise InputError(
                f"too few {POSITIVE_ROLES[kind]}s or others among the {what} {kind}s "
                f"({int(target.sum())} of {len(target)}): use more or larger populations"
            )
    intercept, slope = fit_expert_start(x[:, 0], y)
    start = intercept + slope * expert_logit(x[:, 0])
    params = options.lightgbm_params(monotone[1:])

    def trees(x: np.ndarray, y: np.ndarray, start: np.ndarray) -> lgb.Booster:
        data = lgb.Dataset(
            x[:, 1:],
            label=y.astype(float),
            init_score=start,
            feature_name=features[1:],
            free_raw_data=True,
        )
        return lgb.train(params, data, num_boost_round=options.rounds)

    booster = trees(x, y, start)
    bound, tie_break, checks = choose_bound(*cross_fitted_trials(examples, intercept, slope, trees))
    model = KindModel(
        kind=kind,
        booster=booster,
        features=features,
        monotone=monotone,
        groups=indicator_groups(features, catalogue, kind),
        calibration=Calibration([0.0], [0.5], 1.0),
        expert_intercept=intercept,
        expert_slope=slope,
        correction_bound=bound,
        tie_break=tie_break,
        held_out_checks=tuple(c.to_dict() for c in checks),
    )
    calibration = calibrate(model.raw(x_cal), y_cal)
    return KindModel(**{**model.__dict__, "calibration": calibration})


def cross_fitted_trials(
    examples: Examples,
    intercept: float,
    slope: float,
    trees: Callable[[np.ndarray, np.ndarray, np.ndarray], lgb.Booster],
) -> tuple[np.ndarray, np.ndarray, dict[str, Trial]]:
    """The expert's part, the targets and the trials of `choose_bound`, over every row:
    trees fitted on one half of the populations (without the population left out) correct
    the other half, so every party is judged by trees that never saw it."""
    x, y, roles, fold = examples.every_row()
    expert = intercept + slope * expert_logit(x[:, 0])

    def corrections(left_out: np.ndarray) -> np.ndarray:
        out = np.zeros(len(y))
        for half in (0, 1):
            fit = (fold != half) & ~left_out
            judged = fold == half
            if y[fit].sum() < 2 or judged.sum() == 0:
                continue  # too few positives to learn from: no correction (the expert's)
            booster = trees(x[fit], y[fit], expert[fit])
            out[judged] = np.asarray(booster.predict(x[judged, 1:], raw_score=True), dtype=float)
        return out

    nobody = np.zeros(len(y), dtype=bool)
    trials = {"every population": Trial(corrections(nobody), ~nobody)}
    for population in look_alike_populations(x[:, 0], y, roles):
        present = roles == population
        if present.sum() >= MIN_PARTIES:
            trials[f"without {population}"] = Trial(
                corrections(present), y | present, LOOK_ALIKE_PER_POSITIVE
            )
    return expert, y, trials


PRIOR_STRENGTH = 2.0  # pseudo-parties at the overall rate added to each isotonic block
STEP = 1e-7  # the least rise from one block to the next: no two blocks share a probability


def calibrate(raw: np.ndarray, positive: np.ndarray) -> Calibration:
    """Isotonic regression of the outcome on the raw score, each block's rate shrunk towards
    the overall rate (a block of 5 positives out of 5 does not mean certainty), placed at the
    block's mean raw score; the logistic slope (Platt) continues it past the ends."""
    raw = np.asarray(raw, dtype=float)
    y = positive.astype(float)
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    levels, block = np.unique(isotonic.predict(raw), return_inverse=True)
    size = np.bincount(block, minlength=len(levels))
    hits = np.bincount(block, weights=y, minlength=len(levels))
    centres = np.bincount(block, weights=raw, minlength=len(levels)) / size
    shrunk = (hits + PRIOR_STRENGTH * y.mean()) / (size + PRIOR_STRENGTH)
    for i in range(1, len(shrunk)):  # levels ascend: keep the map strictly increasing
        shrunk[i] = max(shrunk[i], shrunk[i - 1] + STEP)
    shrunk = np.clip(shrunk, 1e-9, 1 - 1e-9)
    platt = LogisticRegression(C=1.0).fit(raw[:, None], positive.astype(int))
    slope = max(float(platt.coef_[0, 0]), 1e-3)
    return Calibration([float(v) for v in centres], [float(v) for v in shrunk], slope)


def train_model(
    options: TrainingOptions,
    *,
    catalogue: Catalogue | None = None,
    progress: bool = False,
    name: str = "model",
) -> TrainingResult:
    """Generate, scan and learn; returns the model (not yet saved) and what it learnt from."""
    started = time.perf_counter()
    catalogue = catalogue or load_catalogue()
    unknown = [s for s in options.scenarios if s not in SHIPPED and not Path(s).is_file()]
    if unknown:
        raise ConfigError(
            f"unknown scenario(s) {', '.join(unknown)} (shipped: {', '.join(SHIPPED)})"
        )
    if options.populations < options.calibration_every:
        raise ConfigError(
            f"--populations must be at least {options.calibration_every}: every "
            f"{options.calibration_every}th population calibrates the probabilities"
        )
    bases = [
        load_scenario(s).model_copy(update={"senders": options.senders}) for s in options.scenarios
    ]
    bar = Progress(console=Console(stderr=True), transient=True) if progress else nullcontext()
    with tempfile.TemporaryDirectory(prefix="vigil-train-") as tmp, bar as live:
        task = (
            live.add_task("Generating and scanning populations", total=options.populations)
            if live
            else None
        )
        examples, records = generated_examples(
            options, bases, Path(tmp), lambda: live.advance(task) if live else None
        )
    labelled = []
    for pair in options.labelled:
        _, positives, parties = collect_examples(
            examples, pair.workspace, read_labels(pair.labels), False, True
        )
        labelled.append(
            {
                "labels": str(pair.labels),
                "workspace": str(pair.workspace),
                "positives": positives,
                "parties": parties,
            }
        )
    kinds = {kind: fit_kind(kind, examples[kind], options, catalogue) for kind in KINDS}
    model = RankingModel(path=None, kinds=kinds, name=name)
    return TrainingResult(model, records, labelled, round(time.perf_counter() - started, 1))
