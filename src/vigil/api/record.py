"""Payments sent with `"record": true`, kept for the next incremental scan.

While the API serves, the workspace file belongs to whichever scan runs next, so recorded
payments go to a canonical payments CSV beside it, one file per UTC day of receipt
(`recorded/2026-12-02.csv`); the daily `vigil scan` reads that file with the day's export,
and ingest keeps each txn_id once.
"""

from __future__ import annotations

import csv
import threading
from datetime import UTC, datetime
from pathlib import Path

from vigil.api.payment import PaymentIn
from vigil.schema import CANONICAL_ORDER

RECORDED_FOLDER = "recorded"


class Recorder:
    def __init__(self, workspace: Path) -> None:
        self.folder = Path(workspace).resolve().parent / RECORDED_FOLDER
        self._lock = threading.Lock()

    def path_for(self, day: datetime) -> Path:
        return self.folder / f"{day.astimezone(UTC):%Y-%m-%d}.csv"

    def append(self, payment: PaymentIn) -> Path:
        path = self.path_for(datetime.now(UTC))
        values = payment.model_dump()
        row = ["" if values.get(c) is None else str(values[c]) for c in CANONICAL_ORDER]
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            new = not path.exists()
            with path.open("a", encoding="utf-8", newline="") as file:
                writer = csv.writer(file)
                if new:
                    writer.writerow(CANONICAL_ORDER)
                writer.writerow(row)
        return path
