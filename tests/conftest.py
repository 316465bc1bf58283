"""Shared test fixtures: run a scan on a few hand-made payments and read what it says."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from tests.builders import write_payments_csv
from vigil.scan import scan


class Scanned:
    """What an analyst looks at after a scan: the ranking and each party's reasons."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.alerts = pl.read_csv(out / "alerts.csv", infer_schema=False)
        self.explanations = {
            (p["party_kind"], p["party_id"]): p
            for p in json.loads((out / "alerts.json").read_text())
        }
        self.summary = json.loads((out / "summary.json").read_text())

    def fired(self, kind: str, party: str) -> set[str]:
        row = self.alerts.filter(pl.col("party_kind") == kind, pl.col("party_id") == party)
        assert row.height == 1, f"{kind} {party} is not in alerts.csv exactly once"
        text = row["indicators"][0] or ""
        return set(text.split(";")) if text else set()

    def score(self, kind: str, party: str) -> float:
        return float(self.explanations[(kind, party)]["score"])

    def best_typology(self, kind: str, party: str) -> str:
        return self.explanations[(kind, party)]["best_typology"]

    def typology_fit(self, kind: str, party: str, typology: str) -> float:
        fits = {t["typology"]: t["fit"] for t in self.explanations[(kind, party)]["typologies"]}
        return float(fits.get(typology, 0.0))

    def typology_figures(self, kind: str, party: str, typology: str) -> str:
        for t in self.explanations[(kind, party)]["typologies"]:
            if t["typology"] == typology:
                return str(t["figures"])
        raise AssertionError(f"{typology} does not fit {kind} {party}")

    def figures(self, kind: str, party: str, indicator: str) -> str:
        for c in self.explanations[(kind, party)]["contributions"]:
            if c["indicator"] == indicator:
                return c["figures"]
        raise AssertionError(f"{indicator} did not fire for {kind} {party}")


@pytest.fixture
def run_scan(tmp_path: Path) -> Callable[..., Scanned]:
    counter = iter(range(1000))

    def run(rows: list[dict[str, str]], **options) -> Scanned:
        n = next(counter)
        source = write_payments_csv(tmp_path / f"payments{n}.csv", rows)
        out = tmp_path / f"out{n}"
        scan([source], out, **options)
        return Scanned(out)

    return run
