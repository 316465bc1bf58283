"""Scenario files: every parameter of a synthetic population, validated before any work starts."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vigil.config import read_yaml_mapping
from vigil.errors import ConfigError
from vigil.geo import country_codes
from vigil.schema import CHANNELS

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
Weights = dict[str, Annotated[float, Field(ge=0.0)]]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_weights(weights: Weights, what: str, allowed: frozenset[str] | None = None) -> Weights:
    if not weights or sum(weights.values()) <= 0:
        raise ValueError(f"{what} needs at least one positive weight")
    if allowed is not None:
        unknown = sorted(set(weights) - allowed)
        if unknown:
            raise ValueError(f"unknown {what}: {', '.join(unknown)}")
    return weights


class Amount(Strict):
    """Lognormal amounts in USD: a population median, a per-party level, a per-payment spread."""

    median_usd: Positive
    sigma: Annotated[float, Field(ge=0.0)] = 0.5
    party_sigma: Annotated[float, Field(ge=0.0)] = 0.3
    min_usd: Positive = 1.0
    max_usd: Positive = 100_000.0
    round_share: Share = 0.5
    escalation_growth: Annotated[float, Field(ge=0.0)] = 0.0

    @model_validator(mode="after")
    def _range(self) -> Amount:
        if self.min_usd >= self.max_usd:
            raise ValueError("min_usd must be below max_usd")
        return self


class Rate(Strict):
    """How often a party pays: sessions per month, heterogeneous across parties."""

    sessions_per_month: Positive
    heterogeneity: Positive = 2.0  # gamma shape: smaller means more unequal parties
    regular_share: Share = 0.0  # parties paying once a month on their own day
    escalation_share: Share = 0.0  # parties whose rate and amounts climb over time
    escalation_gain: Annotated[float, Field(ge=0.0)] = 3.0
    extra_payment_p: Share = 0.0  # chance of each further payment within a session
    extra_payment_gap_minutes: Positive = 15.0
    light_share: Share = 0.0  # parties with only a handful of sessions
    light_sessions: tuple[int, int] = (1, 5)
    active_years_median: Positive = 3.0
    active_years_sigma: Annotated[float, Field(ge=0.0)] = 0.6
    period_days: Positive = 30.44  # the rhythm of regular parties (7: weekly lessons)
    recent_months: Positive | None = None  # newcomers: every party starts this close to the end


class HourWindow(Strict):
    start: Annotated[float, Field(ge=0.0, lt=24.0)]
    end: Annotated[float, Field(gt=0.0, le=48.0)]  # past 24 runs into the next day
    weight: Positive

    @model_validator(mode="after")
    def _order(self) -> HourWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start (use 25 for 01:00 the next day)")
        return self


class Timing(Strict):
    """When payments happen, in whose local time."""

    clock: Literal["sender", "beneficiary", "mixed"] = "sender"
    beneficiary_clock_share: Share = 0.5  # with `mixed`: parties keeping the beneficiary's clock
    hours: list[HourWindow]
    weekdays_only: bool = False
    paydays: list[Annotated[int, Field(ge=1, le=28)]] = []  # days of month that pull payments
    payday_pull: Share = 0.0  # share of sessions moved to the party's payday
    payday_jitter_days: Annotated[float, Field(ge=0.0)] = 2.0


class Beneficiaries(Strict):
    """Who a population pays, and how those beneficiaries are shared between senders."""

    role: str
    kind: Literal["person", "charity", "merchant"] = "person"
    sharing: Literal["own", "shared"] = "own"
    per_sender_mean: Annotated[float, Field(ge=1.0)] = 1.0
    per_sender_max: Annotated[int, Field(ge=1)] = 30
    main_share: tuple[Share, Share] = (1.0, 1.0)  # payments to the main one, drawn per sender
    churn: bool = False  # secondary beneficiaries follow one another over time
    senders_per_beneficiary: Positive = 1.0  # for shared pools: sets the pool size
    popularity_alpha: Positive = 1.5  # Pareto tail of popularity in shared pools
    household_size_mean: Annotated[float, Field(ge=1.0)] = 1.0
    household_spread: Share = 0.0  # chance a sender also pays another member of the household
    accounts_per_person_mean: Annotated[float, Field(ge=1.0)] = 1.0
    variant_share: Share = 0.0  # share of extra accounts recorded under a spelling variant
    surname_link_share: Share = 0.0  # share of beneficiaries sharing the sender's surname
    joint_household_share: Share = 0.0  # senders who pay the household of another sender
    female_share: Share = 0.6
    hotspot_share: Share = 0.0  # share placed in the hotspot cities of their country
    # Pay the beneficiaries of another population (by popularity) instead of a pool of one's
    # own: newcomers and split offenders pay the facilitators other offenders pay; relatives
    # abroad send family money to a facilitator's household.
    pool_of: str | None = None
    relatives: bool = False  # with pool_of: the sender carries the beneficiary's surname
    # Persons who open a new wallet every few months and stop using the old one (churn).
    account_churn_share: Share = 0.0
    account_churn_months: tuple[Positive, Positive] = (2.0, 4.0)

    @model_validator(mode="after")
    def _pooled(self) -> Beneficiaries:
        if self.relatives and self.pool_of is None:
            raise ValueError("relatives needs pool_of (whose household the senders belong to)")
        lo, hi = self.account_churn_months
        if lo > hi:
            raise ValueError("account_churn_months: the first must not exceed the second")
        return self


class Narratives(Strict):
    blank_share: Share = 0.5
    words: list[str] = []
    favourite_share: Share = 0.7  # how often a party reuses its own habitual word


class Stream(Strict):
    """One kind of payment a population's senders make: to whom, how much, how often, when.

    A population's own fields are its main stream; `also` adds further streams of the same
    senders (an expatriate's landlord beside the helper, a romance-scam victim's mules after
    the "partner", a diaspora offender's family money). `span` places a stream within each
    sender's active years (0 = first day, 1 = last)."""

    destinations: Weights | None = None  # None: the main stream's destination
    amount: Amount
    rate: Rate
    timing: Timing
    beneficiaries: Beneficiaries
    channels: Weights
    narratives: Narratives = Narratives()
    span: tuple[Share, Share] = (0.0, 1.0)

    @field_validator("destinations")
    @classmethod
    def _destinations(cls, v: Weights | None) -> Weights | None:
        return None if v is None else _check_weights(v, "destination country", country_codes())

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: Weights) -> Weights:
        return _check_weights(v, "channel", frozenset(CHANNELS))

    @model_validator(mode="after")
    def _span(self) -> Stream:
        if self.span[0] >= self.span[1]:
            raise ValueError("span: the start must be before the end")
        return self


