"""security milestones: first malicious activity (estimated), eradicated, recovered, notified

Revision ID: 0025
Revises: 0016
Create Date: 2026-12-05 00:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0025"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("compromised_at", "eradicated_at", "recovered_at", "notified_at")


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, warroom.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
