"""The entity-resolution configuration (resolution.yaml): threshold, blocking, training,
behaviour, priors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vigil.config import read_yaml_mapping
from vigil.errors import ConfigError

DEFAULT_CONFIG = Path(__file__).with_name("resolution.yaml")

Probability = Annotated[float, Field(gt=0.0, le=1.0)]
OpenShare = Annotated[float, Field(gt=0.0, lt=1.0)]
_TOKEN = re.compile(r"^[a-z0-9]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LevelPrior(Strict):
    m: Probability
    u: Probability


class _Comparison(Strict):
    """The levels of one comparison: m and u each add up to 1 over its levels."""

    @model_validator(mode="after")
    def _sums(self) -> _Comparison:
        levels = [getattr(self, name) for name in type(self).model_fields]
        for which in ("m", "u"):
            total = sum(getattr(level, which) for level in levels)
            if abs(total - 1.0) > 0.01:
                raise ValueError(
                    f"the {which} probabilities of the levels add up to {total:g}, not 1"
                )
        return self


class NamePriors(_Comparison):
    exact: LevelPrior
    same_apart_from_initials: LevelPrior
    one_letter_apart: LevelPrior
    initial_for_given_name: LevelPrior
    extra_name: LevelPrior
    very_similar: LevelPrior
    similar: LevelPrior
    different: LevelPrior


class CityPriors(_Comparison):
    exact: LevelPrior
    similar: LevelPrior
    different: LevelPrior


class CountryPriors(_Comparison):
    exact: LevelPrior
    different: LevelPrior


class CounterpartPriors(_Comparison):
    most: LevelPrior
    handover: LevelPrior
    many: LevelPrior
    several: LevelPrior
    one_among_many: LevelPrior
    one: LevelPrior
    unlike_names: LevelPrior
    none: LevelPrior


class PayerPriors(CounterpartPriors):
    sole: LevelPrior  # a beneficiary's only payer in common (resolution_model.PartyKind)


class PayeePriors(CounterpartPriors):
    """A sender's payees have one level more: a payee in common whom few senders pay."""

    rare: LevelPrior


class PhonePriors(_Comparison):
    same: LevelPrior
    different: LevelPrior


class TimingPriors(_Comparison):
    churn: LevelPrior
    other: LevelPrior


class Priors(Strict):
    duplicate_share: OpenShare
    name: NamePriors
    city: CityPriors
    country: CountryPriors
    phone: PhonePriors
    payers: PayerPriors
    payees: PayeePriors
    timing: TimingPriors


class Behaviour(Strict):
    max_counterpart_parties: Annotated[int, Field(ge=2)] = 50
    counterparts_listed: Annotated[int, Field(ge=1, le=1000)] = 20
    rare_counterpart_share: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.01


class Training(Strict):
    min_parties: Annotated[int, Field(ge=2)] = 100
    u_max_pairs: Annotated[float, Field(ge=1000)] = 2e6
    em_max_pairs: Annotated[float, Field(ge=1000)] = 1e6
    em_max_iterations: Annotated[int, Field(ge=1, le=1000)] = 25
    em_block_recall: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    max_duplicate_share: Annotated[float, Field(gt=0.0)] = 0.5


class Names(Strict):
    aliases: dict[str, str] = {}
    ignore: list[str] = []

    @field_validator("aliases")
    @classmethod
    def _alias_tokens(cls, aliases: dict[str, str]) -> dict[str, str]:
        for short, full in aliases.items():
            for token in (short, full):
                if not _TOKEN.match(token):
                    raise ValueError(f"{token!r} is not one lower-case word without punctuation")
        return aliases

    @field_validator("ignore")
    @classmethod
    def _ignore_tokens(cls, words: list[str]) -> list[str]:
        for token in words:
            if not _TOKEN.match(token):
                raise ValueError(f"{token!r} is not one lower-case word without punctuation")
        return words


class ResolutionConfig(Strict):
    enabled: bool = True
    threshold: OpenShare = 0.9
    max_block_size: Annotated[int, Field(ge=2)] = 30
    max_country_block_size: Annotated[int, Field(ge=2)] = 12
    seed: int = 7
    training: Training = Training()
    names: Names = Names()
    behaviour: Behaviour = Behaviour()
    priors: Priors


def load_resolution_config(path: Path | None = None) -> ResolutionConfig:
    """The shipped configuration, or the YAML file at `path`; errors name the file and key."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"{path}: no such entity-resolution config file")
    data = read_yaml_mapping(path, "entity-resolution config")
    try:
        return ResolutionConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise ConfigError(f"{path}: {where}: {first['msg']}{more}") from error