class Population(Stream):
    role: str
    label: str | None = None  # the role written to labels.csv (default: `role`)
    segment: str | None = None  # written to parties.csv for every sender (a kind of hiding)
    share: Share
    sender_countries: Weights | Literal["institution"] = "institution"
    sender_culture: Literal["country", "destination"] = "country"
    male_share: Share = 0.5
    destinations: Weights
    split_id_share: Share = 0.0  # senders who pay under two customer ids
    also: list[Stream] = []

    @property
    def label_role(self) -> str:
        return self.label or self.role

    @field_validator("destinations")
    @classmethod
    def _main_destinations(cls, v: Weights) -> Weights:
        return _check_weights(v, "destination country", country_codes())

    @field_validator("sender_countries")
    @classmethod
    def _senders(cls, v: Weights | str) -> Weights | str:
        return v if isinstance(v, str) else _check_weights(v, "sender country", country_codes())


class Scenario(Strict):
    name: str
    description: str
    start: date
    months: Annotated[int, Field(ge=1, le=240)] = 24
    senders: Annotated[int, Field(ge=1)] = 5000
    institution_countries: Weights
    cities: dict[str, list[str]]
    hotspot_cities: dict[str, list[str]] = {}
    currencies: dict[str, str]
    populations: list[Population]

    @field_validator("institution_countries")
    @classmethod
    def _institution(cls, v: Weights) -> Weights:
        return _check_weights(v, "institution country", country_codes())

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        total = sum(p.share for p in self.populations)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"population shares must add up to 1, they add up to {total:g}")
        roles = [p.role for p in self.populations]
        if len(set(roles)) != len(roles):
            raise ValueError("each population needs its own role")
        used: set[str] = set(self.institution_countries)
        pools = {p.role: p for p in self.populations}
        for p in self.populations:
            if isinstance(p.sender_countries, dict):
                used |= set(p.sender_countries)
            for stream in (p, *p.also):
                destinations = set(stream.destinations or {})
                used |= destinations
                missing_cities = sorted(destinations - set(self.cities))
                if missing_cities:
                    raise ValueError(
                        f"population {p.role}: no cities for {', '.join(missing_cities)}"
                    )
                pool = stream.beneficiaries.pool_of
                if pool is not None and (
                    pool not in pools
                    or pools[pool].beneficiaries.sharing != "shared"
                    or pools[pool].beneficiaries.pool_of is not None
                ):
                    raise ValueError(
                        f"population {p.role}: pool_of {pool} must name a population with a "
                        "shared pool of beneficiaries of its own"
                    )
        missing = sorted(used - set(self.currencies))
        if missing:
            raise ValueError(f"currencies: no currency for {', '.join(missing)}")
        return self


