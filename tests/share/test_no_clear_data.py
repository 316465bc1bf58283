"""A share file holds no identifier, name or phone in clear (on a generated population)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from vigil.scan import scan
from vigil.share import export_share, keygen
from vigil.synth import generate


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("clear")
    generate(root / "data", senders=1200, seed=21, institutions=2)
    own = root / "data" / "institutions" / "inst-1" / "transactions.csv"
    scan([own], root / "scan")
    key = keygen(root / "k.key")
    result = export_share(root / "scan" / "vigil.duckdb", key, root / "inst-1.parquet")
    return {"payments": pl.read_csv(own, infer_schema=False), "file": result.out, "rows": result}


def everything_in(file: Path) -> str:
    """Every value of the file as text (binary as Latin-1, so any byte sequence shows),
    with its metadata, and the raw bytes of the file itself."""
    table = pq.read_table(file)
    parts = [json.dumps({k.decode(): v.decode() for k, v in table.schema.metadata.items()})]
    for column in table.columns:
        for value in column.to_pylist():
            if isinstance(value, bytes):
                parts.append(value.decode("latin-1"))
            elif value is not None:
                parts.append(str(value))
    parts.append(file.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def test_no_identifier_name_or_phone_leaves_in_clear(exported):
    payments, text = exported["payments"], everything_in(exported["file"])
    assert exported["rows"].beneficiaries > 100
    phones = payments["beneficiary_phone"].drop_nulls()
    digits = phones.str.replace_all(r"[^0-9]", "")
    clear = {
        "sender id": payments["sender_id"],
        "sender name": payments["sender_name"],
        "beneficiary id": payments["beneficiary_id"],
        "beneficiary name": payments["beneficiary_name"],
        "phone": phones,
        "phone digits": digits.filter(digits.str.len_chars() >= 7),
        "beneficiary city": payments["beneficiary_city"].drop_nulls(),
    }
    for what, values in clear.items():
        found = [v for v in values.unique().to_list() if v and v in text]
        assert not found, f"{what} in the share file: {found[:3]}"
    # Names normalised (lower case, no spaces) are not there either.
    squashed = payments["beneficiary_name"].str.to_lowercase().str.replace_all(r"[^a-z]", "")
    assert not [v for v in squashed.unique().to_list() if len(v) > 5 and v in text.lower()]


def test_only_beneficiaries_in_the_corridor_leave(exported):
    payments = exported["payments"]
    table = pl.read_parquet(exported["file"])
    assert set(table["country"]) <= set(payments["beneficiary_country"])
    assert "sender" not in " ".join(table.columns)
    hr = payments.filter(pl.col("beneficiary_country").is_in(["PH", "TH", "VN", "ID", "KH"]))
    assert table.height <= payments["beneficiary_id"].n_unique()
    assert table.height >= hr["beneficiary_id"].n_unique() * 0.9
