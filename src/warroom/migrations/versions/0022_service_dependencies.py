"""what services depend on

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 05:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_dependencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("depends_on_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["depends_on_id"], ["services.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("service_id", "depends_on_id"),
    )
    op.create_index("ix_service_dependencies_service_id", "service_dependencies", ["service_id"])
    op.create_index("ix_service_dependencies_depends_on_id", "service_dependencies", ["depends_on_id"])


def downgrade() -> None:
    op.drop_index("ix_service_dependencies_depends_on_id", table_name="service_dependencies")
    op.drop_index("ix_service_dependencies_service_id", table_name="service_dependencies")
    op.drop_table("service_dependencies")
