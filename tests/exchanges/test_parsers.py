"""Each export format read from a small hand-made file of its real layout."""

from __future__ import annotations

from datetime import datetime

import pytest

from vigil.exchanges.clock import WARN_FOLD, WARN_GAP, LocalClock, zone
from vigil.exchanges.csv_layout import load_layout
from vigil.exchanges.formats import detect, parse_file
from vigil.exchanges.records import ExchangeError
from vigil.exchanges.telegram import WARN_NO_UNIXTIME
from vigil.exchanges.whatsapp import WARN_AMBIGUOUS


def read(path, tz=None, fmt="auto", layout=None):
    return list(parse_file(path, fmt, zone(tz), layout)[1])


def test_whatsapp_ios_with_lrm_is_read_day_first_in_the_phones_zone(export_file):
    path = export_file("whatsapp_ios_chat.txt")
    assert "\u200e" in path.read_text(encoding="utf-8")  # the real iOS layout
    assert detect(path) == "whatsapp"
    messages = read(path, "America/New_York")
    assert len(messages) == 6  # the continuation line belongs to the message above
    ok = messages[1]
    assert ok.sender.name == "Rosa Dizon" and ok.body == "ok 55 USD"
    # 11 March 2023 is before the US switch to daylight time: UTC-5
    assert ok.ts_utc == datetime(2023, 3, 12, 0, 5, 11)
    assert ok.utc_offset_minutes == -300 and ok.tz_source == "option" and not ok.tz_assumed
    assert ok.ts_raw == "11/03/2023, 19:05:11"
    assert messages[2].body == "sending now\nto the same wallet"
    assert messages[3].media and messages[3].body == "image omitted"
    # 13 March is after it: UTC-4
    assert (
        messages[4].ts_utc == datetime(2023, 3, 14, 0, 10)
        and messages[4].utc_offset_minutes == -240
    )
    assert not any(m.warnings for m in messages)  # 13/03 settles the day/month order


def test_whatsapp_android_12h_with_narrow_space_is_month_first(export_file):
    messages = read(export_file("whatsapp_android_chat.txt"), "Asia/Manila")
    assert [m.ts_utc for m in messages] == [
        datetime(2022, 12, 24, 12, 1),
        datetime(2022, 12, 24, 12, 2),
        datetime(2022, 12, 25, 1, 15),
        datetime(2022, 12, 25, 4, 30),  # 12:30 PM in Manila (UTC+8, no DST)
    ]
    system, unsaved, media, _ = messages
    assert system.sender.name is None and system.sender.identifier is None
    assert unsaved.sender.identifier == "+63 917 123 4567"  # an unsaved contact's number
    assert media.media


def test_whatsapp_without_a_zone_is_read_as_utc_and_flagged_assumed(export_file):
    messages = read(export_file("whatsapp_android_chat.txt"))
    assert all(m.tz_assumed and m.tz_source == "assumed" for m in messages)
    assert messages[1].ts_utc == datetime(2022, 12, 24, 20, 2)


def test_dst_fall_back_takes_the_second_pass_when_the_file_says_so(export_file):
    messages = read(export_file("whatsapp_fold_chat.txt"), "Europe/London")
    utc = [m.ts_utc for m in messages]
    # 01:10 and 01:50 are the first (BST) pass, the later 01:20 the second (GMT) pass
    assert utc == [
        datetime(2023, 10, 28, 23, 50),
        datetime(2023, 10, 29, 0, 10),
        datetime(2023, 10, 29, 0, 50),
        datetime(2023, 10, 29, 1, 20),
        datetime(2023, 10, 29, 2, 5),
    ]
    assert all(WARN_FOLD in m.warnings for m in messages[1:4])
    assert not any(WARN_AMBIGUOUS in m.warnings for m in messages)  # day 29 settles it


@pytest.mark.parametrize(
    ("dates", "first_utc"),
    [
        (["05/01/2023", "06/01/2023", "01/02/2023"], datetime(2023, 1, 5, 10)),  # day first
        (["01/05/2023", "01/06/2023", "02/01/2023"], datetime(2023, 1, 5, 10)),  # month first
        # forward either way: 5, 9, 11, 12 January rather than 1 May, September, November
        # and December
        (["1/5/24", "1/9/24", "1/11/24", "1/12/24"], datetime(2024, 1, 5, 10)),
        (["05/01/24", "09/01/24", "11/01/24", "12/01/24"], datetime(2024, 1, 5, 10)),
    ],
)
def test_unsettled_day_month_order_follows_the_files_time_order(tmp_path, dates, first_utc):
    chat = tmp_path / "_chat.txt"
    chat.write_text("".join(f"{d}, 10:00 - Ann Lee: ok\n" for d in dates))
    messages = read(chat, "UTC")
    assert messages[0].ts_utc == first_utc
    assert [m.ts_utc for m in messages] == sorted(m.ts_utc for m in messages)
    assert all(WARN_AMBIGUOUS in m.warnings for m in messages)


