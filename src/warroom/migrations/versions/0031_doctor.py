"""doctor findings: what the integration doctor last found per check, and since when it fails

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 18:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "doctor_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("failing_since", warroom.db.UTCDateTime(), nullable=True),
        sa.Column("checked_at", warroom.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doctor_findings")),
        sa.UniqueConstraint("check", name=op.f("uq_doctor_findings_check")),
    )


def downgrade() -> None:
    op.drop_table("doctor_findings")
