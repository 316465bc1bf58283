"""The correlation windows (correlation.yaml), validated before any work starts."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vigil.config import read_yaml_mapping
from vigil.errors import ConfigError

DEFAULT = Path(__file__).with_name("correlation.yaml")


class CorrelationWindows(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference_window_hours: float = Field(gt=0)
    amount_window_hours: float = Field(gt=0)
    amount_fx_tolerance: float = Field(ge=0, lt=1)
    negotiation_window_minutes: float = Field(gt=0)
    session_window_minutes: float = Field(gt=0)
    session_min_duration_minutes: float = Field(ge=0)
    session_max_duration_minutes: float = Field(gt=0)


@cache
def _load(path: Path) -> CorrelationWindows:
    data = read_yaml_mapping(path, "correlation config")
    try:
        return CorrelationWindows.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from error


def load_windows(path: Path | None = None) -> CorrelationWindows:
    return _load(Path(path) if path else DEFAULT)
