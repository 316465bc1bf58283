"""Scenario files are validated before any work starts, with the file, the key and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.errors import ConfigError
from vigil.synth import generate
from vigil.synth.scenario import SHIPPED, load_scenario


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_are_valid_and_differ(name: str):
    scenario = load_scenario(name)
    assert scenario.name == name
    assert any(p.role == "offender" for p in scenario.populations)


def test_shipped_scenarios_shift_the_distributions():
    default, european, ewallet = (load_scenario(n) for n in SHIPPED[:3])
    share = {s.name: {p.role: p for p in s.populations} for s in (default, european, ewallet)}
    assert share["european_remitter"]["offender"].share < share["default"]["offender"].share
    assert (
        share["ewallet"]["offender"].amount.median_usd
        < share["default"]["offender"].amount.median_usd
    )
    assert "NO" in european.institution_countries  # Norway, not YAML's False


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_shares_must_add_up(tmp_path: Path):
    path = write(
        tmp_path, "base: default\nname: x\npopulations:\n  - role: offender\n    share: 0.5\n"
    )
    with pytest.raises(ConfigError, match=r"scenario.yaml: .*shares must add up to 1"):
        load_scenario(path)


def test_error_names_the_key_and_the_population(tmp_path: Path):
    path = write(
        tmp_path,
        "base: default\nname: x\npopulations:\n  - role: offender\n    amount: {median_usd: -3}\n",
    )
    with pytest.raises(ConfigError, match=r"populations\[0:offender\]\.amount\.median_usd"):
        load_scenario(path)


def test_unknown_channel_and_country_are_refused(tmp_path: Path):
    path = write(
        tmp_path,
        "base: default\nname: x\npopulations:\n  - role: offender\n    channels: {pigeon: 1}\n",
    )
    with pytest.raises(ConfigError, match="unknown channel: pigeon"):
        load_scenario(path)
    path = write(tmp_path, "base: default\nname: x\ninstitution_countries: {XX: 1}\n")
    with pytest.raises(ConfigError, match="unknown institution country: XX"):
        load_scenario(path)


def test_unknown_keys_and_bad_yaml_are_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match="senderz"):
        load_scenario(write(tmp_path, "base: default\nsenderz: 4\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scenario(write(tmp_path, "name: [unclosed\n"))
    with pytest.raises(ConfigError, match="no such scenario"):
        load_scenario("nowhere")


def test_a_scenario_file_drives_the_generator(tmp_path: Path):
    path = write(
        tmp_path,
        "base: default\nname: rich_offenders\nsenders: 150\npopulations:\n"
        "  - role: offender\n    share: 0.2\n  - role: occasional\n    share: 0.10\n",
    )
    result = generate(tmp_path / "out", scenario=path, seed=1)
    offenders = result.makeup.filter(party_kind="sender", role="offender")["parties"].item()
    assert offenders == 30


def test_cli_reports_a_bad_scenario_in_one_line(tmp_path: Path):
    path = write(tmp_path, "base: default\nmonths: 0\n")
    result = CliRunner().invoke(
        app, ["generate", "--out", str(tmp_path / "o"), "--scenario", str(path)]
    )
    assert result.exit_code == 2
    assert "months" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
