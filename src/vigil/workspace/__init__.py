"""The DuckDB workspace that holds payments and every derived table."""

from vigil.workspace.store import PAYMENTS_COLUMNS, SCHEMA_VERSION, Workspace, migrate

__all__ = ["PAYMENTS_COLUMNS", "SCHEMA_VERSION", "Workspace", "migrate"]
