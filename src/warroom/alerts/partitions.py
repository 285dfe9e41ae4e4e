"""Raw requests on PostgreSQL are a table partitioned by month of arrival (migration 0034), so retention drops
a whole month with one DROP TABLE instead of deleting millions of rows, and intake's inserts only touch the
current month's indexes. `raw_events_default` catches any row no month partition takes (a clock far off, a
worker stopped for months); when its month is created later, those rows move into it.

SQLite keeps one plain table (and the row-wise pruning in alerts.retention)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger("warroom.partitions")

PARENT = "raw_events"
DEFAULT = "raw_events_default"
MONTH_NAME = re.compile(r"^raw_events_p(\d{4})(\d{2})$")
MONTHS_AHEAD = 2


def is_partition(table_name: str) -> bool:
    """A partition of raw_events (not a table of the models: schema comparisons pass over it)."""
    return table_name == DEFAULT or MONTH_NAME.match(table_name) is not None


def month_of(at: datetime) -> date:
    at = at.astimezone(UTC)
    return date(at.year, at.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"raw_events_p{month.year:04d}{month.month:02d}"


def months_from(name: str) -> date | None:
    found = MONTH_NAME.match(name)
    return date(int(found.group(1)), int(found.group(2)), 1) if found else None


async def is_partitioned(session: AsyncSession) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    found = await session.scalar(
        text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:parent)"), {"parent": PARENT}
    )
    return found is not None


async def month_partitions(session: AsyncSession) -> dict[date, str]:
    rows = await session.execute(
        text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
             "WHERE i.inhparent = to_regclass(:parent)"),
        {"parent": PARENT},
    )  # fmt: skip
    found = {months_from(name): name for (name,) in rows}
    return {month: name for month, name in found.items() if month is not None}


async def create_month(session: AsyncSession, month: date) -> int:
    """The month's partition, with any rows of that month moved out of the default one; answers how many."""
    name, low, high = partition_name(month), month.isoformat(), next_month(month).isoformat()
    bounds = f"received_at >= '{low} 00:00:00+00' AND received_at < '{high} 00:00:00+00'"
    await session.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
    moved = await session.execute(
        text(f"WITH moved AS (DELETE FROM {DEFAULT} WHERE {bounds} RETURNING *) "
             f"INSERT INTO {name} SELECT * FROM moved")
    )  # fmt: skip
    await session.execute(
        text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
             f"FOR VALUES FROM ('{low} 00:00:00+00') TO ('{high} 00:00:00+00')")
    )  # fmt: skip
    return int(getattr(moved, "rowcount", 0) or 0)


async def ensure_months(session: AsyncSession, now: datetime, ahead: int = MONTHS_AHEAD) -> list[str]:
    """This month's partition and the next `ahead` months'; answers those it made."""
    existing = await month_partitions(session)
    made, month = [], month_of(now)
    for _ in range(ahead + 1):
        if month not in existing:
            moved = await create_month(session, month)
            made.append(partition_name(month))
            log.info("raw_events partition created", partition=partition_name(month), moved=moved)
        month = next_month(month)
    return made


async def drop_expired_months(session: AsyncSession, cutoff: datetime) -> list[str]:
    """Every month partition whose whole month is older than `cutoff`, dropped; answers their names."""
    dropped = []
    for month, name in sorted((await month_partitions(session)).items()):
        if datetime(next_month(month).year, next_month(month).month, 1, tzinfo=UTC) <= cutoff:
            await session.execute(text(f"DROP TABLE {name}"))
            dropped.append(name)
    return dropped
