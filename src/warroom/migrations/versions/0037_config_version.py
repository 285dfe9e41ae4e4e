"""config version: one row whose token triggers change with every write to the configuration tables

A worker caches the configuration its triage and escalation steps read (routing and alert rules,
maintenance windows, policies and their steps, services, users, contact methods, notification rules) and
trusts its cache only while this token is the one it read the cache under. The token is random rather than
a counter, so a database restored from an older backup can never hand back a token a worker cached under.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 08:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision (a later one that caches another table's rows adds its own triggers).
TABLES = (
    "routing_rules",
    "alert_rules",
    "maintenance_windows",
    "escalation_policies",
    "escalation_steps",
    "services",
    "users",
    "contact_methods",
    "notification_rules",
)
PG_FUNCTION = """
CREATE FUNCTION warroom_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET token = gen_random_uuid()::text WHERE id = 1;
    RETURN NULL;
END
$$
"""
SQLITE_BUMP = "UPDATE config_version SET token = lower(hex(randomblob(16))) WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    # Random from the start too: a database swapped under a running worker must not share its first token.
    first = "gen_random_uuid()::text" if postgresql else "lower(hex(randomblob(16)))"
    op.execute(f"INSERT INTO config_version (id, token) VALUES (1, {first})")
    if postgresql:
        op.execute(PG_FUNCTION)
        for table in TABLES:  # once per statement, TRUNCATE included
            op.execute(
                f"CREATE TRIGGER {table}_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION warroom_config_changed()"
            )
        return
    for table in TABLES:  # SQLite has row triggers only, and no TRUNCATE
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_config_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN {SQLITE_BUMP}; END"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_config_changed ON {table}")
            continue
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_config_{event}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS warroom_config_changed()")
    op.drop_table("config_version")
