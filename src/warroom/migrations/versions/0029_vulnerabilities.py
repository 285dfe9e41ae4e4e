"""vulnerabilities: software each service runs, CVEs from feeds, findings for the owning team

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 15:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intel_software",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_intel_software_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_software")),
        sa.UniqueConstraint("service_id", "name", "version", name=op.f("uq_intel_software_service_id")),
    )
    op.create_index(op.f("ix_intel_software_service_id"), "intel_software", ["service_id"])
    op.create_index(op.f("ix_intel_software_name"), "intel_software", ["name"])
    op.create_table(
        "intel_vulnerabilities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("cve", sa.String(length=40), nullable=False),
        sa.Column("vendor", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("exploited", sa.Boolean(), nullable=False),
        sa.Column("ransomware", sa.Boolean(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("updated_at", warroom.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["intel_feeds.id"],
            name=op.f("fk_intel_vulnerabilities_feed_id_intel_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_vulnerabilities")),
        sa.UniqueConstraint("feed_id", "cve", "product", name=op.f("uq_intel_vulnerabilities_feed_id")),
    )
    op.create_index(op.f("ix_intel_vulnerabilities_feed_id"), "intel_vulnerabilities", ["feed_id"])
    op.create_index(op.f("ix_intel_vulnerabilities_cve"), "intel_vulnerabilities", ["cve"])
    op.create_index(op.f("ix_intel_vulnerabilities_product"), "intel_vulnerabilities", ["product"])
    op.create_table(
        "vulnerability_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("vulnerability_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("software", sa.String(length=300), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", warroom.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_vulnerability_findings_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vulnerability_id"],
            ["intel_vulnerabilities.id"],
            name=op.f("fk_vulnerability_findings_vulnerability_id_intel_vulnerabilities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_vulnerability_findings_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vulnerability_findings")),
        sa.UniqueConstraint(
            "service_id", "vulnerability_id", name=op.f("uq_vulnerability_findings_service_id")
        ),
    )
    op.create_index(op.f("ix_vulnerability_findings_service_id"), "vulnerability_findings", ["service_id"])
    op.create_index(op.f("ix_vulnerability_findings_team_id"), "vulnerability_findings", ["team_id"])
    op.create_index(op.f("ix_vulnerability_findings_status"), "vulnerability_findings", ["status"])


def downgrade() -> None:
    op.drop_table("vulnerability_findings")
    op.drop_table("intel_vulnerabilities")
    op.drop_table("intel_software")
