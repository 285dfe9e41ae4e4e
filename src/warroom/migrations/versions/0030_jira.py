"""jira: rules (which project an incident goes to), the issues made, webhook deliveries taken

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jira_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("received_at", warroom.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jira_deliveries")),
        sa.UniqueConstraint("identifier", name=op.f("uq_jira_deliveries_identifier")),
    )
    op.create_index(op.f("ix_jira_deliveries_received_at"), "jira_deliveries", ["received_at"])

    op.create_table(
        "jira_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("incident_type", sa.String(length=64), nullable=True),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("issue_type", sa.String(length=64), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("priorities", sa.JSON(), nullable=False),
        sa.Column("statuses", sa.JSON(), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_jira_rules_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jira_rules")),
    )
    op.create_table(
        "jira_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("action_item_id", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("restricted_project", sa.Boolean(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("status", sa.String(length=100), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_item_id"],
            ["action_items.id"],
            name=op.f("fk_jira_issues_action_item_id_action_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_jira_issues_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["jira_rules.id"],
            name=op.f("fk_jira_issues_rule_id_jira_rules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jira_issues")),
        sa.UniqueConstraint("key", name=op.f("uq_jira_issues_key")),
        sa.UniqueConstraint("subject", name=op.f("uq_jira_issues_subject")),
    )
    op.create_index(op.f("ix_jira_issues_action_item_id"), "jira_issues", ["action_item_id"])
    op.create_index(op.f("ix_jira_issues_incident_id"), "jira_issues", ["incident_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_jira_issues_incident_id"), table_name="jira_issues")
    op.drop_index(op.f("ix_jira_issues_action_item_id"), table_name="jira_issues")

    op.drop_table("jira_issues")
    op.drop_table("jira_rules")
    op.drop_index(op.f("ix_jira_deliveries_received_at"), table_name="jira_deliveries")

    op.drop_table("jira_deliveries")
