"""Alembic environment: runs on the connection that `CaseStore.upgrade` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from vigil.cases.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the case store's migrations through vigil.cases.CaseStore.open")

if connection.dialect.name == "postgresql":
    # Two processes opening a fresh database at once: the second waits for the first.
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('vigil.cases.migrations'))"))

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
