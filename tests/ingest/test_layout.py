"""Institutions' own exports: layouts, encodings, delimiters, Excel, and too much quarantine."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tests.builders import write_payments_csv
from vigil.errors import ConfigError, InputError, QuarantineError
from vigil.ingest import ingest
from vigil.ingest.layout import Layout, load_layout
from vigil.ingest.sniff import suggest_layout
from vigil.workspace import Workspace

# A German remitter's export: Latin-1, semicolons, decimal commas, local (Berlin) times.
GERMAN_HEADER = (
    "Referenz;Buchungszeit;Kunde;Kundenname;Land;Empfaenger;Empfaengername;Zielland;Ort;"
    "Betrag;Waehrung;Verwendungszweck"
)
GERMAN_ROWS = [
    "R1;03.02.2023 11:42:10;K1;Håkan Öberg;SE;W1;María López;PH;Cebu;1.045,50;EUR;Geschenk",
    "R2;15.07.2023 21:05:00;K1;Håkan Öberg;SE;W1;María López;PH;Cebu;20,00;EUR;",
    "R3;16.07.2023 22:30:00;K2;Jürgen Weiß;DE;W2;Léa Dupont;FR;Lyon;7,5;EUR;Miete",
]
GERMAN_LAYOUT = """
delimiter: ";"
decimal: ","
encoding: latin-1
timezone: Europe/Berlin
timestamp_format: "%d.%m.%Y %H:%M:%S"
columns: {txn_id: Referenz, ts: Buchungszeit, sender_id: Kunde, sender_name: Kundenname,
  sender_country: Land, beneficiary_id: Empfaenger, beneficiary_name: Empfaengername,
  beneficiary_country: Zielland, beneficiary_city: Ort, amount: Betrag, currency: Waehrung,
  narrative: Verwendungszweck}
