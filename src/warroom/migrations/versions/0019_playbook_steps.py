"""playbook steps on tasks, exit-criteria checks, action runs

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = warroom.db.UTCDateTime(timezone=True)


def task_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("step_id", sa.String(length=64), nullable=True),
        sa.Column("phase", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column("mandatory", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("gate", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("evidence_prompt", sa.Text(), server_default="", nullable=False),
        sa.Column("links", sa.JSON(), nullable=True),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("done_note", sa.Text(), server_default="", nullable=False),
        sa.Column("waived_at", WHEN, nullable=True),
        sa.Column("waived_by_id", sa.Integer(), nullable=True),
        sa.Column("waived_reason", sa.Text(), server_default="", nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("incident_tasks") as batch:
        for column in task_columns():
            batch.add_column(column)
        batch.create_foreign_key("fk_tasks_done_by", "users", ["done_by_id"], ["id"], ondelete="SET NULL")
        batch.create_foreign_key("fk_tasks_waived_by", "users", ["waived_by_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("playbook", sa.String(length=64), nullable=True))
    op.create_table(
        "incident_exit_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=64), nullable=False),
        sa.Column("criterion", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ticked_by_id", sa.Integer(), nullable=True),
        sa.Column("ticked_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticked_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "phase", "criterion"),
    )
    op.create_index("ix_incident_exit_checks_incident_id", "incident_exit_checks", ["incident_id"])
    op.create_table(
        "action_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", WHEN, nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["incident_tasks.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["approved_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_action_runs_incident_id", "action_runs", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_action_runs_incident_id", table_name="action_runs")
    op.drop_table("action_runs")
    op.drop_index("ix_incident_exit_checks_incident_id", table_name="incident_exit_checks")
    op.drop_table("incident_exit_checks")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("playbook")
    with op.batch_alter_table("incident_tasks") as batch:
        batch.drop_constraint("fk_tasks_waived_by", type_="foreignkey")
        batch.drop_constraint("fk_tasks_done_by", type_="foreignkey")
        for column in reversed(task_columns()):
            batch.drop_column(column.name)
