"""The indicator catalogue: validated data, evaluated by one generic engine."""

from __future__ import annotations

import re
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vigil.config import read_yaml_mapping
from vigil.errors import ConfigError

PartyKind = Literal["sender", "beneficiary"]
# Word edges that know accented letters (RE2's \b is ASCII-only: "Martínez" has a "mart").
_START, _END = r"(?:^|[^\pL\pN])", r"(?:[^\pL\pN]|$)"
_PLACEHOLDER = re.compile(r"\{(\w+)(:[^}]*)?\}")


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Indicator(Frozen):
    id: Annotated[str, Field(pattern=r"^[RBNE]\d+$")]
    party: PartyKind
    title: str
    statement: str
    sources: list[str]
    stage: Literal["behaviour", "network"] = "behaviour"
    feature: str
    direction: Literal["above", "below"] = "above"
    threshold: float
    saturation: float
    weight: Annotated[float, Field(ge=0)]
    requires_any: list[str] = []
    figures: str

    @model_validator(mode="after")
    def _ordered(self) -> Indicator:
        rising = self.saturation >= self.threshold
        if rising != (self.direction == "above"):
            raise ValueError(
                "saturation must lie beyond the threshold in the indicator's direction"
            )
        return self

    @property
    def figure_fields(self) -> list[str]:
        return [m.group(1) for m in _PLACEHOLDER.finditer(self.figures)]


class Signal(Frozen):
    """One sign of a look-alike typology: a feature tested as an indicator is."""

    name: str
    feature: str
    direction: Literal["above", "below"] = "above"
    threshold: float
    saturation: float
    weight: Annotated[float, Field(gt=0)] = 1.0
    figures: str

    @model_validator(mode="after")
    def _ordered(self) -> Signal:
        rising = self.saturation >= self.threshold
        if rising != (self.direction == "above"):
            raise ValueError("saturation must lie beyond the threshold in the signal's direction")
        return self


class Typology(Frozen):
    """A look-alike typology a party is scored against beside the crime's pattern: its fit is
    the weighted mean of its signals' strengths, once one of `requires_any` has fired; a
    fitting typology that explains the same payments discounts the pattern's points."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z_]*$")]
    party: PartyKind
    title: str
    statement: str
    sources: list[str] = []
    signals: list[Signal]
    requires_any: list[str] = []
    discount: Annotated[float, Field(ge=0, le=0.95)] = 0.0

    @model_validator(mode="after")
    def _known(self) -> Typology:
        names = {s.name for s in self.signals}
        unknown = sorted(set(self.requires_any) - names)
        if unknown:
            raise ValueError(f"typology {self.id} requires unknown signals {', '.join(unknown)}")
        return self


class NetworkParameters(Frozen):
    """How the graph stage walks and groups the payer–beneficiary graph."""

    # Chance that a risk-by-association walk takes one more payment hop (PageRank damping).
    damping: Annotated[float, Field(gt=0, lt=1)] = 0.7
    # Weight of payments between people sharing a surname: family money explains itself, so
    # by default it carries no association at all.
    related_weight: Annotated[float, Field(ge=0, le=1)] = 0.0
    # Leiden modularity resolution, and the smallest community worth scoring.
    community_resolution: Annotated[float, Field(gt=0)] = 1.0
    community_min_size: Annotated[int, Field(ge=3)] = 3
    seed: int = 0


class Parameters(Frozen):
    high_risk_countries: list[str]
    demand_countries: list[str]
    small_band_usd: tuple[float, float]
    beneficiary_evening_hours: tuple[int, int]
    sender_night_hours: tuple[int, int]
    cover_words: list[str]
    handle_pattern: str
    organisation_words: list[str] = []
    # Stated purposes that tell typologies apart (children's needs, tips, visas, invoices...).
    purpose_words: dict[str, list[str]] = {}
    sender_evening_hours: tuple[int, int] = (19, 1)
    suspicious_score: Annotated[float, Field(gt=0, lt=1)]
    network: NetworkParameters = NetworkParameters()

    @property
    def cover_pattern(self) -> str:
        words = _alternation(tuple(self.cover_words), longest_first=True)
        return rf"{_START}({words}){_END}|{self.handle_pattern}"

    def purpose_pattern(self, purpose: str) -> str:
        words = _alternation(tuple(self.purpose_words[purpose]), longest_first=True)
        return rf"{_START}({words}){_END}"

    @property
    def organisation_pattern(self) -> str:
        words = _alternation(tuple(self.organisation_words), longest_first=False) or "(?!)"
        return rf"{_START}({words}){_END}"


@cache
def _alternation(words: tuple[str, ...], *, longest_first: bool) -> str:
    """`words` escaped, lower-cased and joined with `|` (the longest first, so that
    "school fees" wins over "school"). Cached by the words, not on the model: the scoring
    API asks for the patterns with every payment, and a copied Parameters with other words
    gets its own."""
    ordered = sorted(words, key=len, reverse=True) if longest_first else words
    return "|".join(re.escape(w.lower()) for w in ordered)


class KindScoring(Frozen):
    scale: Annotated[float, Field(gt=0)]


class Catalogue(Frozen):
    parameters: Parameters
    scoring: dict[PartyKind, KindScoring]
    indicators: list[Indicator]
    typologies: list[Typology] = []
    # Indicators over the cross-institution signals of `vigil share import`: not evaluated by
    # a scan, whose features lack them; `with_collaboration()` adds them.
    collaboration: list[Indicator] = []

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        seen: set[tuple[str, str]] = set()
        for ind in [*self.indicators, *self.collaboration]:
            key = (ind.party, ind.id)
            if key in seen:
                raise ValueError(f"indicator {ind.id} is defined twice for {ind.party}s")
            seen.add(key)
        for ind in [*self.indicators, *self.collaboration]:
            unknown = [r for r in ind.requires_any if (ind.party, r) not in seen]
            if unknown:
                raise ValueError(f"indicator {ind.id} requires unknown {', '.join(unknown)}")
        return self

    def with_collaboration(self) -> Catalogue:
        """This catalogue with its cross-institution indicators among those evaluated."""
        return Catalogue.model_validate(
            {
                **self.model_dump(),
                "indicators": [i.model_dump() for i in [*self.indicators, *self.collaboration]],
                "collaboration": [],
            }
        )

    def with_pooled_collaboration(self) -> Catalogue:
        """This catalogue with the senders' cross-institution indicators among those
        evaluated: the FIU's pooled scan computes their figures itself (its payments carry
        every reporter). The beneficiaries' stay out: their payers at every reporter are
        already their payers in the pooled scan, counted by N1."""
        senders = [i for i in self.collaboration if i.party == "sender"]
        return Catalogue.model_validate(
            {
                **self.model_dump(),
                "indicators": [i.model_dump() for i in [*self.indicators, *senders]],
                "collaboration": [
                    i.model_dump() for i in self.collaboration if i.party != "sender"
                ],
            }
        )

    def typologies_for(self, kind: str) -> list[Typology]:
        return [t for t in self.typologies if t.party == kind]

    def for_party(self, kind: str, stage: str | None = None) -> list[Indicator]:
        return [
            i for i in self.indicators if i.party == kind and (stage is None or i.stage == stage)
        ]

    @cached_property
    def by_key(self) -> dict[tuple[str, str], Indicator]:
        return {(i.party, i.id): i for i in self.indicators}


def default_catalogue_path() -> Path:
    return Path(str(resources.files("vigil.indicators").joinpath("catalogue.yaml")))


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    path = Path(path) if path else default_catalogue_path()
    data = read_yaml_mapping(path, "catalogue")
    try:
        return Catalogue.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from error
