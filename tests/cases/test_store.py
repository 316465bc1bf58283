"""Opening the case store: migrations to head, idempotent, matching the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from vigil.cases.errors import CaseStoreError
from vigil.cases.models import Base
from vigil.cases.store import MIGRATIONS, CaseStore, default_database_url, normalise_url


def test_open_creates_every_table_and_opening_again_changes_nothing(database_url: str) -> None:
    with CaseStore.open(database_url) as store:
        tables = set(inspect(store.engine).get_table_names())
    assert {t for t in Base.metadata.tables} <= tables
    assert "alembic_version" in tables
    with CaseStore.open(database_url) as again, again.engine.connect() as con:
        versions = con.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [ScriptDirectory(str(MIGRATIONS)).get_current_head()]


def test_the_migrations_build_exactly_the_models(store: CaseStore) -> None:
    with store.engine.connect() as con:
        differences = compare_metadata(MigrationContext.configure(con), Base.metadata)
    assert differences == []


def test_the_default_store_sits_beside_the_workspace(tmp_path: Path) -> None:
    url = default_database_url(tmp_path / "out" / "vigil.duckdb")
    assert url == f"sqlite:///{tmp_path / 'out' / 'cases.sqlite'}"


def test_a_plain_postgresql_url_gets_the_psycopg_driver() -> None:
    url = normalise_url("postgresql://vigil:secret@db.example/vigil")
    assert url.drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u@h/db", "unsupported case store database 'mysql'"),
        ("sqlite:////nonexistent-folder/x/cases.sqlite", "no such folder"),
    ],
)
def test_a_bad_url_is_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(CaseStoreError, match=message):
        CaseStore.open(url)


def test_an_unreachable_server_is_named_without_its_password() -> None:
    with pytest.raises(CaseStoreError, match="cannot open the case store") as raised:
        CaseStore.open("postgresql://vigil:hunter2secret@127.0.0.1:9/vigil?connect_timeout=2")
    assert "hunter2secret" not in str(raised.value)
