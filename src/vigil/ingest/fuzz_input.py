"""One ingest of arbitrary bytes, for the property test and the fuzzer: the only outcomes
allowed are a clear InputError or an ingest that accounts for every record."""

from __future__ import annotations

import tempfile
from pathlib import Path

from vigil.errors import InputError
from vigil.ingest.records import count_records
from vigil.ingest.run import ingest
from vigil.workspace import Workspace


def ingest_bytes(data: bytes) -> str:
    """Ingest `data` as a CSV file into a fresh in-memory workspace. Returns "refused" (an
    InputError, as a user would see it) or "ingested"; raises AssertionError when a record
    went missing, and lets any other exception (a crash) through."""
    with tempfile.TemporaryDirectory() as folder, Workspace.open(":memory:") as ws:
        source = Path(folder) / "input.csv"
        source.write_bytes(data)
        try:
            result = ingest(ws, [source], quarantine_path=Path(folder) / "quarantine.csv")
        except InputError as error:
            assert "\n" not in str(error).strip(), "an error message of more than one line"
            return "refused"
        assert result.rows_read == result.rows_ingested + result.rows_quarantined
        assert result.rows_read == count_records(source).records
        assert ws.count("payments") == result.rows_new
        return "ingested"
