"""For any file (hostile bytes, stray quotes, control characters, impossible dates), ingest
either refuses it with one clear line or accounts for every record: no traceback, and
records read = ingested + quarantined = records counted without the parser."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import payment_row
from vigil.ingest.fuzz_input import ingest_bytes
from vigil.schema import CANONICAL_ORDER

# A short run in the suite; VIGIL_INGEST_EXAMPLES=2000 for a long one.
EXAMPLES = int(os.environ.get("VIGIL_INGEST_EXAMPLES", "60"))
HEADER = ",".join(CANONICAL_ORDER).encode()
NASTY = ['"', '""', ",", "\n", "\r\n", "\x00", "\x1b", "\x7f", " ", "\ufeff", "é", "\ufffe"]


def _field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    row = payment_row(txn_id=f"T{draw(st.integers(0, 30))}")
    choice = draw(st.sampled_from(["valid", "value", "raw", "bytes", "blank"]))
    if choice == "blank":
        return b""
    if choice == "bytes":
        return draw(st.binary(max_size=40)).replace(b"\n", b"")
    if choice == "value":  # one field replaced by something hostile
        column = draw(st.sampled_from(CANONICAL_ORDER))
        pieces = draw(st.lists(st.sampled_from(NASTY) | st.text(max_size=6), max_size=5))
        row[column] = draw(
            st.sampled_from(["", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00"])
        ) + "".join(pieces)
    fields = [_field(row[c]) for c in CANONICAL_ORDER]
    if choice == "raw":  # written without quoting: stray quotes, too many fields
        fields = [row[c] + draw(st.sampled_from(["", '"', ",x", "\x00"])) for c in CANONICAL_ORDER]
    return ",".join(fields).encode("utf-8", errors="surrogatepass")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.lists(lines(), max_size=12),
    ending=st.sampled_from([b"\n", b"\r\n"]),
    header=st.sampled_from([HEADER, HEADER + b",extra", b"\xef\xbb\xbf" + HEADER, b"", b"x"]),
)
def test_no_input_crashes_ingest_or_loses_a_record(
    body: list[bytes], ending: bytes, header: bytes
) -> None:
    assert ingest_bytes(ending.join([header, *body]) + ending) in {"refused", "ingested"}
