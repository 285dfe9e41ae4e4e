"""drill runs: scenario snapshot, mode, window and the hidden fire time

Revision ID: 0018
Revises: 0025
Create Date: 2026-12-05 02:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0018"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drill_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=100), nullable=False),
        sa.Column("scenario", sa.JSON(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("window_start", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fire_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fired_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("alert_keys", sa.JSON(), nullable=False),
        sa.Column("pending_alerts", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drill_runs_fire_at", "drill_runs", ["fire_at"])


def downgrade() -> None:
    op.drop_index("ix_drill_runs_fire_at", table_name="drill_runs")
    op.drop_table("drill_runs")
