"""`vigil share import`: how an institution weighs what the linkage unit tells it, and the
second exchange (`--refresh`) that tells beneficiaries about payers elsewhere once those
payers' own cross-institution link counted.

One tiny institution: its customer A1 pays Rosa Dizon's wallet W1 small evening amounts
week after week, A2 pays Juan Bautista's W2 once, A3 pays Liza Ramos's W3 twice in her
evening (too few payments here for R1). The linkage unit's files are written by hand, so that
each test says exactly what the other institutions reported."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from tests.builders import series, write_payments_csv

from vigil.errors import InputError
from vigil.indicators.catalogue import load_catalogue
from vigil.scan import scan
from vigil.share import import_linked, keygen, load_key
from vigil.share.export import LINKED_FORMAT, beneficiary_encodings, write_parquet
from vigil.share.link import LINKED_COLUMNS
from vigil.workspace import Workspace

START = datetime(2024, 3, 1, 9, 0)


@pytest.fixture(scope="module")
def institution(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("share-import")
    rows = (
        series("A1", "W1", START, 8, timedelta(days=3), amount=40, beneficiary_name="Rosa Dizon")
        + series(
            "A2", "W2", START, 1, timedelta(days=1), amount=300, beneficiary_name="Juan Bautista"
        )
        + series("A3", "W3", START, 2, timedelta(days=9), amount=35, beneficiary_name="Liza Ramos")
    )
    source = write_payments_csv(root / "payments.csv", rows)
    catalogue = load_catalogue()
    scan([source], root / "scan", catalogue=catalogue)
    key = keygen(root / "exercise.key")
    with Workspace.open(root / "scan" / "vigil.duckdb", read_only=True) as ws:
        own = beneficiary_encodings(ws, load_key(key), catalogue)
    tokens = dict(zip(own["beneficiary_id"], own["account_token"], strict=True))
    return {"root": root, "key": key, "catalogue": catalogue, "tokens": tokens}


def linked_file(institution: dict, path: Path, figures: dict[str, dict[str, int]]) -> Path:
    """A linkage unit's file for the institution: per wallet, what the others reported."""
    zero = {c: 0 for c in LINKED_COLUMNS if c.startswith("elsewhere_")}
    rows = [
        {
            **zero,
            "elsewhere_score_band": 0.0,
            "elsewhere_institutions": 1,
            **figures.get(wallet, {}),
            "account_token": token,
            "linked_by": "account",
        }
        for wallet, token in institution["tokens"].items()
    ]
    frame = pl.DataFrame(rows).select(LINKED_COLUMNS)
    write_parquet(frame, path, {"format": LINKED_FORMAT, "institution": "inst-a"})
    return path


def fresh_workspace(institution: dict, tmp_path: Path) -> Path:
    """A copy of the scan: an import re-scores the workspace it is given."""
    copy = tmp_path / "scan"
    shutil.copytree(institution["root"] / "scan", copy)
    return copy / "vigil.duckdb"


def imported(institution: dict, workspace: Path, linked: Path, out: Path, **options) -> dict:
    import_linked(
        linked, workspace, institution["key"], out, catalogue=institution["catalogue"], **options
    )
    alerts = pl.read_csv(out / "alerts.csv", infer_schema=False)
    return {(row["party_kind"], row["party_id"]): row for row in alerts.iter_rows(named=True)}


def fired(alerts: dict, kind: str, party: str) -> bool:
    return "N6" in alerts[(kind, party)]["indicators"].split(";")


def test_payers_showing_only_some_of_the_pattern_elsewhere_count_half(institution, tmp_path):
    # One client elsewhere with some of the pattern (a partner's, a freelancer's) is not
    # a facilitator's offender: it counts half, under N6's threshold of one payer.
    workspace = fresh_workspace(institution, tmp_path)
    light = linked_file(
        institution, tmp_path / "light.parquet", {"W1": {"elsewhere_pattern_payers": 1}}
    )
    alerts = imported(institution, workspace, light, tmp_path / "light")
    assert not fired(alerts, "beneficiary", "W1")
    # Two such clients elsewhere, or one strongly suspicious, reach it.
    for case, figures in {
        "two-light": {"elsewhere_pattern_payers": 2},
        "one-strong": {"elsewhere_pattern_payers": 1, "elsewhere_suspicious_payers": 1},
    }.items():
        linked = linked_file(institution, tmp_path / f"{case}.parquet", {"W1": figures})
        alerts = imported(institution, workspace, linked, tmp_path / case)
        assert fired(alerts, "beneficiary", "W1"), case
    with duckdb.connect(str(workspace), read_only=True) as con:
        weighted = con.sql(
            "SELECT elsewhere_weighted_payers FROM beneficiary_share_features WHERE party_id = 'W1'"
        ).fetchall()
    assert weighted == [(1.0,)]


