"""intake backlog: requests of a flooding integration stored at once and derived into alerts afterwards

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 14:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_backlog",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column(
            "integration_id",
            sa.Integer(),
            sa.ForeignKey("integrations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("received_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_intake_backlog_integration_id", "intake_backlog", ["integration_id"])


def downgrade() -> None:
    op.drop_index("ix_intake_backlog_integration_id", table_name="intake_backlog")
    op.drop_table("intake_backlog")
