"""alerts by status, newest first: the status index ends in id, so one status's alerts come off it in the
list's order (last seen, then id) with no sort; at a million alerts sharing a timestamp the old index left
PostgreSQL sorting every one of them (1.3 s)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 21:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alerts_status_last_seen_id", "alerts", ["status", "last_seen_at", "id"])
    op.drop_index("ix_alerts_status_last_seen", table_name="alerts")


def downgrade() -> None:
    op.create_index("ix_alerts_status_last_seen", "alerts", ["status", "last_seen_at"])
    op.drop_index("ix_alerts_status_last_seen_id", table_name="alerts")