def test_a_second_exchange_rescores_beneficiaries_and_leaves_senders_as_they_were(
    institution, tmp_path
):
    workspace = fresh_workspace(institution, tmp_path)
    # First exchange: W2's payer elsewhere is strongly suspicious, so A2, who pays W2, learns
    # of a suspicious co-payer; W1's payers elsewhere show nothing yet.
    first = linked_file(
        institution,
        tmp_path / "first.parquet",
        {"W2": {"elsewhere_pattern_payers": 1, "elsewhere_suspicious_payers": 1}},
    )
    before = imported(institution, workspace, first, tmp_path / "first")
    assert fired(before, "sender", "A2") and not fired(before, "beneficiary", "W1")
    # Second exchange, exported after every institution imported the first: W1's payers
    # elsewhere now show the pattern (their own N6 lifted them), W2's payer no longer counts.
    second = linked_file(
        institution,
        tmp_path / "second.parquet",
        {"W1": {"elsewhere_pattern_payers": 3, "elsewhere_suspicious_payers": 3}},
    )
    after = imported(institution, workspace, second, tmp_path / "second", refresh=True)
    assert fired(after, "beneficiary", "W1")
    assert float(after[("beneficiary", "W1")]["score"]) > float(
        before[("beneficiary", "W1")]["score"]
    )
    # A2 keeps what the first exchange told it (a second telling would echo senders' own
    # suspicion back to them through their co-payers), and so does its score.
    assert fired(after, "sender", "A2")
    assert after[("sender", "A2")]["score"] == before[("sender", "A2")]["score"]
    assert not fired(after, "sender", "A1")


def test_refresh_needs_a_first_exchange(institution, tmp_path):
    workspace = fresh_workspace(institution, tmp_path)
    linked = linked_file(institution, tmp_path / "second.parquet", {})
    with pytest.raises(InputError, match="import the first exchange first"):
        import_linked(
            linked,
            workspace,
            institution["key"],
            tmp_path / "out",
            catalogue=institution["catalogue"],
            refresh=True,
        )


def test_senders_learn_from_beneficiaries_mostly_paid_by_suspicious_customers_elsewhere(
    institution, tmp_path
):
    workspace = fresh_workspace(institution, tmp_path)
    # W2 is a popular freelancer elsewhere: one suspicious client among five (a look-alike
    # paying her too); A2, her client here, is not the co-payer of an offender for that.
    popular = linked_file(
        institution,
        tmp_path / "popular.parquet",
        {
            "W2": {
                "elsewhere_payers": 5,
                "elsewhere_pattern_payers": 1,
                "elsewhere_suspicious_payers": 1,
            }
        },
    )
    alerts = imported(institution, workspace, popular, tmp_path / "popular")
    assert not fired(alerts, "sender", "A2")
    # Two of her three payers elsewhere suspicious: a facilitator's payers; A2 learns it.
    facilitator = linked_file(
        institution,
        tmp_path / "facilitator.parquet",
        {
            "W2": {
                "elsewhere_payers": 3,
                "elsewhere_pattern_payers": 2,
                "elsewhere_suspicious_payers": 2,
            }
        },
    )
    alerts = imported(institution, workspace, facilitator, tmp_path / "facilitator")
    assert fired(alerts, "sender", "A2")


@pytest.mark.parametrize(
    ("payers", "pattern", "learns"),
    [
        # All three payers elsewhere show the pattern, one strongly: an offender spread over
        # institutions shows part of it at each; half of each light one is two of three.
        (3, 3, True),
        # A popular freelancer: one strongly suspicious client and one light among five.
        (5, 2, False),
    ],
)
def test_a_light_payer_elsewhere_counts_half_in_the_suspicious_share(
    institution, tmp_path, payers: int, pattern: int, learns: bool
):
    workspace = fresh_workspace(institution, tmp_path)
    linked = linked_file(
        institution,
        tmp_path / "linked.parquet",
        {
            "W2": {
                "elsewhere_payers": payers,
                "elsewhere_pattern_payers": pattern,
                "elsewhere_suspicious_payers": 1,
            }
        },
    )
    alerts = imported(institution, workspace, linked, tmp_path / "out")
    assert fired(alerts, "sender", "A2") is learns


def test_the_co_offender_link_elsewhere_opens_the_gates_that_n1_opens(institution, tmp_path):
    # A3 paid W3 twice in her evening: too little here for R1 or R2, so the evening timing
    # (R5) waits for a core indicator or a co-offender link, and W3's inflows from an
    # unrelated foreigner (B7) for a suspicious payer. Elsewhere, two of W3's three payers show
    # the pattern: the co-offender link, over the boundary, opens those gates as N1 would.
    workspace = fresh_workspace(institution, tmp_path)
    silent = linked_file(institution, tmp_path / "silent.parquet", {})
    before = imported(institution, workspace, silent, tmp_path / "silent")
    assert "R5" not in before[("sender", "A3")]["indicators"].split(";")
    assert "B7" not in before[("beneficiary", "W3")]["indicators"].split(";")
    flagged = linked_file(
        institution,
        tmp_path / "flagged.parquet",
        {
            "W3": {
                "elsewhere_payers": 3,
                "elsewhere_pattern_payers": 2,
                "elsewhere_suspicious_payers": 2,
            }
        },
    )
    after = imported(institution, workspace, flagged, tmp_path / "flagged")
    sender = after[("sender", "A3")]["indicators"].split(";")
    beneficiary = after[("beneficiary", "W3")]["indicators"].split(";")
    assert {"N6", "R5"} <= set(sender) and "N1" not in sender
    assert {"N6", "B7"} <= set(beneficiary) and "N1" not in beneficiary
