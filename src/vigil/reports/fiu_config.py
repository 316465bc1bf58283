"""An FIU's goAML settings: its XSD, the reporting entity and the FIU's code lists.

Every FIU that runs goAML publishes its own XSD and code lists, so nothing FIU-specific is
written in Vigil's code: the config names the XSD (a relative `xsd_path` is read from the
config file's folder), the reporting entity's header fields, and maps Vigil's indicator ids
and payment channels to the FIU's codes. A mistake is reported with the file, the key and
the rule broken, before any report is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vigil.config import read_yaml_mapping
from vigil.errors import ConfigError
from vigil.schema import CHANNELS

WHAT = "FIU config"

Code = Annotated[str, Field(min_length=1, max_length=50)]
Text = Annotated[str, Field(min_length=1, max_length=255)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportingPerson(_Strict):
    """The compliance officer who files the report (goAML `reporting_person`)."""

    first_name: Annotated[str, Field(min_length=1, max_length=100)]
    last_name: Annotated[str, Field(min_length=1, max_length=100)]
    title: Annotated[str, Field(min_length=1, max_length=30)] | None = None
    occupation: Text | None = None
    email: Text | None = None


class Location(_Strict):
    """The reporting entity's address (goAML `location`)."""

    address_type: Code
    address: Annotated[str, Field(min_length=1, max_length=100)]
    city: Text
    country_code: Code
    zip: Annotated[str, Field(min_length=1, max_length=10)] | None = None


class ChannelCodes(_Strict):
    """How a Vigil payment channel is written in the FIU's code lists."""

    transmode: Code
    funds: Code


class IndicatorCodes(_Strict):
    """Vigil indicator id → the FIU's report indicator code; `default` when none maps."""

    default: Code
    map: dict[str, Code] = Field(default_factory=dict)


class FiuConfig(_Strict):
    """One FIU's goAML settings, validated."""

    xsd_path: Path
    rentity_id: Annotated[int, Field(ge=1)]
    rentity_branch: Text
    submission_code: Code
    report_code: Code
    local_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    reporting_person: ReportingPerson
    location: Location
    indicators: IndicatorCodes
    channels: dict[str, ChannelCodes]
    action: Annotated[str, Field(max_length=8000)] | None = None
    # where the config came from (set by load_fiu_config; not a YAML key)
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("channels")
    @classmethod
    def _every_channel(cls, value: dict[str, ChannelCodes]) -> dict[str, ChannelCodes]:
        unknown = sorted(set(value) - set(CHANNELS))
        if unknown:
            raise ValueError(
                f"unknown channel {', '.join(unknown)} (expected {', '.join(CHANNELS)})"
            )
        missing = [c for c in CHANNELS if c not in value]
        if missing:
            raise ValueError(f"codes missing for channel {', '.join(missing)}")
        return value

    def indicator_codes(self, fired: list[str]) -> list[str]:
        """The FIU codes of the fired indicators, in order, without repeats; unmapped ids
        are skipped, and the default code stands in when none maps."""
        codes: list[str] = []
        for indicator in fired:
            code = self.indicators.map.get(indicator)
            if code is not None and code not in codes:
                codes.append(code)
        return codes or [self.indicators.default]


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def load_fiu_config(path: Path | str | None) -> FiuConfig:
    """The FIU config at `path` (the shipped example when None), validated, with its XSD
    path resolved and checked to be readable."""
    path = Path(path) if path is not None else example_config_path()
    data = read_yaml_mapping(path, WHAT)
    if "source" in data:
        raise ConfigError(f"{path}: source: not a key of an {WHAT}")
    try:
        config = FiuConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        key = _where(first["loc"])
        more = len(error.errors()) - 1
        also = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(f"{path}: {key}: {first['msg']}{also}") from error
    xsd = config.xsd_path if config.xsd_path.is_absolute() else path.parent / config.xsd_path
    xsd = xsd.resolve()
    if not xsd.is_file():
        raise ConfigError(f"{path}: xsd_path: no such XSD file {xsd}")
    try:
        with xsd.open("rb"):
            pass
    except OSError as error:
        raise ConfigError(f"{path}: xsd_path: cannot read {xsd}: {error.strerror}") from error
    return config.model_copy(update={"xsd_path": xsd, "source": path})


def example_config_path() -> Path:
    """The FIU config shipped in the repository, for the generic goAML 5.0.1 XSD."""
    import vigil

    return Path(vigil.__file__).resolve().parents[2] / "examples" / "fiu" / EXAMPLE_NAME


EXAMPLE_NAME = "generic-goaml-5.0.1.yaml"