SHIPPED = ("default", "european_remitter", "ewallet", "hard_global", "hard_european")


def shipped_scenario_path(name: str) -> Path:
    return Path(str(resources.files("vigil.synth").joinpath("scenarios", f"{name}.yaml")))


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if not path.suffix and str(name_or_path) in SHIPPED:
        path = shipped_scenario_path(str(name_or_path))
    if not path.is_file():
        raise ConfigError(
            f"{name_or_path}: no such scenario file (shipped scenarios: {', '.join(SHIPPED)})"
        )
    return path


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """The scenario's mapping, with `base:` (another scenario it overrides) merged in."""
    data = read_yaml_mapping(path, "scenario")
    base = data.pop("base", None)
    if base is None:
        return data
    base_path = _resolve(base if str(base) in SHIPPED else path.parent / str(base))
    if base_path.resolve() in seen:
        raise ConfigError(f"{path}: base: scenarios extend each other in a circle")
    return _merge(_read(base_path, (*seen, path.resolve())), data)


def _merge(base: dict, override: dict) -> dict:
    """Mappings merge key by key; `populations` merge by role (new roles are added)."""
    merged = dict(base)
    for key, value in override.items():
        if key == "populations" and isinstance(value, list) and isinstance(base.get(key), list):
            by_role = {p.get("role"): p for p in base[key] if isinstance(p, dict)}
            for pop in value:
                role = pop.get("role") if isinstance(pop, dict) else None
                by_role[role] = _merge(by_role[role], pop) if role in by_role else pop
            merged[key] = list(by_role.values())
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name, or a YAML file; errors name the file, the key and the rule."""
    path = _resolve(name_or_path)
    data = _read(path)
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = _key_path(data, first["loc"])
        raise ConfigError(
            f"{path}: {where or 'scenario'}: {first['msg']}"
            + (f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else "")
        ) from error


def _key_path(data: dict, loc: tuple) -> str:
    """'populations[2].amount.median_usd' with the population's role where it helps."""
    parts: list[str] = []
    node: object = data
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            if isinstance(node, list) and key < len(node) and isinstance(node[key], dict):
                role = node[key].get("role")
                label = f"[{key}:{role}]" if role else label
            parts.append(label)
            node = node[key] if isinstance(node, list) and key < len(node) else None
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts)
