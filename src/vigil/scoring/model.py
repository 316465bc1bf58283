"""The learned ranking model: LightGBM per party kind, calibrated, explained per indicator.

A model folder holds `sender.txt` and `beneficiary.txt` (LightGBM's text format),
`model.json` (features, monotone directions, feature → indicator groups, calibration) and the
model card (`model_card.json`, `model_card.md`). `apply_model` scores a scanned workspace:
the expert score stays as `expert_score`, the calibrated probability becomes `score`, and
the fired indicators' contributions are rewritten from the model's own contributions
(LightGBM `pred_contrib`), so explanations stay in the catalogue's words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from vigil.errors import ConfigError, InputError
from vigil.indicators.catalogue import Catalogue
from vigil.schema import PARTY_KINDS as KINDS
from vigil.scoring.correction_bound import bounded, bounded_share
from vigil.scoring.model_features import OTHER_BEHAVIOUR
from vigil.workspace import Workspace

FORMAT_VERSION = 3
BASE = "base"  # the model's expected log-odds, before any feature
# The expert score is the model's first feature: boosting starts from the expert's ranking
# (its log-odds, rescaled) and learns corrections, so it cannot wander far from it.
EXPERT_FEATURE = "expert_score"
EXPERT = "expert"  # explanation group of the expert's own part (shared by its indicators)
Matrix = npt.NDArray[np.float64]


def expert_logit(score: Matrix) -> Matrix:
    clipped = np.clip(np.nan_to_num(score, nan=0.0), 1e-9, 1 - 1e-9)
    return np.log(clipped / (1 - clipped))


def _logit(p: Matrix) -> Matrix:
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibration:
    """From the model's raw log-odds to a probability: the isotonic blocks' rates (shrunk) at
    the blocks' centres, joined by straight lines and continued past the ends on the logistic
    slope. Strictly increasing, so parties the model tells apart never share a probability,
    at the top of the queue or at its bottom."""

    raw: list[float]
    probability: list[float]
    slope: float  # d logit(p) / d raw beyond the first and last centres

    def __call__(self, raw: Matrix) -> Matrix:
        raw = np.asarray(raw, dtype=float)
        xs, ps = np.asarray(self.raw), np.asarray(self.probability)
        inside = np.interp(raw, xs, ps)
        below = 1 / (1 + np.exp(-(_logit(ps[0]) + self.slope * (raw - xs[0]))))
        above = 1 / (1 + np.exp(-(_logit(ps[-1]) + self.slope * (raw - xs[-1]))))
        return np.where(raw < xs[0], below, np.where(raw > xs[-1], above, inside))

    def to_dict(self) -> dict:
        return {"raw": self.raw, "probability": self.probability, "slope": self.slope}


@dataclass(frozen=True)
class KindModel:
    """The model of one party kind."""

    kind: str
    booster: lgb.Booster  # trained on every feature but the first (the expert score)
    features: list[str]  # EXPERT_FEATURE first
    monotone: list[int]
    groups: dict[str, list[str]]  # feature -> indicator ids (or 'other', 'expert')
    calibration: Calibration
    expert_intercept: float  # the expert's log-odds rescaled: where boosting starts
    expert_slope: float
    # The most log-odds the trees may add to or take from the expert's part
    # (`correction_bound`); chosen by leaving look-alike populations out, checks as dicts.
    correction_bound: float
    tie_break: float  # TIE_BREAK, or 0 where breaking the expert's ties failed a check
    held_out_checks: tuple[dict, ...] = ()

    def expert_part(self, x: Matrix) -> Matrix:
        return self.expert_intercept + self.expert_slope * expert_logit(x[:, 0])

    def correction(self, x: Matrix) -> Matrix:
        """What the trees add to the expert's part, bounded."""
        learned = np.asarray(self.booster.predict(x[:, 1:], raw_score=True), dtype=float)
        return bounded(learned, self.correction_bound, self.tie_break)

    def raw(self, x: Matrix) -> Matrix:
        return self.expert_part(x) + self.correction(x)

    def probability(self, x: Matrix) -> Matrix:
        return self.calibration(self.raw(x))

    @property
    def group_names(self) -> list[str]:
        """Indicator ids in feature order, 'other' then 'base' last."""
        names: list[str] = []
        for feature in self.features:
            for group in self.groups[feature]:
                if group not in names and group != OTHER_BEHAVIOUR:
                    names.append(group)
        return [*names, OTHER_BEHAVIOUR, BASE]

    def contributions(self, x: Matrix) -> Matrix:
        """Log-odds per group (columns as `group_names`); each row sums to `raw(x)`."""
        learned = np.asarray(self.booster.predict(x[:, 1:], pred_contrib=True), dtype=float)
        # Each feature's part shrinks with the bound, so that the parts add up to the score.
        learned *= bounded_share(learned.sum(axis=1), self.correction_bound, self.tie_break)[
            :, None
        ]
        per_feature = np.column_stack([self.expert_part(x), learned])
        names = self.group_names
        to_group = np.zeros((len(self.features) + 1, len(names)))
        for i, feature in enumerate(self.features):
            groups = self.groups[feature]
            for group in groups:
                to_group[i, names.index(group)] += 1.0 / len(groups)
        to_group[-1, names.index(BASE)] = 1.0
        return per_feature @ to_group

    def to_dict(self, booster_file: str) -> dict:
        return {
            "booster": booster_file,
            "features": self.features,
            "monotone": self.monotone,
            "groups": self.groups,
            "calibration": self.calibration.to_dict(),
            "expert": {"intercept": self.expert_intercept, "slope": self.expert_slope},
            "correction_bound": self.correction_bound,
            "tie_break": self.tie_break,
            "held_out_checks": list(self.held_out_checks),
        }


