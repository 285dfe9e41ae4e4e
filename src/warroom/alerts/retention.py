"""How long raw requests are kept: the request bodies behind alerts (for replay and the alert page) are
deleted once older than the retention, oldest first, in small batches, so pruning never holds the intake
writer's turn for long. Alerts and their events stay; only the bytes they were derived from go."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

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
