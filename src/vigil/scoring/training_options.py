"""What a training run uses: populations, sizes, seeds, boosting settings (no heavy imports,
so that the command line can show the defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vigil.synth.randomise import RandomisationRanges
from vigil.synth.scenario import SHIPPED

SEED_BASE = 1_000_000  # training populations use seeds from here; evaluations stay below
SEEDS_PER_RUN = 10_000


@dataclass(frozen=True)
class LabelledWorkspace:
    """A scanned workspace and a labels.csv for it (e.g. `vigil cases labels`)."""

    labels: Path
    workspace: Path


@dataclass(frozen=True)
class TrainingOptions:
    scenarios: tuple[str, ...] = SHIPPED
    populations: int = 16
    senders: int = 3000
    seed: int = 0
    rounds: int = 150
    learning_rate: float = 0.05
    leaves: int = 7
    min_leaf: int = 40
    calibration_every: int = 4  # every n-th population calibrates instead of training
    watchlist_share: float = 0.3  # populations scanned with a watchlist of known parties
    labelled: tuple[LabelledWorkspace, ...] = ()
    ranges: RandomisationRanges = field(default_factory=RandomisationRanges)
    # Population roles left out of every training population (leave-one-population-out).
    exclude: tuple[str, ...] = ()
    resolution: Path | None = None  # entity-resolution config the scans use (default: shipped)

    def population_seed(self, index: int) -> int:
        return SEED_BASE + self.seed * SEEDS_PER_RUN + index

    def lightgbm_params(self, monotone: list[int]) -> dict:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.leaves,
            "min_data_in_leaf": self.min_leaf,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 10.0,
            "monotone_constraints": monotone,
            "monotone_constraints_method": "advanced",
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 2,
            "seed": self.seed,
            "verbose": -1,
        }
