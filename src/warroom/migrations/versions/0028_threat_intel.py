"""threat intelligence: feeds, indicators, sightings, and the observables each alert carried

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intel_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("collection", sa.String(length=200), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("raise_to", sa.String(length=16), nullable=True),
        sa.Column("declare_type", sa.String(length=64), nullable=True),
        sa.Column("declare_severity", sa.String(length=16), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("cursor", sa.String(length=100), nullable=True),
        sa.Column("next_poll_at", warroom.db.UTCDateTime(), nullable=True),
        sa.Column("last_polled_at", warroom.db.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", warroom.db.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_counts", sa.JSON(), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_intel_feeds_team_id_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_feeds")),
        sa.UniqueConstraint("slug", name=op.f("uq_intel_feeds_slug")),
    )
    op.create_index(op.f("ix_intel_feeds_next_poll_at"), "intel_feeds", ["next_poll_at"])
    op.create_table(
        "intel_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("source_ref", sa.String(length=300), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=True),
        sa.Column("value", sa.String(length=2000), nullable=True),
        sa.Column("pattern", sa.Text(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("valid_from", warroom.db.UTCDateTime(), nullable=True),
        sa.Column("valid_until", warroom.db.UTCDateTime(), nullable=True),
        sa.Column("revoked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("kill_chain_phases", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", warroom.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["intel_feeds.id"],
            name=op.f("fk_intel_indicators_feed_id_intel_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_indicators")),
        sa.UniqueConstraint("feed_id", "source_ref", name=op.f("uq_intel_indicators_feed_id")),
    )
    op.create_index(op.f("ix_intel_indicators_feed_id"), "intel_indicators", ["feed_id"])
    op.create_index("ix_intel_indicators_type_value", "intel_indicators", ["type", "value"])
    op.create_index(op.f("ix_intel_indicators_updated_at"), "intel_indicators", ["updated_at"])
    op.create_table(
        "alert_observables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=2000), nullable=False),
        sa.Column("seen_at", warroom.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_observables_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_observables")),
        sa.UniqueConstraint("alert_id", "type", "value", name=op.f("uq_alert_observables_alert_id")),
    )
    op.create_index(op.f("ix_alert_observables_alert_id"), "alert_observables", ["alert_id"])
    op.create_index("ix_alert_observables_type_value", "alert_observables", ["type", "value"])
    op.create_index(op.f("ix_alert_observables_seen_at"), "alert_observables", ["seen_at"])
    op.create_table(
        "intel_sightings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("observable_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("matched", sa.String(length=2000), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("first_seen", warroom.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen", warroom.db.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["intel_indicators.id"],
            name=op.f("fk_intel_sightings_indicator_id_intel_indicators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_intel_sightings_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["observable_id"],
            ["observables.id"],
            name=op.f("fk_intel_sightings_observable_id_observables"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_intel_sightings_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_sightings")),
    )
    for column in ("indicator_id", "alert_id", "observable_id", "incident_id"):
        op.create_index(op.f(f"ix_intel_sightings_{column}"), "intel_sightings", [column])


def downgrade() -> None:
    op.drop_table("intel_sightings")
    op.drop_table("alert_observables")
    op.drop_table("intel_indicators")
    op.drop_table("intel_feeds")
