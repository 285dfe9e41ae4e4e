"""raw events by month: on PostgreSQL raw_events becomes a table partitioned by month of arrival, so retention
drops a month at once; request ids are indexed, no longer unique (a partitioned table's unique keys must hold
the partition key; the ids are server-made UUIDs)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 21:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "id, request_id, integration_id, received_at, content_type, headers, body, route, result"
MONTHS_AHEAD = 2


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _months(connection: sa.Connection, old: str) -> list[date]:
    """From the oldest stored request's month (or this one) to MONTHS_AHEAD past this month."""
    oldest = connection.execute(sa.text(f"SELECT min(received_at) FROM {old}")).scalar()
    now = datetime.now(UTC)
    month = date((oldest or now).year, (oldest or now).month, 1)
    last = date(now.year, now.month, 1)
    for _ in range(MONTHS_AHEAD):
        last = _next(last)
    months = []
    while month <= last:
        months.append(month)
        month = _next(month)
    return months


def _set_aside(old: str) -> None:
    """raw_events renamed to `old`, with its constraints and indexes, so the new table can take the names."""
    op.execute(f"ALTER TABLE raw_events RENAME TO {old}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_raw_events TO pk_{old}")
    foreign_key = "fk_raw_events_integration_id_integrations"
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT {foreign_key} TO fk_{old}_integration")
    op.execute(f"ALTER INDEX ix_raw_events_integration_received RENAME TO ix_{old}_received")
    op.execute(f"ALTER INDEX ix_raw_events_request_id RENAME TO ix_{old}_request_id")


def _keys_and_indexes(primary_key: str) -> None:
    op.execute(f"ALTER TABLE raw_events ADD CONSTRAINT pk_raw_events PRIMARY KEY ({primary_key})")
    op.execute(
        "ALTER TABLE raw_events ADD CONSTRAINT fk_raw_events_integration_id_integrations "
        "FOREIGN KEY (integration_id) REFERENCES integrations (id) ON DELETE CASCADE"
    )
    op.create_index("ix_raw_events_integration_received", "raw_events", ["integration_id", "received_at"])
    op.create_index("ix_raw_events_request_id", "raw_events", ["request_id"])


def _take_rows(old: str) -> None:
    """`old`'s rows into the new raw_events, its id sequence with them, then `old` dropped."""
    op.execute(f"INSERT INTO raw_events ({COLUMNS}) SELECT {COLUMNS} FROM {old}")
    op.execute("ALTER SEQUENCE raw_events_id_seq OWNED BY raw_events.id")
    op.execute(f"DROP TABLE {old}")


def _upgrade_postgresql() -> None:
    _set_aside("raw_events_plain")
    op.execute(
        "CREATE TABLE raw_events (LIKE raw_events_plain INCLUDING DEFAULTS) PARTITION BY RANGE (received_at)"
    )
    _keys_and_indexes("id, received_at")
    op.execute("CREATE TABLE raw_events_default PARTITION OF raw_events DEFAULT")
    for month in _months(op.get_bind(), "raw_events_plain"):
        op.execute(
            f"CREATE TABLE raw_events_p{month.year:04d}{month.month:02d} PARTITION OF raw_events "
            f"FOR VALUES FROM ('{month} 00:00:00+00') TO ('{_next(month)} 00:00:00+00')"
        )
    _take_rows("raw_events_plain")


def _downgrade_postgresql() -> None:
    _set_aside("raw_events_parted")
    op.execute("CREATE TABLE raw_events (LIKE raw_events_parted INCLUDING DEFAULTS)")
    _keys_and_indexes("id")
    _take_rows("raw_events_parted")


def upgrade() -> None:
    with op.batch_alter_table("raw_events") as batch_op:
        batch_op.drop_constraint("uq_raw_events_request_id", type_="unique")
        batch_op.create_index("ix_raw_events_request_id", ["request_id"])
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    with op.batch_alter_table("raw_events") as batch_op:
        batch_op.drop_index("ix_raw_events_request_id")
        batch_op.create_unique_constraint("uq_raw_events_request_id", ["request_id"])
