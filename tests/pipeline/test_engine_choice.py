"""The engine is the runner's choice per scan: options checked before any work starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.errors import InputError, VigilError
from vigil.pipeline.runner import open_workspace
from vigil.workspace import spark as spark_engine
from vigil.workspace.spark import SparkOptions


def test_spark_configuration_is_key_value_pairs() -> None:
    options = SparkOptions.parse(
        "spark://head:7077", ["spark.executor.memory=8g", "spark.sql.shuffle.partitions = 400"]
    )
    assert options.master == "spark://head:7077"
    assert options.conf == {
        "spark.executor.memory": "8g",
        "spark.sql.shuffle.partitions": "400",
    }
    assert SparkOptions.parse(None).master is None  # spark-submit's, else local[2]
    with pytest.raises(InputError, match="expected KEY=VALUE"):
        SparkOptions.parse(None, ["spark.executor.memory"])


def test_an_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected one of duckdb, spark"):
        open_workspace(tmp_path / "ws.duckdb", "flink")


def test_spark_without_java_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spark_engine, "java_available", lambda: False)
    with pytest.raises(VigilError, match="needs Java 17"):
        spark_engine.spark_session(SparkOptions())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--engine", "flink"], "expected duckdb or spark"),
        (["--spark-master", "local[1]"], "need --engine spark"),
        (["--engine", "spark", "--spark-conf", "nokey"], "expected KEY=VALUE"),
    ],
)
def test_the_command_line_refuses_engine_mistakes(
    tmp_path: Path, options: list[str], message: str
) -> None:
    payments = tmp_path / "payments.csv"
    payments.write_text("txn_id\n")
    result = CliRunner().invoke(app, ["scan", str(payments), "--out", str(tmp_path), *options])
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "vigil.duckdb").exists()  # refused before any work
