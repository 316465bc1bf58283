"""Nothing is lost: every row read is in the workspace or in quarantine, exactly once."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import payment_row, write_payments_csv
from vigil.ingest import ingest
from vigil.schema import CANONICAL_ORDER, REQUIRED_COLUMNS
from vigil.workspace import Workspace

# Values that break a row for certain, per column.
BREAKS: dict[str, list[str]] = {
    **{column: ["", "   "] for column in REQUIRED_COLUMNS},
    "ts": ["2023-02-03T11:42:10", "2023-13-03T11:42:10+01:00", "yesterday", "2023-02-03"],
    "amount": ["-5", "0", "1,5", "abc", "1.00001", "=1+1"],
    "sender_country": ["XX", "fr", "FRA"],
    "beneficiary_country": ["ZZ", "Philippines"],
    "currency": ["XYZ", "eur", "BRL"],
    "channel": ["wire", "ONLINE"],
}
# Valid variety, so that good rows are not all alike.
GOOD: dict[str, list[str]] = {
    "ts": ["2023-02-03T11:42:10+01:00", "2021-07-01T00:00:00Z", "2024-12-31T23:59:59-0500"],
    "amount": ["45.00", "1", "0.01", "12345.6789"],
    "currency": ["EUR", "USD", "GBP", "PHP"],
    "sender_name": ["Alain Mercier", "=cmd|' /C calc'!A0", 'O\'Brien, "Pat"', "Zoë\nLine"],
    "narrative": ["", "gift", "rent, May", "@home"],
}


Row = tuple[dict[str, str], str]  # the values, and how the row is broken: "", "value", "record"


@st.composite
def rows(draw: st.DrawFn) -> Row:
    """A row (txn_id from a small pool, so duplicates happen), maybe broken: a bad value,
    or a record the CSV reader cannot split (one field too many)."""
    values = {column: draw(st.sampled_from(options)) for column, options in GOOD.items()}
    values["txn_id"] = f"T{draw(st.integers(0, 25))}"
    broken = draw(st.sampled_from(["", "", "value", "record"]))
    if broken == "value":
        column = draw(st.sampled_from(sorted(BREAKS)))
        values[column] = draw(st.sampled_from(BREAKS[column]))
    return payment_row(**values), broken


def write_rows(path: Path, content: list[Row]) -> Path:
    """A canonical CSV of `content`; a "record"-broken row gets one field too many."""
    with path.open("w", newline="", encoding="utf-8") as out:
        out.write(",".join(CANONICAL_ORDER) + "\r\n")
        for row, broken in content:
            line = io.StringIO()
            csv.writer(line).writerow([row[c] for c in CANONICAL_ORDER])
            text = line.getvalue()
            out.write(text[:-2] + ",surplus\r\n" if broken == "record" else text)
    return path


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(st.lists(rows(), min_size=0, max_size=25), min_size=1, max_size=3),
    already=st.lists(st.integers(0, 25), max_size=5, unique=True),
)
def test_every_row_is_ingested_or_quarantined(files: list[list[Row]], already: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder, Workspace.open(":memory:") as ws:
        base = Path(folder)
        # Some txn_ids are already in the workspace from an earlier run.
        earlier = write_payments_csv(base / "earlier.csv", [{"txn_id": f"T{i}"} for i in already])
        ingest(ws, [earlier], quarantine_path=base / "earlier-quarantine.csv")
        before = ws.count("payments")
        inputs = [write_rows(base / f"in{i}.csv", content) for i, content in enumerate(files)]
        quarantine_path = base / "quarantine.csv"

        result = ingest(ws, inputs, quarantine_path=quarantine_path)

        n_rows = sum(len(content) for content in files)
        assert result.rows_read == n_rows
        assert result.rows_read == result.rows_ingested + result.rows_quarantined
        assert ws.count("payments") == before + result.rows_new

        with quarantine_path.open(newline="", encoding="utf-8") as handle:
            quarantined = list(csv.DictReader(handle))
        assert len(quarantined) == result.rows_quarantined
        ingested = ws.con.execute(
            "SELECT source_file, source_row, txn_id FROM payments WHERE source_file <> ?",
            [str(earlier)],
        ).fetchall()
        new_places = {(file, row) for file, row, _ in ingested}
        quarantined_places = {(q["file"], int(q["row"])) for q in quarantined}
        assert len(new_places) == result.rows_new
        assert len(quarantined_places) == len(quarantined)
        assert not new_places & quarantined_places

        # An oracle: broken rows are quarantined; of the others, the first of each txn_id is
        # kept (new unless an identical payment is already there) and later ones quarantined.
        seen: set[str] = set()
        expected_new, expected_present, expected_quarantined = set(), set(), set()
        for path, content in zip(inputs, files, strict=True):
            for number, (row, broken) in enumerate(content, start=1):
                place = (str(path), number)
                if broken or row["txn_id"] in seen:
                    expected_quarantined.add(place)
                    continue
                seen.add(row["txn_id"])
                if int(row["txn_id"][1:]) in already:
                    known = payment_row(txn_id=row["txn_id"])
                    same = all(known[c] == row[c] for c in CANONICAL_ORDER)
                    (expected_present if same else expected_quarantined).add(place)
                else:
                    expected_new.add(place)
        assert new_places == expected_new
        assert quarantined_places == expected_quarantined
        assert result.rows_already_present == len(expected_present)

        # Every input txn_id is in the workspace or (as written) in quarantine.
        in_workspace = {r[0] for r in ws.con.execute("SELECT txn_id FROM payments").fetchall()}
        in_quarantine = {q["txn_id"] for q in quarantined}
        raw_lines = "\n".join(q["raw_line"] for q in quarantined)
        for content in files:
            for row, broken in content:
                txn = row["txn_id"]
                if broken == "record":
                    assert f"{txn}," in raw_lines
                else:
                    assert txn in in_workspace or txn in in_quarantine or not txn.strip()
