"""Entity decisions: a merge an analyst rejected ("not the same person"), kept for every scan.

Revision ID: entity_decisions_not_same_person
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "entity_decisions_not_same_person"
down_revision: str | None = "api_keys_for_scoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entity_decisions",
        sa.Column("party_kind", sa.String(20), primary_key=True),
        sa.Column("left_id", sa.String(200), primary_key=True),
        sa.Column("right_id", sa.String(200), primary_key=True),
        sa.Column("decision", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("entity_decisions")
