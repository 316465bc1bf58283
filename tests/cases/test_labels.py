"""Closed cases' dispositions come back as labels for learning, in labels.csv's shape."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vigil.cases import workflow
from vigil.cases.labels import dispositions_as_labels, write_labels_csv
from vigil.cases.store import CaseStore


def close(store: CaseStore, parties: list[tuple[str, str]], **disposition: str) -> str:
    case = workflow.create_case(store, "ana", "case", parties)
    workflow.transition(store, "ana", case.id, "closed", **disposition)
    return case.reference


def test_each_disposition_becomes_the_label_an_evaluation_reads(team: CaseStore) -> None:
    confirmed = close(team, [("sender", "S1"), ("beneficiary", "W1")], disposition="confirmed")
    false_positive = close(
        team, [("sender", "S2")], disposition="false_positive", reason="tuition fees"
    )
    legitimate = close(
        team,
        [("sender", "S3")],
        disposition="legitimate",
        legitimate_population="overseas worker family support",
    )
    close(team, [("sender", "S4")], disposition="duplicate")
    workflow.create_case(team, "ana", "still open", [("sender", "S5")])
    assert dispositions_as_labels(team) == [
        {"party_kind": "beneficiary", "party_id": "W1", "role": "facilitator", "source": confirmed},
        {"party_kind": "sender", "party_id": "S1", "role": "offender", "source": confirmed},
        {
            "party_kind": "sender",
            "party_id": "S2",
            "role": "legitimate:tuition fees",
            "source": false_positive,
        },
        {
            "party_kind": "sender",
            "party_id": "S3",
            "role": "overseas worker family support",
            "source": legitimate,
        },
    ]


def test_the_latest_closing_wins(team: CaseStore) -> None:
    close(team, [("sender", "S1")], disposition="false_positive", reason="gift")
    later = close(team, [("sender", "S1")], disposition="confirmed")
    first = workflow.list_cases(team, party=("sender", "S1"))[-1]
    workflow.add_note(team, "ana", first.id, "a note after closing changes no label")
    assert dispositions_as_labels(team) == [
        {"party_kind": "sender", "party_id": "S1", "role": "offender", "source": later}
    ]


def test_the_csv_has_labels_columns_and_is_spreadsheet_safe(
    team: CaseStore, tmp_path: Path
) -> None:
    close(team, [("sender", "=cmd()")], disposition="false_positive", reason="@SUM(A1)")
    out = tmp_path / "labels.csv"
    assert write_labels_csv(team, out) == 1
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.columns == ["party_kind", "party_id", "role", "source"]
    assert frame.row(0)[:3] == ("sender", "'=cmd()", "legitimate:@SUM(A1)")


def test_no_closed_case_gives_a_header_only_csv(team: CaseStore, tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    assert write_labels_csv(team, out) == 0
    assert out.read_text().strip() == "party_kind,party_id,role,source"
