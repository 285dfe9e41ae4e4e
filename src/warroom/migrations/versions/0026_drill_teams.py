"""drill runs belong to a team (trends per team)

Revision ID: 0026
Revises: 0022
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drill_runs") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_drill_runs_team_id_teams"), "teams", ["team_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(batch.f("ix_drill_runs_team_id"), ["team_id"])


def downgrade() -> None:
    with op.batch_alter_table("drill_runs") as batch:
        batch.drop_index(batch.f("ix_drill_runs_team_id"))
        batch.drop_constraint(batch.f("fk_drill_runs_team_id_teams"), type_="foreignkey")
        batch.drop_column("team_id")
