"""What Vigil writes holds personal data: files 0600, folders 0700, for the owner alone."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from tests.builders import payment_row, write_payments_csv
from vigil.cases.store import CaseStore
from vigil.workspace import Workspace


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_workspace_and_its_folder_are_private(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "new" / "vigil.duckdb"):
        pass
    assert mode(tmp_path / "new") == 0o700
    assert mode(tmp_path / "new" / "vigil.duckdb") == 0o600


def test_the_sqlite_case_store_is_private(tmp_path: Path) -> None:
    CaseStore.open(f"sqlite:///{tmp_path / 'cases.sqlite'}").close()
    assert mode(tmp_path / "cases.sqlite") == 0o600


def test_everything_a_scan_from_the_command_line_writes_is_private(tmp_path: Path) -> None:
    source = write_payments_csv(tmp_path / "p.csv", [payment_row(txn_id="T1")])
    out = tmp_path / "out"
    vigil = Path(sys.executable).with_name("vigil")
    done = subprocess.run(
        [str(vigil), "scan", str(source), "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert mode(out) == 0o700
    written = sorted(p.name for p in out.iterdir())
    assert {"alerts.csv", "quarantine.csv", "summary.json", "vigil.duckdb"} <= set(written)
    assert {p.name: mode(p) for p in out.iterdir()} == dict.fromkeys(written, 0o600)