constants: {channel: online_remittance}
"""


@pytest.fixture
def ws() -> Iterator[Workspace]:
    with Workspace.open(":memory:") as workspace:
        yield workspace


def write_export(path: Path, rows: list[str], encoding: str = "latin-1") -> Path:
    path.write_bytes(("\r\n".join([GERMAN_HEADER, *rows]) + "\r\n").encode(encoding))
    return path


def payments(ws: Workspace) -> dict[str, dict]:
    cursor = ws.con.execute("SELECT * FROM payments")
    names = [column[0] for column in cursor.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def test_a_latin1_semicolon_decimal_comma_export_through_its_layout(
    ws: Workspace, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.csv", GERMAN_ROWS)
    layout = tmp_path / "layout.yaml"
    layout.write_text(GERMAN_LAYOUT)

    result = ingest(ws, [export], quarantine_path=tmp_path / "q.csv", layout=layout)

    assert result.rows_ingested == 3 and result.rows_quarantined == 0
    got = payments(ws)
    assert (
        got["R1"]["sender_name"] == "Håkan Öberg" and got["R1"]["beneficiary_name"] == "María López"
    )
    assert got["R1"]["amount"] == Decimal("1045.50") and got["R3"]["amount"] == Decimal("7.5")
    # Local Berlin times get Berlin's offset: winter +01:00, summer +02:00.
    assert got["R1"]["ts_local"] == "2023-02-03T11:42:10+01:00"
    assert got["R2"]["ts_local"] == "2023-07-15T21:05:00+02:00"
    assert str(got["R2"]["ts_utc"]) == "2023-07-15 19:05:00"
    assert got["R3"]["channel"] == "online_remittance"


def test_a_cp1252_export_is_transcoded(ws: Workspace, tmp_path: Path) -> None:
    rows = ["R9;03.02.2023 11:42:10;K9;Šárka Nováková;CZ;W9;Zoë „Z“ Park;PH;Cebu;5,00;EUR;x"]
    export = write_export(tmp_path / "export.csv", rows, encoding="cp1252")
    layout = Layout.model_validate({**yaml.safe_load(GERMAN_LAYOUT), "encoding": "cp1252"})

    ingest(ws, [export], quarantine_path=tmp_path / "q.csv", layout=layout)

    assert payments(ws)["R9"]["beneficiary_name"] == "Zoë „Z“ Park"


def test_without_a_layout_a_latin1_file_stops_with_what_was_found(
    ws: Workspace, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.csv", GERMAN_ROWS)

    with pytest.raises(InputError) as error:
        ingest(ws, [export], quarantine_path=tmp_path / "q.csv")

    message = str(error.value)
    assert "\n" not in message and "not UTF-8" in message and "latin-1" in message
    assert "encoding: latin-1" in message and "delimiter: ';'" in message
    assert f"vigil layout suggest {export}" in message and "--layout" in message
    assert ws.con.execute("SELECT count(*) FROM payments").fetchall()[0][0] == 0


def test_without_a_layout_a_semicolon_file_names_its_delimiter(
    ws: Workspace, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.csv", GERMAN_ROWS, encoding="utf-8")

    with pytest.raises(InputError) as error:
        ingest(ws, [export], quarantine_path=tmp_path / "q.csv")

    message = str(error.value)
    assert "separated by semicolons, not commas (12 columns" in message
    assert "delimiter: ';'" in message and "missing required" not in message


def test_layout_suggest_writes_a_layout_that_reads_the_export(
    ws: Workspace, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.csv", GERMAN_ROWS)

    suggestion = suggest_layout(export)

    data = yaml.safe_load(suggestion.text)
    assert data["encoding"] == "latin-1" and data["delimiter"] == ";" and data["decimal"] == ","
    assert data["timestamp_format"] == "%d.%m.%Y %H:%M:%S"
    assert data["columns"]["txn_id"] == "Referenz" and data["columns"]["amount"] == "Betrag"
    assert data["constants"] == {"channel": "bank_transfer"}
    assert suggestion.unmapped == []
    # The user sets the zone the suggestion asks for; the layout then reads every row.
    layout = tmp_path / "layout.yaml"
    layout.write_text(suggestion.text.replace("timezone: UTC", "timezone: Europe/Berlin"))
    result = ingest(ws, [export], quarantine_path=tmp_path / "q.csv", layout=layout)
    assert result.rows_ingested == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"columns": {"amout": "Betrag"}}, "columns: 'amout' is not a canonical column"),
        ({"timezone": "Europe/Berlinn"}, "timezone: unknown time zone"),
        ({"encoding": "latin-9000"}, "encoding: unknown encoding"),
        ({"delimiter": ";;"}, "delimiter: must be one character"),
        ({"decimal": ";"}, "decimal:"),
        ({"colums": {}}, "colums: Extra inputs are not permitted"),
    ],
)
def test_a_bad_layout_is_refused_with_its_key(tmp_path: Path, change: dict, message: str) -> None:
    layout = tmp_path / "layout.yaml"
    layout.write_text(yaml.safe_dump({**yaml.safe_load(GERMAN_LAYOUT), **change}))

    with pytest.raises(ConfigError) as error:
        load_layout(layout)

    assert str(layout) in str(error.value) and message in str(error.value)


def test_a_layout_naming_a_column_the_export_lacks(ws: Workspace, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.csv", GERMAN_ROWS)
    data = yaml.safe_load(GERMAN_LAYOUT)
    data["columns"]["amount"] = "Summe"

    with pytest.raises(ConfigError, match="layout column 'Summe' is not in the header"):
        ingest(ws, [export], quarantine_path=tmp_path / "q.csv", layout=Layout(**data))


def test_an_excel_export_through_a_layout(ws: Workspace, tmp_path: Path) -> None:
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(GERMAN_HEADER.split(";"))
    sheet.append(
        ["X1", datetime(2023, 7, 15, 21, 5), "K1", "Håkan Öberg", "SE", "W1", "María López",
         "PH", "Cebu", 1045.5, "EUR", "Geschenk"]
    )  # fmt: skip
    book.save(tmp_path / "export.xlsx")
    layout = Layout(**yaml.safe_load(GERMAN_LAYOUT))

    ingest(ws, [tmp_path / "export.xlsx"], quarantine_path=tmp_path / "q.csv", layout=layout)

    got = payments(ws)["X1"]
    assert got["amount"] == Decimal("1045.5") and got["ts_local"] == "2023-07-15T21:05:00+02:00"
    assert got["source_file"] == str(tmp_path / "export.xlsx")


def test_too_much_quarantine_stops_the_run_with_the_main_reasons(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = [{"txn_id": f"T{i}"} for i in range(18)]
    rows += [{"txn_id": "B1", "currency": "XYZ"}, {"txn_id": "B2", "amount": "-3"}]
    source = write_payments_csv(tmp_path / "p.csv", rows)
    quarantine = tmp_path / "q.csv"

    with pytest.raises(QuarantineError) as error:
        ingest(ws, [source], quarantine_path=quarantine, max_quarantine_share=0.05)

    message = str(error.value)
    assert "2 of 20 rows (10%) would be quarantined, more than 5%" in message
    assert "1 × currency: unknown currency code" in message and "--accept-quarantine" in message
    assert ws.con.execute("SELECT count(*) FROM payments").fetchall()[0][0] == 0
    with quarantine.open(encoding="utf-8") as handle:
        assert {r["txn_id"] for r in csv.DictReader(handle)} == {"B1", "B2"}

    result = ingest(ws, [source], quarantine_path=quarantine, max_quarantine_share=0.2)
    assert result.rows_ingested == 18


def test_names_over_the_limit_are_kept_with_a_warning(ws: Workspace, tmp_path: Path) -> None:
    source = write_payments_csv(
        tmp_path / "p.csv", [{"txn_id": "L1", "sender_name": "Q" * 5000}, {"txn_id": "L2"}]
    )

    result = ingest(ws, [source], quarantine_path=tmp_path / "q.csv", max_name_length=200)

    assert result.rows_ingested == 2
    assert result.warnings == [
        "1 payments have a name longer than 200 characters (the longest 5,000): kept whole, "
        "shown cut in tables (--max-name-length sets the limit)"
    ]
    assert payments(ws)["L1"]["sender_name"] == "Q" * 5000
