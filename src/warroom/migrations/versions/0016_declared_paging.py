"""escalations for declared incidents: an incident and a target instead of an alert

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-04 22:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # An escalation walks an alert's service policy (as before) or pages a declared incident's target:
    # a policy, or a fixed list of schedules, teams and users. One walk per (incident, target) at most.
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.alter_column("alert_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("policy_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("target", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("targets", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_escalations_incident_id_incidents"),
            "incidents",
            ["incident_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_escalations_incident_id"), ["incident_id", "target"])


def downgrade() -> None:
    op.execute("DELETE FROM escalations WHERE alert_id IS NULL")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_escalations_incident_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_escalations_incident_id_incidents"), type_="foreignkey")
        batch_op.drop_column("reason")
        batch_op.drop_column("targets")
        batch_op.drop_column("target")
        batch_op.drop_column("incident_id")
        batch_op.alter_column("policy_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("alert_id", existing_type=sa.Integer(), nullable=False)