def test_spring_forward_gap_and_a_zone_without_dst():
    london = LocalClock(zone("Europe/London"))
    utc, offset, warnings = london.to_utc(datetime(2023, 3, 26, 1, 30))
    assert WARN_GAP in warnings and utc == datetime(2023, 3, 26, 1, 30) and offset == 0
    manila = LocalClock(zone("Asia/Manila"))
    assert manila.to_utc(datetime(2023, 3, 26, 1, 30))[:2] == (datetime(2023, 3, 25, 17, 30), 480)
    kolkata = LocalClock(zone("Asia/Kolkata"))
    assert kolkata.to_utc(datetime(2023, 3, 26, 1, 30))[:2] == (datetime(2023, 3, 25, 20, 0), 330)


def test_telegram_before_date_unixtime_uses_the_local_date_and_says_so(export_file):
    messages = read(export_file("telegram_single_2021.json"), "America/New_York")
    assert [m.ts_utc for m in messages] == [
        datetime(2021, 6, 2, 1, 40),
        datetime(2021, 6, 2, 1, 42, 10),
    ]
    assert all(WARN_NO_UNIXTIME in m.warnings for m in messages)
    assert messages[1].body == "sent to +639171234567"  # text as an array of parts


def test_telegram_after_date_unixtime_uses_the_epoch_not_the_local_date(export_file):
    messages = read(export_file("telegram_full_result.json"), "Asia/Manila")
    ok, sent, call = messages
    # `date` says 13:40 (the exporting PC's clock); date_unixtime is 12:40 UTC
    assert ok.ts_utc == datetime(2023, 3, 4, 12, 40) and ok.tz_source == "epoch"
    assert ok.ts_raw == "1677933600" and ok.utc_offset_minutes == 480
    assert ok.sender.identifier == "+63 917 123 4567"  # from the export's contacts
    assert sent.body == "sent ref T0001"
    assert call.kind == "call" and call.duration_seconds == 2700
    assert sent.sender.identifier == "+1 202 555 0143"  # the owner's own phone


def test_ufdr_keeps_each_offset_and_reads_calls(export_file):
    path = export_file("ufdr_report.xml")
    assert detect(path) == "ufdr"
    ok, sent, call = read(path)
    assert ok.ts_utc == datetime(2023, 3, 4, 13, 40) and ok.utc_offset_minutes == 480
    assert sent.ts_utc == datetime(2023, 3, 4, 13, 5) and sent.utc_offset_minutes == -300
    assert ok.tz_source == sent.tz_source == "offset"
    assert ok.sender.identifier == "+639171234567" and ok.thread == "Gary"
    assert call.kind == "call" and call.duration_seconds == 41 * 60 + 30
    assert call.sender.name == "Gary Holt"  # incoming: the other party called the owner
    assert call.recipients[0].identifier == "+639171234567"


def test_ufdr_refuses_external_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read me")
    report = tmp_path / "report.xml"
    report.write_text(
        f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<project xmlns="http://pa.cellebrite.com/report/2.0"><decodedData>'
        '<modelType type="Chat"><model type="Chat" id="c"><field name="Name"><value>n</value>'
        '</field><multiModelField name="Messages"><model type="InstantMessage" id="m">'
        '<field name="TimeStamp"><value>2023-01-01T00:00:00+00:00</value></field>'
        '<field name="Body"><value>&x;</value></field></model></multiModelField></model>'
        "</modelType></decodedData></project>"
    )
    messages = read(report, fmt="ufdr")
    assert "do not read me" not in messages[0].body


def test_meta_mojibake_is_repaired_and_calls_kept(export_file):
    path = export_file("meta_message_1.json")
    assert "\\u00c3\\u00a9" in path.read_text()  # é written as two escaped bytes
    ok, sent, call = read(path)
    assert ok.sender.name == "José Ramírez" and ok.body == "ok ₱2,500"
    assert ok.ts_utc == datetime(2023, 3, 4, 12, 40) and ok.tz_source == "epoch"
    assert sent.media and call.kind == "call" and call.duration_seconds == 1800


def test_csv_layout_reads_the_zone_from_the_header(export_file):
    layout = load_layout(export_file("cdr_layout.yaml"))
    first, second = read(export_file("cdr.csv"), "Asia/Manila", fmt="csv", layout=layout)
    # the header says (UTC): --timezone does not move these times
    assert first.ts_utc == datetime(2023, 3, 4, 14, 20) and first.tz_source == "header"
    assert first.duration_seconds == 2700 and second.duration_seconds == 62
    assert first.sender.identifier == "+12025550143"


def test_a_bad_time_names_file_row_and_column(tmp_path, export_file):
    bad = tmp_path / "cdr.csv"
    bad.write_text("CALLING_NO,CALLED_NO,Call Date/Time - (UTC),DURATION\n1,2,yesterday,5\n")
    layout = load_layout(export_file("cdr_layout.yaml"))
    with pytest.raises(ExchangeError, match=r"cdr.csv: row 2, column 'Call Date/Time - \(UTC\)'"):
        read(bad, fmt="csv", layout=layout)


def test_unknown_files_and_mixed_orders_are_refused(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    with pytest.raises(ExchangeError, match="not a Telegram, WhatsApp"):
        read(other)
    mixed = tmp_path / "_chat.txt"
    mixed.write_text("13/01/2023, 10:00 - A B: ok\n01/13/2023, 10:00 - A B: ok\n")
    with pytest.raises(ExchangeError, match="mix day/month"):
        read(mixed)
