"""How long raw requests are kept: the request bodies behind alerts (for replay and the alert page) are
deleted once older than the retention, oldest first, in small batches, so pruning never holds the intake
writer's turn for long; on PostgreSQL whole months go first, as partitions. Alerts and their events stay;
only the bytes they were derived from go."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts import partitions
from warroom.alerts.models import RawEvent

BATCH = 2_000


async def prune_raw_events(session: AsyncSession, cutoff: datetime, batch: int = BATCH) -> tuple[int, bool]:
    """Delete up to `batch` raw events received before `cutoff`; answers (deleted, more may be left).

    Walks from the lowest id (the primary key's index; ids grow with arrival), so no index on the
    arrival time is needed however large the table grows."""
    oldest = (
        await session.execute(select(RawEvent.id, RawEvent.received_at).order_by(RawEvent.id).limit(batch))
    ).all()
    doomed = [row_id for row_id, received_at in oldest if received_at < cutoff]
    if doomed:
        await session.execute(delete(RawEvent).where(RawEvent.id.in_(doomed)))
    return len(doomed), len(doomed) == batch


async def keep_months(session: AsyncSession, now: datetime, retention_days: int) -> None:
    """PostgreSQL's month partitions (alerts.partitions): this month's and the next ones made, and with a
    retention, every month wholly older than it dropped at once. One worker at a time (an advisory lock)."""
    if not await partitions.is_partitioned(session):
        return
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('warroom.raw_events_partitions'))"))
    await partitions.ensure_months(session, now)
    if retention_days:
        await partitions.drop_expired_months(session, now - timedelta(days=retention_days))
