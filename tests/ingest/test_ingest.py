"""Ingest: what an analyst checks after loading payment files into a workspace."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.builders import payment_row, write_payments_csv
from vigil.errors import ConfigError, InputError
from vigil.ingest import IngestResult, ingest, load_fx_rates
from vigil.ingest.run import QUARANTINE_COLUMNS, _Run
from vigil.ingest.validate import TimeRange
from vigil.schema import CANONICAL_ORDER
from vigil.workspace import Workspace

# The rows of shared/spec/example-payments.csv.
EXAMPLE_CSV = (
    "\n".join(
        [
            "txn_id,ts,sender_id,sender_name,sender_country,beneficiary_id,beneficiary_name,"
            "beneficiary_country,beneficiary_city,amount,currency,channel,narrative",
            "T0001,2023-02-03T11:42:10+01:00,C1001,Alain Mercier,FR,W5501,Rosalie Dizon,PH,"
            "Lapu-Lapu,45.00,EUR,online_remittance,gift",
            "T0002,2023-02-03T12:31:55+01:00,C1001,Alain Mercier,FR,W5501,Rosalie Dizon,PH,"
            "Lapu-Lapu,20.00,EUR,online_remittance,",
            'T0003,2023-02-05T06:15:00-05:00,C2044,Gary Whitfield,US,W5501,"DIZON, Rosalie",PH,'
            "Lapu-Lapu,55.00,USD,ewallet,help",
            "T0004,2023-02-06T22:05:31+11:00,C3107,Kevin Norris,AU,W7730,Marites Y. Galang,PH,"
            "Angeles,80.00,AUD,online_remittance,school",
            "T0005,2023-02-10T19:02:44+00:00,C4410,Rommel Bautista,GB,W1200,Leonora Bautista,PH,"
            "Iloilo City,350.00,GBP,online_remittance,family support",
            "T0006,2023-03-01T09:30:00+00:00,C4410,Rommel Bautista,GB,W1200,Leonora Bautista,PH,"
            "Iloilo City,350.00,GBP,online_remittance,family support",
            "T0007,2023-03-02T14:20:00-05:00,C5120,Dana Price,US,W8800,Bayanihan Children's Fund,"
            "PH,Quezon City,25.00,USD,card,donation",
            "T0008,2023-03-04T10:11:00+01:00,C6001,Ioana Marin,DE,R4410,Elena Marin,RO,Iasi,"
            "200.00,EUR,bank_transfer,",
        ]
    )
    + "\n"
)
HEADER = ",".join(CANONICAL_ORDER)

# Shipped yearly averages (src/vigil/data/fx_rates.csv), USD per unit.
EUR_2023, GBP_2023, AUD_2023 = 1.0813, 1.2435, 0.6640
EUR_2019, EUR_2026 = 1.1195, 1.1600


@pytest.fixture
def ws() -> Iterator[Workspace]:
    with Workspace.open(":memory:") as workspace:
        yield workspace


class Loaded:
    """One ingest run and what it left: the result, the quarantine rows, the payments."""

    def __init__(self, result: IngestResult, quarantine: Path, ws: Workspace) -> None:
        self.result = result
        self.quarantine_text = quarantine.read_text(encoding="utf-8")
        self.quarantine = list(csv.DictReader(self.quarantine_text.splitlines()))
        self.ws = ws

    def payment(self, txn_id: str) -> dict[str, object]:
        cursor = self.ws.con.execute("SELECT * FROM payments WHERE txn_id = ?", [txn_id])
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        assert len(rows) == 1, f"{txn_id} is in payments {len(rows)} times"
        return dict(zip(names, rows[0], strict=True))

    def txn_ids(self) -> set[str]:
        return {r[0] for r in self.ws.con.execute("SELECT txn_id FROM payments").fetchall()}

    def rejected(self, txn_id: str) -> dict[str, str]:
        rows = [q for q in self.quarantine if q["txn_id"] == txn_id]
        assert len(rows) == 1, f"{txn_id} is in quarantine {len(rows)} times"
        return rows[0]


@pytest.fixture
def load(ws: Workspace, tmp_path: Path) -> Callable[..., Loaded]:
    def run(*inputs: Path, **options: object) -> Loaded:
        quarantine = tmp_path / "out" / "quarantine.csv"
        result = ingest(ws, list(inputs), quarantine_path=quarantine, **options)  # type: ignore[arg-type]
        assert result.rows_read == result.rows_ingested + result.rows_quarantined
        return Loaded(result, quarantine, ws)

    return run


def count(ws: Workspace) -> int:
    return ws.count("payments")


# --- the spec's example -------------------------------------------------------------------
def test_the_spec_example_ingests_fully(load: Callable[..., Loaded], tmp_path: Path) -> None:
    source = tmp_path / "example-payments.csv"
    source.write_text(EXAMPLE_CSV, encoding="utf-8")

    loaded = load(source)

    assert loaded.result.rows_read == 8
    assert loaded.result.rows_ingested == loaded.result.rows_new == 8
    assert loaded.result.rows_quarantined == 0
    assert loaded.quarantine_text.strip() == ",".join(QUARANTINE_COLUMNS)
    assert loaded.txn_ids() == {f"T000{i}" for i in range(1, 9)}
    gary = loaded.payment("T0003")
    assert gary["ts_utc"] == datetime(2023, 2, 5, 11, 15)
    assert gary["ts_local"] == "2023-02-05T06:15:00-05:00"
    assert gary["sender_utc_offset_minutes"] == -300
    assert gary["beneficiary_name"] == "DIZON, Rosalie"
    assert gary["amount"] == Decimal("55.00")
    assert gary["amount_reporting"] == pytest.approx(55.0)
    assert gary["source_file"] == str(source)
    assert gary["source_row"] == 3
    assert gary["extra"] is None
    kevin = loaded.payment("T0004")
    assert kevin["ts_utc"] == datetime(2023, 2, 6, 11, 5, 31)  # 22:05:31 at +11:00
    assert kevin["amount_reporting"] == pytest.approx(80 * AUD_2023)
    assert loaded.payment("T0002")["narrative"] is None
    assert loaded.payment("T0007")["beneficiary_name"] == "Bayanihan Children's Fund"


def test_result_counts_per_file_and_as_a_dict(load: Callable[..., Loaded], tmp_path: Path) -> None:
    good = write_payments_csv(tmp_path / "a.csv", [{}, {}])
    mixed = write_payments_csv(
        tmp_path / "b.csv", [{"txn_id": "B1"}, {"txn_id": "B2", "amount": "abc"}]
    )

    result = load(good, mixed).result

    assert [(f.path, f.rows_read, f.rows_new, f.rows_quarantined) for f in result.files] == [
        (good, 2, 2, 0),
        (mixed, 2, 1, 1),
    ]
    data = result.to_dict()
    assert data["rows_read"] == 4 and data["rows_ingested"] == 3
    assert data["files"][1]["path"] == str(mixed)
    assert data["reporting_currency"] == "USD"
    json.dumps(data)  # summary.json material


# --- row checks ---------------------------------------------------------------------------
BAD_ROWS = [
    ({"txn_id": ""}, "txn_id", "required value is missing"),
    ({"sender_name": "  "}, "sender_name", "required value is missing"),
    ({"beneficiary_id": ""}, "beneficiary_id", "required value is missing"),
    ({"channel": ""}, "channel", "required value is missing"),
    ({"ts": "2023-02-03T11:42:10"}, "ts", "not an ISO 8601 date-time with a UTC offset"),
    ({"ts": "03.02.2023 11:42+01:00"}, "ts", "not an ISO 8601 date-time with a UTC offset"),
    ({"ts": "2023-02-03"}, "ts", "not an ISO 8601 date-time with a UTC offset"),
    ({"ts": "2023-02-30T10:00:00+01:00"}, "ts", "not a real date-time"),
    ({"ts": "2023-02-03T25:00:00+01:00"}, "ts", "not a real date-time"),
    ({"ts": "2023-02-03T10:00:00+01:75"}, "ts", "not an ISO 8601 date-time with a UTC offset"),
    ({"ts": "2023-02-03T10:00:00+15:00"}, "ts", "UTC offset out of range"),
    ({"amount": "45,00"}, "amount", "not a plain decimal number"),
    ({"amount": "1,000.00"}, "amount", "not a plain decimal number"),
    ({"amount": "-5.00"}, "amount", "not a plain decimal number"),
    ({"amount": "1e3"}, "amount", "not a plain decimal number"),
    ({"amount": "EUR 5"}, "amount", "not a plain decimal number"),
    ({"amount": "1.23456"}, "amount", "more than 4 decimal places"),
    ({"amount": "12345678901234567.5"}, "amount", "too large"),
    ({"amount": "0.00"}, "amount", "not greater than zero"),
    ({"sender_country": "XX"}, "sender_country", "not an ISO 3166-1 alpha-2 country code"),
    ({"sender_country": "fr"}, "sender_country", "not an ISO 3166-1 alpha-2 country code"),
    ({"beneficiary_country": "PHL"}, "beneficiary_country", "not an ISO 3166-1 alpha-2"),
    ({"currency": "XYZ"}, "currency", "unknown currency code"),
    ({"currency": "BRL"}, "currency", "no exchange rate for currency"),  # ISO, not in table
    ({"channel": "wire"}, "channel", "unknown channel"),
    # the first failing check names the column
    ({"ts": "yesterday", "amount": "-1", "channel": "wire"}, "ts", "not an ISO 8601"),
    ({"amount": "0", "currency": "XYZ"}, "amount", "not greater than zero"),
]


@pytest.mark.parametrize(("values", "column", "reason"), BAD_ROWS)
def test_a_bad_row_is_quarantined_with_its_column_and_reason(
    load: Callable[..., Loaded],
    tmp_path: Path,
    values: dict[str, str],
    column: str,
    reason: str,
) -> None:
    rows = [{"txn_id": "GOOD1"}, {"txn_id": "BAD", **values}, {"txn_id": "GOOD2"}]
    source = write_payments_csv(tmp_path / "payments.csv", rows)

    loaded = load(source)

    assert loaded.result.rows_read == 3
    assert loaded.result.rows_quarantined == 1
    assert loaded.txn_ids() == {"GOOD1", "GOOD2"}
    [rejected] = loaded.quarantine
    assert rejected["file"] == str(source)
    assert rejected["row"] == "2"
    assert rejected["column"] == column
    assert reason in rejected["reason"]


GOOD_VALUES = [
    {"ts": "2023-02-03T11:42:10Z"},
    {"ts": "2023-02-03T06:42:10-0500"},
    {"ts": "2023-02-03T11:42:10.250+01:00"},
    {"ts": "2023-02-03 11:42:10+01:00"},
    {"ts": "2023-02-03T11:42+01"},
    {"amount": "45"},
    {"amount": "0.5000"},
    {"amount": "1.250000"},
    {"beneficiary_city": "", "narrative": ""},
]


@pytest.mark.parametrize("values", GOOD_VALUES)
def test_valid_variants_are_ingested(
    load: Callable[..., Loaded], tmp_path: Path, values: dict[str, str]
) -> None:
    source = write_payments_csv(tmp_path / "payments.csv", [values])

    loaded = load(source)

    assert loaded.result.rows_new == 1, loaded.quarantine


def test_timestamps_become_utc_with_the_senders_offset_kept(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    rows = [
        {"txn_id": "Z", "ts": "2023-02-03T11:42:10Z"},
        {"txn_id": "NY", "ts": "2023-02-03T06:42:10-0500"},
        {"txn_id": "IN", "ts": "2023-02-03T17:12:10.5+05:30"},
    ]
    loaded = load(write_payments_csv(tmp_path / "p.csv", rows))

    for txn, offset in [("Z", 0), ("NY", -300), ("IN", 330)]:
        payment = loaded.payment(txn)
        assert payment["ts_utc"].replace(microsecond=0) == datetime(2023, 2, 3, 11, 42, 10)
        assert payment["sender_utc_offset_minutes"] == offset
    assert loaded.payment("IN")["ts_local"] == "2023-02-03T17:12:10.5+05:30"


def test_quarantine_keeps_every_raw_value_and_defuses_formulas(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    rows = [
        {"txn_id": "X1", "sender_name": '=HYPERLINK("http://x")', "amount": "-5"},
        {"txn_id": "X2", "narrative": "@SUM(A1)", "beneficiary_name": "+1 Rosa", "channel": "?"},
    ]
    loaded = load(write_payments_csv(tmp_path / "p.csv", rows))

    first, second = loaded.rejected("X1"), loaded.rejected("X2")
    assert list(first) == list(QUARANTINE_COLUMNS)
    assert first["sender_name"] == '\'=HYPERLINK("http://x")'
    assert first["amount"] == "'-5"
    assert first["currency"] == "EUR" and first["ts"] == "2023-02-03T11:42:10+01:00"
    assert second["narrative"] == "'@SUM(A1)"
    assert second["beneficiary_name"] == "'+1 Rosa"
    assert second["channel"] == "?"


def test_quarantine_is_only_a_header_when_nothing_is_rejected(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    loaded = load(write_payments_csv(tmp_path / "p.csv", [{}]))

    assert loaded.quarantine_text == ",".join(QUARANTINE_COLUMNS) + "\n"


# --- files that cannot be read ------------------------------------------------------------
def test_a_missing_required_column_stops_the_run_naming_file_and_column(
    ws: Workspace, tmp_path: Path
) -> None:
    columns = [c for c in CANONICAL_ORDER if c != "currency"]
    source = write_payments_csv(tmp_path / "no-currency.csv", [{}], columns=columns)

    with pytest.raises(InputError, match=r"no-currency\.csv.*missing required column 'currency'"):
        ingest(ws, [source], quarantine_path=tmp_path / "q.csv")
    assert count(ws) == 0


def test_optional_columns_may_be_left_out(load: Callable[..., Loaded], tmp_path: Path) -> None:
    columns = [c for c in CANONICAL_ORDER if c not in {"beneficiary_city", "narrative"}]
    source = write_payments_csv(tmp_path / "p.csv", [{"txn_id": "A"}], columns=columns)

    payment = load(source).payment("A")

    assert payment["beneficiary_city"] is None and payment["narrative"] is None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.csv", None, "no such file"),
        ("payments.pdf", b"%PDF-1.4", "unsupported file type"),
        ("payments.xlsx", b"PK\x03\x04", "cannot read the Excel workbook"),
        ("payments.xml", b"<Document><unclosed>", "not well-formed XML"),
        ("empty.csv", b"", "empty file"),
        ("broken.csv.gz", b"not gzip at all", "cannot read the file"),
        ("broken.parquet", b"PAR1 not really parquet", "cannot read the Parquet file"),
    ],
)
def test_an_unreadable_file_stops_the_run_with_one_line(
    ws: Workspace, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    good = write_payments_csv(tmp_path / "good.csv", [{}])
    bad = tmp_path / name
    if content is not None:
        bad.write_bytes(content)

    with pytest.raises(InputError) as error:
        ingest(ws, [good, bad], quarantine_path=tmp_path / "q.csv")

    assert str(bad) in str(error.value) and message in str(error.value)
    assert "\n" not in str(error.value)
    assert count(ws) == 0  # the good file was not half-ingested


def test_a_folder_stands_for_the_payment_files_in_it(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="folder holds no CSV, Parquet, Excel or XML files"):
        ingest(ws, [folder], quarantine_path=tmp_path / "q.csv")

    write_payments_csv(folder / "a.csv", [{"txn_id": "A1"}])
    write_payments_csv(folder / "b.csv", [{"txn_id": "B1"}])
    (folder / "notes.txt").write_text("not payments")
    result = ingest(ws, [folder], quarantine_path=tmp_path / "q.csv")

    assert [f.path.name for f in result.files] == ["a.csv", "b.csv"]
    assert count(ws) == 2


# --- formats ------------------------------------------------------------------------------
def test_gzip_csv_is_read(load: Callable[..., Loaded], tmp_path: Path) -> None:
    source = write_payments_csv(
        tmp_path / "p.csv.gz", [{"txn_id": "G1"}, {"txn_id": "G2", "currency": "XYZ"}]
    )
    with gzip.open(source) as packed:
        assert packed.read(6) == b"txn_id"

    loaded = load(source)

    assert loaded.txn_ids() == {"G1"}
    assert loaded.rejected("G2")["row"] == "2"


def test_parquet_with_text_columns_is_read(load: Callable[..., Loaded], tmp_path: Path) -> None:
    rows = [payment_row(txn_id="P1"), payment_row(txn_id="P2", sender_country="ZZ")]
    source = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pylist(rows), source)

    loaded = load(source)

    assert loaded.txn_ids() == {"P1"}
    assert loaded.payment("P1")["source_row"] == 1
    rejected = loaded.rejected("P2")
    assert (rejected["row"], rejected["column"]) == ("2", "sender_country")


def test_parquet_with_typed_columns_is_read_as_text(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    rows = [payment_row(txn_id="P1"), payment_row(txn_id="P2")]
    table = pa.Table.from_pylist(rows).drop_columns(["ts", "amount"])
    table = table.append_column(
        "ts",
        pa.array(
            [datetime(2023, 2, 3, 10, 42, 10), datetime(2023, 2, 4, 10, 0)],
            pa.timestamp("us", tz="UTC"),
        ),
    )
    table = table.append_column(
        "amount", pa.array([Decimal("45.00"), Decimal("12.50")], pa.decimal128(10, 2))
    )
    table = table.append_column("score", pa.array([1, 2], pa.int64()))
    source = tmp_path / "typed.parquet"
    pq.write_table(table, source)

    loaded = load(source)

    payment = loaded.payment("P1")
    assert payment["ts_utc"] == datetime(2023, 2, 3, 10, 42, 10)
    assert payment["sender_utc_offset_minutes"] == 0
    assert payment["amount"] == Decimal("45.00")
    assert json.loads(payment["extra"]) == {"score": 1}


def test_extra_columns_are_kept_as_json(load: Callable[..., Loaded], tmp_path: Path) -> None:
    columns = [*CANONICAL_ORDER, "agent_id", "Branch Name"]
    rows = [{"txn_id": "E1", "agent_id": "A9", "Branch Name": "Cebu, Mango Ave"}]
    source = write_payments_csv(tmp_path / "p.csv", rows, columns=columns)

    payment = load(source).payment("E1")

    assert json.loads(payment["extra"]) == {"agent_id": "A9", "Branch Name": "Cebu, Mango Ave"}


def test_header_names_are_matched_without_case_or_spaces(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    header = ",".join(f" {c.upper()}" for c in CANONICAL_ORDER)
    row = ",".join(payment_row(txn_id="U1")[c] for c in CANONICAL_ORDER)
    source = tmp_path / "p.csv"
    source.write_text(f"{header}\n{row}\n", encoding="utf-8")

    assert load(source).txn_ids() == {"U1"}


# --- malformed CSV ------------------------------------------------------------------------
def test_malformed_csv_records_are_quarantined_not_dropped(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    def line(**values: str) -> str:
        row = payment_row(**values)
        return ",".join(row[c] for c in CANONICAL_ORDER)

    lines = [
        HEADER,
        line(txn_id="M1"),
        line(txn_id="M2") + ",surplus",  # an extra field
        line(txn_id="M3", narrative='"multi\nline"'),  # a quoted field over two lines
        line(txn_id="M4", narrative='"bad"quote'),  # text after a closing quote
        line(txn_id="M5", currency="XYZ"),  # a valid record with a bad value, after them
        ",".join(payment_row(txn_id="M6")[c] for c in CANONICAL_ORDER[:5]),  # too few
        line(txn_id="M7"),
    ]
    source = tmp_path / "p.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    loaded = load(source)

    assert loaded.result.rows_read == 7
    assert loaded.txn_ids() == {"M1", "M3", "M7"}
    assert loaded.payment("M3")["narrative"] == "multi\nline"
    assert loaded.payment("M7")["source_row"] == 7
    by_row = {q["row"]: q for q in loaded.quarantine}
    assert set(by_row) == {"2", "4", "5", "6"}
    for row in ("2", "4", "6"):
        assert by_row[row]["reason"].startswith("malformed CSV record (DuckDB: line ")
        assert by_row[row]["txn_id"] == ""
    assert "M2" in by_row["2"]["raw_line"] and "surplus" in by_row["2"]["raw_line"]
    assert "line 3" in by_row["2"]["reason"]  # DuckDB counts the header as line 1
    assert "M4" in by_row["4"]["raw_line"]
    assert by_row["4"]["column"] == "narrative"
    assert (by_row["5"]["txn_id"], by_row["5"]["column"]) == ("M5", "currency")
    assert "M6" in by_row["6"]["raw_line"]


def test_an_unterminated_quote_stops_the_run_naming_its_line(
    load: Callable[..., Loaded], ws: Workspace, tmp_path: Path
) -> None:
    def line(**values: str) -> str:
        row = payment_row(**values)
        return ",".join(row[c] for c in CANONICAL_ORDER)

    lines = [HEADER, line(txn_id="Q1"), line(txn_id="Q2", narrative='"open'), line(txn_id="Q3")]
    source = tmp_path / "p.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # RFC 4180 would run the quoted field to the end of the file and swallow Q3 with it:
    # rather than quarantine rows that are fine, ingest stops and names the line.
    with pytest.raises(InputError, match="line 3: a double quote opens a field"):
        load(source)
    assert count(ws) == 0


def test_invalid_utf8_is_quarantined(load: Callable[..., Loaded], tmp_path: Path) -> None:
    good = ",".join(payment_row(txn_id="U1")[c] for c in CANONICAL_ORDER).encode()
    bad = ",".join(payment_row(txn_id="U2", sender_name="X")[c] for c in CANONICAL_ORDER)
    bad_bytes = bad.encode().replace(b",X,", b",\xff\xfeX,")
    source = tmp_path / "p.csv"
    source.write_bytes(HEADER.encode() + b"\n" + bad_bytes + b"\n" + good + b"\n")

    loaded = load(source)

    assert loaded.txn_ids() == {"U1"}
    assert loaded.payment("U1")["source_row"] == 2
    [rejected] = loaded.quarantine
    assert rejected["row"] == "1" and "malformed CSV record" in rejected["reason"]


# --- one dataset, duplicates, re-ingest ---------------------------------------------------
def test_two_inputs_are_one_dataset(load: Callable[..., Loaded], tmp_path: Path) -> None:
    a = write_payments_csv(tmp_path / "a.csv", [{"txn_id": "A1"}, {"txn_id": "A2"}])
    b = write_payments_csv(tmp_path / "b.csv", [{"txn_id": "B1"}])

    loaded = load(a, b)

    assert loaded.result.rows_read == 3 and loaded.result.rows_new == 3
    assert loaded.payment("B1")["source_file"] == str(b)
    assert loaded.payment("A2")["source_row"] == 2


def test_a_duplicate_txn_id_keeps_the_first_occurrence(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    a = write_payments_csv(
        tmp_path / "a.csv",
        [
            {"txn_id": "D1", "amount": "0"},  # invalid: does not count as the first
            {"txn_id": "D1", "amount": "10"},
            {"txn_id": "D1", "amount": "20"},
            {"txn_id": "D2", "amount": "30"},
        ],
    )
    b = write_payments_csv(tmp_path / "b.csv", [{"txn_id": "D2", "amount": "40"}])

    loaded = load(a, b)

    assert loaded.result.rows_new == 2 and loaded.result.rows_quarantined == 3
    assert loaded.payment("D1")["amount"] == Decimal("10")
    assert loaded.payment("D2")["amount"] == Decimal("30")
    reasons = {(q["file"], q["row"]): (q["column"], q["reason"]) for q in loaded.quarantine}
    assert reasons[(str(a), "3")] == ("txn_id", f"duplicate txn_id, first seen in {a} row 2")
    assert reasons[(str(b), "1")] == ("txn_id", f"duplicate txn_id, first seen in {a} row 4")
    assert reasons[(str(a), "1")][0] == "amount"


def test_re_ingesting_the_same_file_adds_nothing(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "example.csv"
    source.write_text(EXAMPLE_CSV, encoding="utf-8")
    quarantine = tmp_path / "q.csv"

    first = ingest(ws, [source], quarantine_path=quarantine)
    second = ingest(ws, [source], quarantine_path=quarantine)

    assert first.rows_new == 8
    assert second.rows_new == 0
    assert second.rows_already_present == second.rows_ingested == 8
    assert second.rows_quarantined == 0
    assert count(ws) == 8


def test_re_ingest_into_a_workspace_file_is_idempotent(tmp_path: Path) -> None:
    source = write_payments_csv(tmp_path / "p.csv", [{}, {}, {"amount": "x"}])
    where = tmp_path / "ws" / "vigil.duckdb"
    for _ in range(2):
        with Workspace.open(where) as ws:
            result = ingest(ws, [source], quarantine_path=tmp_path / "q.csv")
    with Workspace.open(where) as ws:
        assert count(ws) == 2
    assert (result.rows_new, result.rows_already_present, result.rows_quarantined) == (0, 2, 1)


def test_a_known_txn_id_with_different_content_is_quarantined(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    load(write_payments_csv(tmp_path / "a.csv", [{"txn_id": "K1", "amount": "10.00"}]))
    again = write_payments_csv(
        tmp_path / "b.csv",
        [
            {"txn_id": "K1", "amount": "10"},  # the same payment, written differently
            {"txn_id": "K1", "amount": "11.00"},  # a later duplicate in this run
        ],
    )
    changed = write_payments_csv(tmp_path / "c.csv", [{"txn_id": "K1", "amount": "99.00"}])

    loaded = load(again)
    assert (loaded.result.rows_already_present, loaded.result.rows_quarantined) == (1, 1)
    loaded = load(changed)

    assert loaded.result.rows_quarantined == 1 and loaded.result.rows_new == 0
    rejected = loaded.rejected("K1")
    assert (rejected["column"], rejected["reason"]) == (
        "txn_id",
        "txn_id already ingested with different content",
    )
    assert loaded.payment("K1")["amount"] == Decimal("10")


def test_a_failure_during_the_run_leaves_the_workspace_unchanged(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(
        ws,
        [write_payments_csv(tmp_path / "a.csv", [{"txn_id": "A"}])],
        quarantine_path=tmp_path / "q1.csv",
    )
    original = _Run.insert

    def insert_then_fail(self: _Run) -> int:
        original(self)
        raise RuntimeError("disk full")

    monkeypatch.setattr(_Run, "insert", insert_then_fail)
    source = write_payments_csv(tmp_path / "b.csv", [{"txn_id": "B"}])
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(ws, [source], quarantine_path=tmp_path / "q2.csv")

    assert count(ws) == 1
    assert not (tmp_path / "q2.csv").exists()
    assert not list(tmp_path.glob("*.part"))


# --- currency conversion ------------------------------------------------------------------
def test_amounts_convert_to_usd_with_the_shipped_yearly_rate(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    rows = [
        {"txn_id": "EUR23", "amount": "45.00", "currency": "EUR"},
        {"txn_id": "EUR30", "amount": "100", "currency": "EUR", "ts": "2030-06-01T10:00:00Z"},
        {"txn_id": "EUR15", "amount": "100", "currency": "EUR", "ts": "2015-06-01T10:00:00Z"},
        # 23:30 on 31 Dec 2025 in New York is 2026 in UTC: the UTC year picks the rate
        {"txn_id": "NYE", "amount": "100", "currency": "EUR", "ts": "2025-12-31T23:30:00-05:00"},
        {"txn_id": "USD", "amount": "12.34", "currency": "USD"},
    ]
    # 2030 is past the default plausible range (up to tomorrow): widen it for this test
    window = TimeRange(date(2000, 1, 1), date(2031, 1, 1))
    loaded = load(write_payments_csv(tmp_path / "p.csv", rows), time_range=window)

    assert loaded.payment("EUR23")["amount_reporting"] == pytest.approx(48.6585)  # 45 × 1.0813
    assert loaded.payment("EUR30")["amount_reporting"] == pytest.approx(100 * EUR_2026)
    assert loaded.payment("EUR15")["amount_reporting"] == pytest.approx(100 * EUR_2019)
    assert loaded.payment("NYE")["amount_reporting"] == pytest.approx(100 * EUR_2026)
    assert loaded.payment("USD")["amount_reporting"] == pytest.approx(12.34)
    assert loaded.result.reporting_currency == "USD"


def test_another_reporting_currency_converts_through_usd(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    rows = [
        {"txn_id": "GBP", "amount": "350.00", "currency": "GBP"},
        {"txn_id": "EUR", "amount": "45.00", "currency": "EUR"},
    ]
    loaded = load(write_payments_csv(tmp_path / "p.csv", rows), reporting_currency="EUR")

    assert loaded.payment("GBP")["amount_reporting"] == pytest.approx(
        350 * GBP_2023 / EUR_2023
    )  # ≈ 402.50
    assert loaded.payment("EUR")["amount_reporting"] == pytest.approx(45.0)
    assert loaded.result.reporting_currency == "EUR"


def test_a_workspace_keeps_one_reporting_currency(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    load(write_payments_csv(tmp_path / "a.csv", [{"txn_id": "A"}]))
    with pytest.raises(ConfigError, match="holds amounts in USD"):
        load(write_payments_csv(tmp_path / "b.csv", [{"txn_id": "B"}]), reporting_currency="EUR")


def test_fx_rates_file_overrides_the_shipped_table(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,year,usd_per_unit\nEUR,2023,2.0\nBRL,2023,0.2\n")
    rows = [
        {"txn_id": "EUR", "amount": "45.00", "currency": "EUR"},
        {"txn_id": "BRL", "amount": "100", "currency": "BRL"},
        {"txn_id": "GBP", "amount": "1", "currency": "GBP"},  # not in the override
    ]

    loaded = load(write_payments_csv(tmp_path / "p.csv", rows), fx_rates=rates)

    assert loaded.payment("EUR")["amount_reporting"] == pytest.approx(90.0)
    assert loaded.payment("BRL")["amount_reporting"] == pytest.approx(20.0)
    rejected = loaded.rejected("GBP")
    assert (rejected["column"], rejected["reason"]) == ("currency", "no exchange rate for currency")
    assert loaded.result.fx_rates == str(rates)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("currency,year\nEUR,2023\n", "missing column 'usd_per_unit'"),
        ("currency,year,usd_per_unit\nEUR,2023,1.1\nGBP,2023,0\n", "row 2, column usd_per_unit"),
        ("currency,year,usd_per_unit\nEUR,2023,-1\n", "row 1, column usd_per_unit"),
        ("currency,year,usd_per_unit\nEUR,twenty,1.1\n", "row 1, column year"),
        ("currency,year,usd_per_unit\nEURO,2023,1.1\n", "row 1, column currency"),
        ("currency,year,usd_per_unit\n", "has no rates"),
    ],
)
def test_a_bad_fx_rates_file_is_a_config_error(
    ws: Workspace, tmp_path: Path, text: str, message: str
) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text(text)
    source = write_payments_csv(tmp_path / "p.csv", [{}])

    with pytest.raises(ConfigError) as error:
        ingest(ws, [source], quarantine_path=tmp_path / "q.csv", fx_rates=rates)

    assert str(rates) in str(error.value) and message in str(error.value)


def test_an_unknown_reporting_currency_is_a_config_error(ws: Workspace, tmp_path: Path) -> None:
    source = write_payments_csv(tmp_path / "p.csv", [{}])
    with pytest.raises(ConfigError, match="ISO 4217"):
        ingest(ws, [source], quarantine_path=tmp_path / "q.csv", reporting_currency="XXY")
    with pytest.raises(ConfigError, match="no exchange rate for reporting currency BRL"):
        ingest(ws, [source], quarantine_path=tmp_path / "q.csv", reporting_currency="BRL")


def test_a_nearest_year_fills_a_gap_in_the_rate_table(tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,year,usd_per_unit\nEUR,2020,1.0\nEUR,2023,2.0\n")
    table = load_fx_rates(rates)

    assert [table.rate("EUR", y) for y in (2018, 2021, 2022, 2030)] == [1.0, 1.0, 2.0, 2.0]
    assert table.rate("USD", 2021) == 1.0  # the pivot needs no row
    assert table.rate("EUR", 2023, reporting="EUR") == 1.0


# --- headers ------------------------------------------------------------------------------
def test_a_utf8_bom_before_the_header_is_ignored(
    load: Callable[..., Loaded], tmp_path: Path
) -> None:
    source = tmp_path / "bom.csv"
    source.write_bytes(b"\xef\xbb\xbf" + EXAMPLE_CSV.encode())

    assert load(source).result.rows_new == 8


def test_blank_lines_are_not_rows(load: Callable[..., Loaded], tmp_path: Path) -> None:
    first, *rest = EXAMPLE_CSV.splitlines()
    source = tmp_path / "blank.csv"
    source.write_text("\n".join([first, *rest[:2], "", *rest[2:], "", ""]), encoding="utf-8")

    loaded = load(source)

    assert loaded.result.rows_read == loaded.result.rows_new == 8


def test_a_column_named_twice_stops_the_run(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "twice.csv"
    source.write_text(HEADER + ",Amount\n", encoding="utf-8")

    with pytest.raises(InputError, match=r"twice\.csv: column 'amount' appears twice"):
        ingest(ws, [source], quarantine_path=tmp_path / "q.csv")


def test_a_parquet_file_without_a_required_column_stops_the_run(
    ws: Workspace, tmp_path: Path
) -> None:
    source = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pylist([payment_row()]).drop_columns(["channel"]), source)

    with pytest.raises(InputError, match=r"p\.parquet: missing required column 'channel'"):
        ingest(ws, [source], quarantine_path=tmp_path / "q.csv")
