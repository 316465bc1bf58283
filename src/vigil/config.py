"""Reading YAML configuration (scenarios, the indicator catalogue) the same way everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from vigil.errors import ConfigError


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans only: `NO` is Norway, not False."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def read_yaml_mapping(path: Path, what: str) -> dict:
    """The file's top-level mapping; a clear ConfigError naming the file otherwise."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the {what}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}".replace("\n", " ")) from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a {what} is a YAML mapping of keys to values")
    return data
