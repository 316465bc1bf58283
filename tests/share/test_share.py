"""`vigil share`: what leaves an institution, what the linkage unit computes without a key,
and what an institution learns back."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from tests.builders import series, write_payments_csv
from typer.testing import CliRunner

from vigil.cli import app
from vigil.errors import InputError
from vigil.indicators.catalogue import load_catalogue
from vigil.scan import scan
from vigil.share import export_share, import_linked, keygen, link_shares, load_key
from vigil.share.encode import clk, dice, name_sql
from vigil.share.export import FORMAT, write_parquet

# Three tiny institutions. Rosa Dizon's wallet W1 is paid at A and at B by a customer who
# sends small evening payments week after week; at C, Rosa's second wallet W1-GC (the same
# phone, written as dialled at home) is paid by such a customer, and W1 by a customer
# sending once. A's W2 and B's W3 are paid once, by ordinary customers, and nowhere else.
PHONE, PHONE_LOCAL = "+63 917 555 0101", "0917 555 0101"
START = datetime(2024, 3, 1, 9, 0)


def steady(sender: str, wallet: str, phone: str = PHONE, name: str = "Rosa Dizon") -> list[dict]:
    rows = series(sender, wallet, START, 8, timedelta(days=3), amount=40, beneficiary_name=name)
    return [{**row, "beneficiary_phone": phone} for row in rows]


def once(sender: str, wallet: str, name: str, phone: str = "") -> list[dict]:
    rows = series(sender, wallet, START, 1, timedelta(days=1), amount=300, beneficiary_name=name)
    return [{**row, "beneficiary_phone": phone} for row in rows]


TINY = {
    "inst-a": steady("A1", "W1") + once("A2", "W2", "Juan Bautista"),
    "inst-b": steady("B1", "W1", name="ROSA DIZON") + once("B2", "W3", "Ana Reyes"),
    "inst-c": steady("C1", "W1-GC", PHONE_LOCAL, name="Rosa Dizón")
    + once("C2", "W1", "Rosa Dizon", PHONE),
}


@pytest.fixture(scope="module")
def catalogue():
    # Here any customer with some of the pattern counts as suspicious: the test is about
    # what crosses institutions, not about how suspicious eight payments look.
    shipped = load_catalogue()
    parameters = shipped.parameters.model_copy(update={"suspicious_score": 0.05})
    return shipped.model_copy(update={"parameters": parameters})


@pytest.fixture(scope="module")
def exercise(tmp_path_factory: pytest.TempPathFactory, catalogue) -> dict:
    root = tmp_path_factory.mktemp("share")
    key = keygen(root / "exercise.key")
    scans, exports = {}, {}
    for name, rows in TINY.items():
        source = write_payments_csv(root / name / "payments.csv", rows)
        scan([source], root / name / "scan", catalogue=catalogue)
        scans[name] = root / name / "scan"
        exports[name] = export_share(
            scans[name] / "vigil.duckdb",
            key,
            root / "exports" / f"{name}.parquet",
            catalogue=catalogue,
        ).out
    before = {n: pl.read_csv(s / "alerts.csv", infer_schema=False) for n, s in scans.items()}
    linked = link_shares(list(exports.values()), root / "linked")
    imported = {
        name: import_linked(
            linked.files[name],
            scans[name] / "vigil.duckdb",
            key,
            root / name / "shared",
            catalogue=catalogue,
        )
        for name in TINY
    }
    return {
        "root": root,
        "key": key,
        "exports": exports,
        "linked": linked,
        "imported": imported,
        "before": before,
        "scans": scans,
    }


def linked_rows(exercise: dict, name: str) -> pl.DataFrame:
    return pl.read_parquet(exercise["linked"].files[name])


def own_tokens(exercise: dict, name: str) -> pl.DataFrame:
    return pl.read_parquet(exercise["exports"][name]).select(
        "account_token", "phone_token", "suspicious_payers_band", "payers_band"
    )


def test_key_file_is_private_and_never_overwritten(tmp_path: Path):
    os.umask(0o022)  # even where the umask would let others read
    path = keygen(tmp_path / "k.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(load_key(path).secret) == 32
    with pytest.raises(InputError, match="never overwritten"):
        keygen(path)
    other = keygen(tmp_path / "other.key")
    assert load_key(other).secret != load_key(path).secret


def test_exports_band_each_beneficiarys_payers(exercise):
    a = own_tokens(exercise, "inst-a")
    assert a.height == 2  # W1 and W2: beneficiaries, never senders
    assert sorted(a["payers_band"]) == [1, 1]
    assert sorted(a["suspicious_payers_band"]) == [0, 1]
    c = own_tokens(exercise, "inst-c")
    assert c.height == 2 and c["phone_token"].n_unique() == 1  # +63 917... and 0917... agree


def test_linkage_counts_what_other_institutions_see(exercise):
    a = linked_rows(exercise, "inst-a").join(own_tokens(exercise, "inst-a"), on="account_token")
    rosa = a.filter(pl.col("suspicious_payers_band") == 1).row(0, named=True)
    # W1 is paid at B by one suspicious customer, and at C by two: C1 pays the twin wallet
    # W1-GC, and C2, who pays W1 once, pays the person C1 pays (C's own scan links the two
    # wallets by their phone, so C2 shows N1). Two institutions, three suspicious payers.
    assert rosa["elsewhere_institutions"] == 2
    assert rosa["elsewhere_suspicious_payers"] == 3
    assert rosa["elsewhere_suspicious_institutions"] == 2
    assert rosa["elsewhere_payers"] == 3
    juan = a.filter(pl.col("suspicious_payers_band") == 0).row(0, named=True)
    assert juan["elsewhere_institutions"] == 0 and juan["elsewhere_suspicious_payers"] == 0

    c = linked_rows(exercise, "inst-c")
    assert c.height == 2
    assert set(c["elsewhere_institutions"]) == {2}  # both of Rosa's wallets: A and B
    assert set(c["elsewhere_suspicious_payers"]) == {2}
    assert "account, phone and name" in set(c["linked_by"])
    assert exercise["linked"].phone_links == 1


def test_a_phone_joins_accounts_only_when_the_names_agree(tmp_path: Path):
    key = load_key(keygen(tmp_path / "k.key"))
    name_key = key.name_key

    def record(account: str, name: str, suspicious: int) -> dict:
        return {
            "account_token": account,
            "phone_token": "same-phone",
            "name_clk": clk(name, name_key),
            "country": "PH",
            "payers_band": 1,
            "suspicious_payers_band": suspicious,
            "pattern_payers_band": suspicious,
            "score_band": 0.0,
        }

    files = []
    for institution, row in (
        ("x", record("acc-1", "rosadizon", 0)),
        ("y", record("acc-2", "pedrogarcia", 1)),
    ):
        file = tmp_path / f"{institution}.parquet"
        write_parquet(
            pl.DataFrame([row]),
            file,
            {"format": FORMAT, "institution": institution, "key_fingerprint": "f"},
        )
        files.append(file)
    linked = link_shares(files, tmp_path / "linked")
    assert linked.phone_links == 0  # a shared phone under two unrelated names: an agent's
    assert pl.read_parquet(linked.files["x"])["elsewhere_institutions"].to_list() == [0]


def test_an_institution_learns_only_about_beneficiaries_it_pays(exercise):
    for name in TINY:
        sent = set(own_tokens(exercise, name)["account_token"])
        received = linked_rows(exercise, name)
        assert set(received["account_token"]) == sent
        assert "name_clk" not in received.columns and "phone_token" not in received.columns
    b_only = (
        set(own_tokens(exercise, "inst-b")["account_token"])
        - set(own_tokens(exercise, "inst-a")["account_token"])
        - set(own_tokens(exercise, "inst-c")["account_token"])
    )
    assert b_only  # W3
    assert not b_only & set(linked_rows(exercise, "inst-a")["account_token"])


def test_linkage_output_holds_no_key_material(exercise):
    key = load_key(exercise["key"])
    secrets = [key.secret, key.token_key, key.name_key]
    texts = [s.hex().encode() for s in secrets] + secrets
    for file in [*exercise["linked"].files.values()]:
        data = file.read_bytes()
        for secret in texts:
            assert secret not in data
    # ... and no name encoding: the CLKs stay at the linkage unit.
    for name in TINY:
        for encoding in pl.read_parquet(exercise["exports"][name])["name_clk"]:
            for file in exercise["linked"].files.values():
                assert encoding not in file.read_bytes()


def test_import_fires_the_cross_institution_indicators(exercise):
    a = pl.read_csv(exercise["root"] / "inst-a" / "shared" / "alerts.csv", infer_schema=False)
    before = exercise["before"]["inst-a"]
    assert sorted(a["party_id"]) == sorted(before["party_id"])  # every party, once

    def row(frame: pl.DataFrame, kind: str, party: str) -> dict:
        return frame.filter(party_kind=kind, party_id=party).row(0, named=True)

    assert "N6" in row(a, "beneficiary", "W1")["indicators"].split(";")
    assert "N6" not in row(a, "beneficiary", "W2")["indicators"].split(";")
    assert "N6" in row(a, "sender", "A1")["indicators"].split(";")
    assert "N6" not in row(a, "sender", "A2")["indicators"].split(";")
    assert float(row(a, "beneficiary", "W1")["score"]) > float(
        row(before, "beneficiary", "W1")["score"]
    )
    assert float(row(a, "sender", "A1")["score"]) > float(row(before, "sender", "A1")["score"])
    reason = row(a, "beneficiary", "W1")["top_reason"]
    assert "at 2 other institutions" in reason
    result = exercise["imported"]["inst-a"]
    assert (result.beneficiaries_linked, result.beneficiaries_flagged, result.senders_flagged) == (
        1,
        1,
        1,
    )
    # B's W3, which A never paid, is nowhere in A's results.
    assert "W3" not in set(a["party_id"])


def test_link_refuses_files_made_with_another_key(exercise, tmp_path: Path, catalogue):
    other = keygen(tmp_path / "other.key")
    odd = export_share(
        exercise["scans"]["inst-a"] / "vigil.duckdb",
        other,
        tmp_path / "inst-z.parquet",
        catalogue=catalogue,
    ).out
    with pytest.raises(InputError, match="another key"):
        link_shares([exercise["exports"]["inst-b"], odd], tmp_path / "linked")


def test_names_normalise_before_encoding():
    import duckdb

    forms = ["Ma. Cristina Dela Cruz", "MARIA CRISTINA DE LA CRUZ", "María Cristina DelaCruz"]
    normal = [duckdb.sql(f"SELECT {name_sql(repr(f))}").fetchall()[0][0] for f in forms]
    assert len(set(normal)) == 1, normal
    import numpy as np

    key = b"k" * 32
    same = np.frombuffer(clk(normal[0], key), np.uint8)[None]
    typo = np.frombuffer(clk(normal[0].replace("cruz", "crus"), key), np.uint8)[None]
    other = np.frombuffer(clk("josesantos", key), np.uint8)[None]
    assert dice(same, typo)[0] > 0.85 > 0.4 > dice(same, other)[0]


def test_cli_runs_the_exercise(tmp_path: Path, exercise):
    runner = CliRunner()
    key = tmp_path / "cli.key"
    assert runner.invoke(app, ["share", "keygen", "--out", str(key)]).exit_code == 0
    files = []
    for name in ("inst-a", "inst-b"):
        file = tmp_path / f"{name}.parquet"
        ws = exercise["scans"][name] / "vigil.duckdb"
        result = runner.invoke(
            app,
            ["share", "export", "--workspace", str(ws), "--key-file", str(key), "--out", str(file)],
        )
        assert result.exit_code == 0, result.output
        files.append(str(file))
    result = runner.invoke(app, ["share", "link", *files, "--out", str(tmp_path / "linked")])
    assert result.exit_code == 0, result.output
    assert "1 beneficiaries paid at two institutions or more" in " ".join(result.output.split())
    result = runner.invoke(app, ["share", "link", files[0], "--out", str(tmp_path / "l2")])
    assert result.exit_code != 0 and "two institutions or more" in result.output


def test_a_scan_never_evaluates_the_cross_institution_indicators():
    shipped = load_catalogue()
    assert "N6" not in {i.id for i in shipped.indicators}
    added = shipped.with_collaboration()
    assert {("sender", "N6"), ("beneficiary", "N6")} <= set(added.by_key)
    assert added.with_collaboration() == added  # adding them twice adds nothing
    for indicator in (added.by_key[("sender", "N6")], added.by_key[("beneficiary", "N6")]):
        assert (
            indicator.sources and indicator.statement and indicator.feature.startswith("elsewhere_")
        )


def test_cli_runs_two_exchanges_and_refuses_a_refresh_before_the_first(tmp_path: Path):
    runner = CliRunner()
    key = tmp_path / "cli.key"
    assert runner.invoke(app, ["share", "keygen", "--out", str(key)]).exit_code == 0
    workspaces = {}
    for name in ("inst-a", "inst-b"):
        source = write_payments_csv(tmp_path / name / "payments.csv", TINY[name])
        scan([source], tmp_path / name / "scan")
        workspaces[name] = str(tmp_path / name / "scan" / "vigil.duckdb")

    def exchange(round_name: str, refresh: bool) -> list[tuple[int, str]]:
        files = []
        for name, ws in workspaces.items():
            file = tmp_path / round_name / f"{name}.parquet"
            export = ["share", "export", "--workspace", ws, "--key-file", str(key)]
            result = runner.invoke(app, [*export, "--out", str(file)])
            assert result.exit_code == 0, result.output
            files.append(str(file))
        linked = tmp_path / round_name / "linked"
        result = runner.invoke(app, ["share", "link", *files, "--out", str(linked)])
        assert result.exit_code == 0, result.output
        outputs = []
        for name, ws in workspaces.items():
            command = ["share", "import", str(linked / f"{name}.parquet"), "--workspace", ws]
            command += ["--key-file", str(key), "--out", str(tmp_path / round_name / name)]
            result = runner.invoke(app, command + (["--refresh"] if refresh else []))
            outputs.append((result.exit_code, " ".join(result.output.split())))
            if result.exit_code == 0:
                assert (tmp_path / round_name / name / "alerts.csv").exists()
        return outputs

    refused = exchange("early", refresh=True)
    for code, output in refused:
        assert code != 0 and "import the first exchange first" in output, output
    for code, output in exchange("first", refresh=False) + exchange("second", refresh=True):
        assert code == 0, output
        assert "1 of your beneficiaries are paid at other institutions" in output, output
