"""Evaluating alerts.csv against labels.csv: the Python API, bad files, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.errors import InputError
from vigil.evaluation import evaluate

ALERTS_HEADER = ("party_kind", "party_id", "score", "rank", "indicators")
LABELS_HEADER = ("party_kind", "party_id", "role")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    lines = [",".join(header)] + [",".join(str(value) for value in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ranked_senders(count: int) -> list[tuple[str, str, float, int, str]]:
    """Senders S1..S<count>, S<i> at rank i, scores falling with rank."""
    return [
        ("sender", f"S{i}", round(1 - i / (count + 1), 6), i, "R1") for i in range(1, count + 1)
    ]


@pytest.fixture
def ten_senders(tmp_path: Path) -> tuple[Path, Path]:
    """10 alerted senders with offenders at ranks 1, 3 and 6; one beneficiary, no label."""
    alerts = write_csv(
        tmp_path / "alerts.csv",
        ALERTS_HEADER,
        [*ranked_senders(10), ("beneficiary", "B1", 0.5, 1, "B1")],
    )
    labels = write_csv(
        tmp_path / "labels.csv",
        LABELS_HEADER,
        [("sender", "S1", "offender"), ("sender", "S3", "offender"), ("sender", "S6", "offender")]
        + [("sender", f"S{i}", "overseas_worker") for i in (2, 4, 5, 7, 8, 9, 10)],
    )
    return alerts, labels


@pytest.fixture
def thousand_senders(tmp_path: Path) -> tuple[Path, Path]:
    """1,000 alerted senders; budgets of 1, 5, 10 and 50 alerts.

    Offenders at ranks 2, 4, 8, 20 and 600; overseas workers at 1, 3, 9; a partner abroad
    at 5; everyone else unlabelled. Two beneficiaries, the second a facilitator.
    """
    alerts = write_csv(
        tmp_path / "alerts.csv",
        (*ALERTS_HEADER, "explanation"),  # extra columns are ignored
        [
            *((*row, "x") for row in ranked_senders(1000)),
            ("beneficiary", "B1", 0.9, 1, "B1", "x"),
            ("beneficiary", "B2", 0.8, 2, "B1;N1", "x"),
        ],
    )
    roles = {2: "offender", 4: "offender", 8: "offender", 20: "offender", 600: "offender"}
    roles |= {1: "overseas_worker", 3: "overseas_worker", 9: "overseas_worker"}
    roles |= {5: "partner_abroad"}
    labels = write_csv(
        tmp_path / "labels.csv",
        LABELS_HEADER,
        [("sender", f"S{i}", role) for i, role in roles.items()]
        + [("beneficiary", "B2", "facilitator")],
    )
    return alerts, labels


def test_average_precision_of_offenders_at_ranks_1_3_6(ten_senders: tuple[Path, Path]) -> None:
    senders = evaluate(*ten_senders).kinds["sender"]
    assert senders.parties == 10
    assert senders.positives == 3
    assert senders.missing_from_alerts == 0
    assert senders.average_precision == pytest.approx((1 / 1 + 2 / 3 + 3 / 6) / 3)
    assert senders.random_average_precision == pytest.approx(3 / 10)
    # 10 parties: every budget is a single alert, S1, an offender
    assert [budget.k for budget in senders.budgets] == [1, 1, 1, 1]
    assert senders.budgets[0].recall == pytest.approx(1 / 3)
    assert senders.budgets[0].precision == 1.0
    assert senders.budgets[0].false_positives == 0


def test_a_kind_without_positives_has_no_average_precision(
    ten_senders: tuple[Path, Path],
) -> None:
    beneficiaries = evaluate(*ten_senders).to_dict()["beneficiary"]
    assert beneficiaries["parties"] == 1
    assert beneficiaries["positives"] == 0
    assert beneficiaries["average_precision"] is None
    assert beneficiaries["random_average_precision"] is None
    assert beneficiaries["budgets"][0]["recall"] is None
    assert beneficiaries["budgets"][0]["false_positives_by_population"] == {"unlabelled": 1}


def test_recall_precision_and_false_positives_at_each_budget(
    thousand_senders: tuple[Path, Path],
) -> None:
    senders = evaluate(*thousand_senders).to_dict()["sender"]
    assert senders["parties"] == 1000
    assert senders["positives"] == 5
    assert senders["average_precision"] == pytest.approx(
        (1 / 2 + 2 / 4 + 3 / 8 + 4 / 20 + 5 / 600) / 5
    )
    assert senders["random_average_precision"] == pytest.approx(5 / 1000)
    budgets = senders["budgets"]
    assert [budget["budget"] for budget in budgets] == [0.001, 0.005, 0.01, 0.05]
    assert [budget["k"] for budget in budgets] == [1, 5, 10, 50]
    # top 1: S1, an overseas worker
    assert budgets[0]["recall"] == 0.0
    assert budgets[0]["precision"] == 0.0
    assert budgets[0]["false_positives_by_population"] == {"overseas_worker": 1}
    # top 5: offenders S2 and S4; overseas workers S1, S3; partner abroad S5
    assert budgets[1]["recall"] == pytest.approx(2 / 5)
    assert budgets[1]["precision"] == pytest.approx(2 / 5)
    assert budgets[1]["false_positives"] == 3
    assert budgets[1]["false_positives_by_population"] == {
        "overseas_worker": 2,
        "partner_abroad": 1,
    }
    # top 10: offenders S2, S4, S8; overseas workers S1, S3, S9; S5; unlabelled S6, S7, S10
    assert budgets[2]["recall"] == pytest.approx(3 / 5)
    assert budgets[2]["precision"] == pytest.approx(3 / 10)
    assert budgets[2]["false_positives_by_population"] == {
        "overseas_worker": 3,
        "unlabelled": 3,
        "partner_abroad": 1,
    }
    # top 50: S20 joins; 46 false positives, 42 of them unlabelled
    assert budgets[3]["recall"] == pytest.approx(4 / 5)
    assert budgets[3]["precision"] == pytest.approx(4 / 50)
    assert budgets[3]["false_positives"] == 46
    assert budgets[3]["false_positives_by_population"] == {
        "unlabelled": 42,
        "overseas_worker": 3,
        "partner_abroad": 1,
    }
    # beneficiaries: the facilitator B2 is second of two
    beneficiaries = evaluate(*thousand_senders).to_dict()["beneficiary"]
    assert beneficiaries["average_precision"] == pytest.approx(1 / 2)
    assert beneficiaries["budgets"][0]["false_positives_by_population"] == {"unlabelled": 1}


def test_equal_scores_are_ordered_by_the_scanners_rank(tmp_path: Path) -> None:
    # all three score 0.5; the scanner ranked the offender S3 first (rank 9 < rank 10,
    # which as text would sort the other way), so it is first of the ranking: AP 1
    alerts = write_csv(
        tmp_path / "alerts.csv",
        ALERTS_HEADER,
        [
            ("sender", "S1", 0.5, 10, ""),
            ("sender", "S2", 0.5, 11, ""),
            ("sender", "S3", 0.5, 9, ""),
        ],
    )
    labels = write_csv(tmp_path / "labels.csv", LABELS_HEADER, [("sender", "S3", "offender")])
    assert evaluate(alerts, labels).kinds["sender"].average_precision == 1.0


def test_a_labelled_offender_missing_from_alerts_counts_as_never_found(
    ten_senders: tuple[Path, Path],
) -> None:
    alerts, labels = ten_senders
    with labels.open("a", encoding="utf-8") as file:
        file.write("sender,S99,offender\nsender,S98,partner_abroad\n")
    senders = evaluate(alerts, labels).kinds["sender"]
    assert senders.parties == 12
    assert senders.positives == 4
    assert senders.missing_from_alerts == 2
    # S99 contributes precision 0: (1/1 + 2/3 + 3/6 + 0) / 4
    assert senders.average_precision == pytest.approx((1 / 1 + 2 / 3 + 3 / 6) / 4)
    assert senders.random_average_precision == pytest.approx(4 / 12)
    assert senders.budgets[0].recall == pytest.approx(1 / 4)


def test_unlabelled_alerts_are_false_positives_of_population_unlabelled(
    tmp_path: Path,
) -> None:
    alerts = write_csv(tmp_path / "alerts.csv", ALERTS_HEADER, ranked_senders(40))
    labels = write_csv(tmp_path / "labels.csv", LABELS_HEADER, [("sender", "S2", "offender")])
    senders = evaluate(alerts, labels).kinds["sender"]
    # 40 parties: budgets of 1, 1, 1 and 2 alerts: S1 (unlabelled), then S2 (offender)
    assert [budget.k for budget in senders.budgets] == [1, 1, 1, 2]
    assert senders.budgets[0].false_positives_by_population == {"unlabelled": 1}
    assert senders.budgets[3].false_positives_by_population == {"unlabelled": 1}
    assert senders.budgets[3].recall == 1.0
    assert senders.average_precision == pytest.approx(1 / 2)


# --- bad files ------------------------------------------------------------------------


def good_labels(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "labels.csv", LABELS_HEADER, [("sender", "S1", "offender")])


def good_alerts(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "alerts.csv", ALERTS_HEADER, ranked_senders(3))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere\.csv: no such file"):
        evaluate(tmp_path / "nowhere.csv", good_labels(tmp_path))
    with pytest.raises(InputError, match=r"nolabels\.csv: no such file"):
        evaluate(good_alerts(tmp_path), tmp_path / "nolabels.csv")


def test_a_missing_column_is_named_with_its_file(tmp_path: Path) -> None:
    alerts = write_csv(
        tmp_path / "alerts.csv",
        ("party_kind", "party_id", "rank", "indicators"),
        [("sender", "S1", 1, "R1")],
    )
    with pytest.raises(InputError, match=r"alerts\.csv: missing required column 'score'"):
        evaluate(alerts, good_labels(tmp_path))
    labels = write_csv(tmp_path / "labels.csv", ("party_kind", "party_id"), [("sender", "S1")])
    with pytest.raises(InputError, match=r"labels\.csv: missing required column 'role'"):
        evaluate(good_alerts(tmp_path), labels)


def test_an_unknown_party_kind_names_file_row_and_column(tmp_path: Path) -> None:
    alerts = write_csv(
        tmp_path / "alerts.csv",
        ALERTS_HEADER,
        [("sender", "S1", 0.9, 1, ""), ("payer", "S2", 0.8, 2, "")],
    )
    with pytest.raises(InputError) as raised:
        evaluate(alerts, good_labels(tmp_path))
    message = str(raised.value)
    assert "alerts.csv" in message
    assert "row 2, column 'party_kind'" in message
    assert "'payer'" in message
    labels = write_csv(tmp_path / "labels.csv", LABELS_HEADER, [("Sender", "S1", "offender")])
    with pytest.raises(InputError, match=r"labels\.csv: row 1, column 'party_kind'"):
        evaluate(good_alerts(tmp_path), labels)


def test_a_score_that_is_not_a_number_names_file_row_and_column(tmp_path: Path) -> None:
    alerts = write_csv(
        tmp_path / "alerts.csv",
        ALERTS_HEADER,
        [
            ("sender", "S1", 0.9, 1, ""),
            ("sender", "S2", 0.8, 2, ""),
            ("sender", "S3", "high", 3, ""),
        ],
    )
    with pytest.raises(InputError) as raised:
        evaluate(alerts, good_labels(tmp_path))
    message = str(raised.value)
    assert "alerts.csv" in message
    assert "row 3, column 'score'" in message
    assert "'high' is not a number" in message
    assert "\n" not in message


def test_an_empty_score_or_a_fractional_rank_is_refused(tmp_path: Path) -> None:
    alerts = write_csv(tmp_path / "alerts.csv", ALERTS_HEADER, [("sender", "S1", "", 1, "")])
    with pytest.raises(InputError, match=r"row 1, column 'score': is empty"):
        evaluate(alerts, good_labels(tmp_path))
    alerts = write_csv(tmp_path / "alerts.csv", ALERTS_HEADER, [("sender", "S1", 0.5, 1.5, "")])
    with pytest.raises(InputError, match=r"row 1, column 'rank': '1.5' is not a whole number"):
        evaluate(alerts, good_labels(tmp_path))


def test_a_party_listed_twice_is_refused(tmp_path: Path) -> None:
    labels = write_csv(
        tmp_path / "labels.csv",
        LABELS_HEADER,
        [("sender", "S1", "offender"), ("beneficiary", "S1", "facilitator"), ("sender", "S1", "x")],
    )
    with pytest.raises(InputError, match=r"labels\.csv: row 3, column 'party_id'"):
        evaluate(good_alerts(tmp_path), labels)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.csv"
    alerts.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match=r"alerts\.csv: cannot be read as CSV"):
        evaluate(alerts, good_labels(tmp_path))


# --- the CLI --------------------------------------------------------------------------


def test_cli_prints_one_table_per_party_kind(thousand_senders: tuple[Path, Path]) -> None:
    alerts, labels = thousand_senders
    result = CliRunner().invoke(app, ["evaluate", "--alerts", str(alerts), "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    assert "sender: 1,000 parties, 5 positives" in result.stdout
    assert "beneficiary: 2 parties, 1 positives" in result.stdout
    assert "overseas_worker 2" in result.stdout  # the 0.5 % budget
    assert "0.1 %" in result.stdout
    assert "5 %" in result.stdout
    assert "40 %" in result.stdout  # recall and precision in the top 5
    assert "0 labelled parties missing from alerts" in result.stdout


def test_cli_json_carries_the_figures(thousand_senders: tuple[Path, Path]) -> None:
    alerts, labels = thousand_senders
    result = CliRunner().invoke(
        app, ["evaluate", "--alerts", str(alerts), "--labels", str(labels), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"sender", "beneficiary"}
    senders = report["sender"]
    assert senders["parties"] == 1000
    assert senders["positives"] == 5
    assert senders["missing_from_alerts"] == 0
    assert senders["average_precision"] == pytest.approx(
        (1 / 2 + 2 / 4 + 3 / 8 + 4 / 20 + 5 / 600) / 5
    )
    assert senders["budgets"][1] == {
        "budget": 0.005,
        "k": 5,
        "recall": pytest.approx(0.4),
        "precision": pytest.approx(0.4),
        "false_positives": 3,
        "false_positives_by_population": {"overseas_worker": 2, "partner_abroad": 1},
    }


def test_cli_bad_file_gives_one_line_and_no_traceback(tmp_path: Path) -> None:
    alerts = write_csv(tmp_path / "alerts.csv", ALERTS_HEADER, [("sender", "S1", "n/a", 1, "")])
    result = CliRunner().invoke(
        app, ["evaluate", "--alerts", str(alerts), "--labels", str(good_labels(tmp_path))]
    )
    assert result.exit_code != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "alerts.csv" in result.stderr
    assert "column 'score'" in result.stderr


def test_cli_missing_file_gives_one_line_and_no_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["evaluate", "--alerts", str(tmp_path / "alerts.csv"), "--labels", str(tmp_path / "l.csv")],
    )
    assert result.exit_code != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no such file" in result.stderr
