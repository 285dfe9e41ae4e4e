"""crm: HubSpot tickets with their companies and contacts, rules linking them to services, events taken

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 18:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", warroom.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_crm_events_event_id")),
    )
    op.create_index(op.f("ix_crm_events_received_at"), "crm_events", ["received_at"])

    op.create_table(
        "crm_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_crm_rules_service_id_services"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_rules")),
    )
    op.create_table(
        "crm_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("companies", sa.JSON(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("linked_by", sa.String(length=32), nullable=True),
        sa.Column("fetched_at", warroom.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", warroom.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_crm_tickets_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_tickets")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_crm_tickets_ticket_id")),
    )
    op.create_index(op.f("ix_crm_tickets_incident_id"), "crm_tickets", ["incident_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_crm_tickets_incident_id"), table_name="crm_tickets")

    op.drop_table("crm_tickets")
    op.drop_table("crm_rules")
    op.drop_index(op.f("ix_crm_events_received_at"), table_name="crm_events")

    op.drop_table("crm_events")
