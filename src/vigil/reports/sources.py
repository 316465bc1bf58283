"""The published sources behind the indicators (tags S1...S43 of the typology research)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from vigil.errors import ConfigError

SOURCES_FILE = "sources.yaml"
_TAG = re.compile(r"S\d+")


class SourceReference(BaseModel):
    """One published source: what a report cites next to an indicator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    publisher: str
    year: str
    url: str
    access: str = ""


@cache
def load_sources() -> dict[str, SourceReference]:
    """Every source tag, validated; a broken sources.yaml is reported with the tag and key."""
    text = resources.files("vigil.reports").joinpath(SOURCES_FILE).read_text("utf-8")
    raw = yaml.safe_load(text) or {}
    sources: dict[str, SourceReference] = {}
    for tag, entry in raw.items():
        try:
            sources[str(tag)] = SourceReference.model_validate(entry)
        except ValidationError as error:
            problem = error.errors()[0]
            key = ".".join(str(p) for p in problem["loc"])
            raise ConfigError(f"{SOURCES_FILE}: {tag}.{key}: {problem['msg']}") from error
    return sources


def source_reference(tag: str) -> dict[str, str]:
    """The reference for one tag ("S3"): tag, title, publisher, year, url, access."""
    sources = load_sources()
    key = tag.strip()
    if key not in sources:
        raise KeyError(f"unknown source tag {tag!r}")
    return {"tag": key, **sources[key].model_dump()}


def source_tags(text: str | None) -> list[str]:
    """The tags named in a catalogue `sources` field ("S2, S3 [S11 2025]"), in order, once."""
    return list(dict.fromkeys(_TAG.findall(text or "")))