@dataclass(frozen=True)
class RankingModel:
    path: Path | None
    kinds: dict[str, KindModel]
    name: str = "model"

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        described = {}
        for kind, model in self.kinds.items():
            booster_file = f"{kind}.txt"
            model.booster.save_model(str(path / booster_file))
            described[kind] = model.to_dict(booster_file)
        body = {"format_version": FORMAT_VERSION, "name": self.name, "kinds": described}
        (path / "model.json").write_text(json.dumps(body, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path | str) -> RankingModel:
        path = Path(path)
        spec_file = path / "model.json"
        if not spec_file.is_file():
            raise ConfigError(
                f"{path}: not a model folder (no model.json; see `vigil model train`)"
            )
        try:
            spec = json.loads(spec_file.read_text())
            if spec.get("format_version") != FORMAT_VERSION:
                raise ConfigError(
                    f"{spec_file}: model format {spec.get('format_version')}, this Vigil reads "
                    f"{FORMAT_VERSION}: retrain with `vigil model train`"
                )
            kinds = {}
            for kind, body in spec["kinds"].items():
                booster = lgb.Booster(model_file=str(path / body["booster"]))
                cal = body["calibration"]
                kinds[kind] = KindModel(
                    kind=kind,
                    booster=booster,
                    features=list(body["features"]),
                    monotone=list(body["monotone"]),
                    groups={k: list(v) for k, v in body["groups"].items()},
                    calibration=Calibration(
                        list(cal["raw"]), list(cal["probability"]), float(cal["slope"])
                    ),
                    expert_intercept=float(body["expert"]["intercept"]),
                    expert_slope=float(body["expert"]["slope"]),
                    correction_bound=float(body["correction_bound"]),
                    tie_break=float(body["tie_break"]),
                    held_out_checks=tuple(body["held_out_checks"]),
                )
        except (KeyError, TypeError, ValueError, lgb.basic.LightGBMError) as error:
            raise ConfigError(f"{path}: damaged model folder: {error}") from error
        return cls(path=path, kinds=kinds, name=spec.get("name", path.name))


def read_features(
    con: duckdb.DuckDBPyConnection, table: str, features: list[str], where: str = ""
) -> tuple[npt.NDArray[np.object_], Matrix]:
    """party_id and the feature matrix of `table`; a missing column is an error naming it."""
    present = {row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()}
    # Before a model has scored the table, the expert's score is still called `score`.
    source = {f: "score" if f == EXPERT_FEATURE and f not in present else f for f in features}
    missing = [f for f in features if source[f] not in present]
    if missing:
        raise InputError(
            f"table {table} lacks the model's feature column(s) {', '.join(missing)}: "
            "the model was trained on another version of the features; retrain it"
        )
    columns = ", ".join(f'CAST("{source[f]}" AS DOUBLE) AS "{f}"' for f in features)
    data = con.execute(
        f'SELECT party_id, {columns} FROM "{table}" {where} ORDER BY party_id'
    ).fetchnumpy()
    x = (
        np.column_stack(
            [np.ma.filled(np.ma.asarray(data[f], dtype=float), np.nan) for f in features]
        )
        if features
        else np.empty((len(data["party_id"]), 0))
    )
    return np.asarray(data["party_id"], dtype=object), x


def ranked_by_model(con: duckdb.DuckDBPyConnection, model: RankingModel) -> pl.DataFrame:
    """Every party of a scanned workspace as the model ranks it, in the alerts' columns
    (party_kind, party_id, score, rank), without changing the workspace."""
    frames = []
    for kind in KINDS:
        part = model.kinds[kind]
        ids, x = read_features(con, f"{kind}_scores", part.features)
        frame = pl.DataFrame(
            {"party_id": ids.astype(str), "score": part.probability(x), "raw": part.raw(x)}
        )
        frames.append(
            frame.sort(["score", "raw", "party_id"], descending=[True, True, False])
            .with_row_index("rank", offset=1)
            .select(
                pl.lit(kind).alias("party_kind"), "party_id", "score", pl.col("rank").cast(pl.Int64)
            )
        )
    return pl.concat(frames)


def ranked_by_expert(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The expert score's ranking (before a model, or kept as `expert_score` after one)."""
    frames = []
    for kind in KINDS:
        table = f"{kind}_scores"
        columns = {row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()}
        kept = "expert_score" in columns
        score, rank = ("expert_score", "expert_rank") if kept else ("score", "rank")
        frames.append(
            con.sql(
                f"""SELECT '{kind}' AS party_kind, party_id, CAST("{score}" AS DOUBLE) AS score,
                           CAST("{rank}" AS BIGINT) AS rank FROM "{table}" """
            ).pl()
        )
    return pl.concat(frames)


EXPLAIN_SHARE = 0.05  # the model's own contributions for the top 5 % of each kind ...
EXPLAIN_AT_LEAST = 2000  # ... and never fewer than this many parties (TreeSHAP is costly)


def apply_model(ws: Workspace, model_dir: Path | str, catalogue: Catalogue) -> RankingModel:
    """Re-score `{kind}_scores` with the model, re-rank, and re-explain `indicator_hits`.

    The parties an analyst reviews (the top 5 %, at least 2,000 per kind) are explained by
    the model's own contributions: the score is shared among the indicators whose features
    raised it, in proportion to their log-odds; `model_contributions` (party_kind, party_id,
    indicator, log_odds) holds every group, 'other' behaviour and the 'base' included,
    adding up to the model's raw score. Further down, the score is shared among the fired
    indicators by the catalogue's weights, as without a model.
    """
    model = RankingModel.load(model_dir)
    con = ws.con
    indicators = {i.id for i in catalogue.indicators}
    shares, logits, explained = [], [], []
    for kind in KINDS:
        if kind not in model.kinds:
            raise ConfigError(f"{model_dir}: the model has no {kind} part")
        part = model.kinds[kind]
        ids, x = read_features(con, f"{kind}_scores", part.features)
        raw = part.raw(x)
        probability = part.probability(x)
        _rescore(con, kind, ids, probability, raw)
        order = np.lexsort((-raw, -probability))
        top = order[: max(EXPLAIN_AT_LEAST, int(np.ceil(EXPLAIN_SHARE * len(ids))))]
        chosen = np.sort(top)
        ids, probability = ids[chosen], probability[chosen]
        groups = part.contributions(x[chosen])
        names = part.group_names
        explained.append((kind, ids, "", np.zeros(len(ids))))
        # The groups that raised the score share it, in proportion to their log-odds.
        evidence = np.clip(groups[:, :-1], 0, None)
        total = evidence.sum(axis=1, keepdims=True)
        share = np.divide(evidence, total, out=np.zeros_like(evidence), where=total > 0)
        for j, name in enumerate(names[:-1]):
            if name in indicators or name == EXPERT:
                keep = share[:, j] > 0
                shares.append((kind, ids[keep], name, share[keep, j] * probability[keep]))
        for j, name in enumerate(names):
            keep = groups[:, j] != 0
            logits.append((kind, ids[keep], name, groups[keep, j]))
    _register_long(con, "__vigil_model_explained", "unused", explained)
    _register_long(con, "__vigil_model_shares", "contribution", shares)
    _register_long(con, "__vigil_model_logits", "log_odds", logits)
    scores = " UNION ALL ".join(
        f"SELECT '{kind}' AS party_kind, party_id, score AS party_score, points AS party_points "
        f"FROM {kind}_scores"
        for kind in KINDS
    )
    try:
        con.execute(
            # The expert's part is shared by its indicators as the expert shares its score;
            # then every explained party's shares are scaled to add up to its score.
            f"""CREATE OR REPLACE TABLE indicator_hits AS
            WITH weighted AS (
                SELECT h.*, e.party_id IS NOT NULL AS explained, s.party_score,
                       s.party_points,
                       coalesce(m.contribution, 0.0)
                       + coalesce(x.contribution, 0.0) * h.points / nullif(s.party_points, 0)
                       AS w
                FROM indicator_hits h
                JOIN ({scores}) s USING (party_kind, party_id)
                LEFT JOIN (SELECT party_kind, party_id FROM __vigil_model_explained) e
                    USING (party_kind, party_id)
                LEFT JOIN __vigil_model_shares m USING (party_kind, party_id, indicator)
                LEFT JOIN (SELECT party_kind, party_id, contribution
                           FROM __vigil_model_shares WHERE indicator = '{EXPERT}') x
                    USING (party_kind, party_id)
            ),
            totals AS (
                SELECT *, sum(w) OVER (PARTITION BY party_kind, party_id) AS w_total
                FROM weighted
            )
            SELECT party_kind, party_id, indicator, points, strength, value,
                   CASE WHEN explained AND w_total > 0 THEN party_score * w / w_total
                        ELSE party_score * points / nullif(party_points, 0) END
                   AS contribution,
                   figures
            FROM totals"""
        )
        con.execute(
            "CREATE OR REPLACE TABLE model_contributions AS SELECT * FROM __vigil_model_logits"
        )
    finally:
        for view in ("__vigil_model_explained", "__vigil_model_shares", "__vigil_model_logits"):
            con.unregister(view)
    ws.meta_set("scoring_model", model.path.resolve() if model.path else model.name)
    return model


def _rescore(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    ids: npt.NDArray[np.object_],
    probability: Matrix,
    raw: Matrix,
) -> None:
    """`score` becomes the model's, `rank` follows it; the expert's stay beside them."""
    columns = {row[0] for row in con.execute(f"DESCRIBE {kind}_scores").fetchall()}
    # A workspace ranked by a model before keeps the expert score it kept then.
    expert = (
        "s.* EXCLUDE (score, rank)"
        if "expert_score" in columns
        else "s.* EXCLUDE (score, rank), s.score AS expert_score, s.rank AS expert_rank"
    )
    scored = pa.table({"party_id": ids.tolist(), "model_score": probability, "raw": raw})
    con.register("__vigil_model_scores", scored)
    try:
        con.execute(
            f"""CREATE OR REPLACE TABLE {kind}_scores AS
            SELECT {expert}, m.model_score AS score,
                   row_number() OVER (ORDER BY m.model_score DESC, m.raw DESC, s.party_id)
                   AS rank
            FROM {kind}_scores s JOIN __vigil_model_scores m USING (party_id)"""
        )
    finally:
        con.unregister("__vigil_model_scores")


def _register_long(
    con: duckdb.DuckDBPyConnection,
    view: str,
    value: str,
    parts: list[tuple[str, np.ndarray, str, np.ndarray]],
) -> None:
    """Register (party_kind, party_id, indicator, value) rows built from numpy columns."""
    kinds = [np.full(len(ids), kind, dtype=object) for kind, ids, _, _ in parts]
    names = [np.full(len(ids), name, dtype=object) for _, ids, name, _ in parts]
    table = pa.table(
        {
            "party_kind": pa.array(np.concatenate(kinds) if parts else [], pa.string()),
            "party_id": pa.array(
                np.concatenate([ids for _, ids, _, _ in parts]) if parts else [], pa.string()
            ),
            "indicator": pa.array(np.concatenate(names) if parts else [], pa.string()),
            value: pa.array(np.concatenate([v for *_, v in parts]) if parts else [], pa.float64()),
        }
    )
    con.register(view, table)
