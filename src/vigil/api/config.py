"""The scoring API's decision rules: validated YAML (shipped default: scoring.yaml)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vigil.config import read_yaml_mapping
from vigil.errors import ConfigError

NonNegative = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(gt=0, lt=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PartyWeights(_Frozen):
    sender: NonNegative
    beneficiary: NonNegative


class PaymentPoints(_Frozen):
    corridor: NonNegative
    beneficiary_evening: NonNegative
    sender_night: NonNegative
    cover_narrative: NonNegative
    suspicious_payer: NonNegative
    suspicious_payers_max: Annotated[int, Field(ge=0)]
    watchlisted: NonNegative


class Thresholds(_Frozen):
    review: Share
    hold: Share

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.hold:
            raise ValueError("review must not be above hold")
        return self


class ScoringConfig(_Frozen):
    party_weights: PartyWeights
    payment_points: PaymentPoints
    thresholds: Thresholds

    def decision(self, score: float) -> str:
        if score >= self.thresholds.hold:
            return "hold"
        if score >= self.thresholds.review:
            return "review"
        return "allow"


def default_scoring_config_path() -> Path:
    return Path(str(resources.files("vigil.api").joinpath("scoring.yaml")))


def load_scoring_config(path: Path | str | None = None) -> ScoringConfig:
    path = Path(path) if path else default_scoring_config_path()
    data = read_yaml_mapping(path, "scoring config")
    try:
        return ScoringConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {where}: {first['msg']}") from error
