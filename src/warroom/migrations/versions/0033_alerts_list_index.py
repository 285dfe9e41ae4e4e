"""alerts list index: the unfiltered list's first page, newest first, straight off an index

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 19:35:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alerts_last_seen_id", "alerts", ["last_seen_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_last_seen_id", table_name="alerts")
