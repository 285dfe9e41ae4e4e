"""Raw intake requests are kept for WARROOM_RAW_EVENT_RETENTION_DAYS (issue #20), on both databases: the
worker's periodic check deletes older ones in batches, oldest first; the alerts derived from them stay;
0 keeps everything."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.integration.conftest import Api
from tests.integration.test_intake import alerts, integration, pd_event
from warroom.alerts.models import RawEvent
from warroom.alerts.retention import prune_raw_events
from warroom.wiring import RawEventRetention


async def raw_count(api: Api) -> int:
    async with api.context.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(RawEvent)) or 0)


async def test_old_raw_requests_go_and_their_alerts_stay(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    api.clock.advance(timedelta(days=-40))
    for n in range(5):  # forty days ago
        assert (
            await api.anonymous.post("/v2/enqueue", json=pd_event(key, dedup=f"old-{n}"))
        ).status_code == 202
    api.clock.advance(timedelta(days=39))
    for n in range(3):  # yesterday
        assert (
            await api.anonymous.post("/v2/enqueue", json=pd_event(key, dedup=f"new-{n}"))
        ).status_code == 202
    api.clock.advance(timedelta(days=1))
    assert await raw_count(api) == 8

    api.context.settings.raw_event_retention_days = 0  # keep forever
    await RawEventRetention().run(api.context, api.clock.now())
    assert await raw_count(api) == 8
    api.context.settings.raw_event_retention_days = 30
    async with api.context.db.write() as session:  # in batches: two of the five, then the rest
        assert await prune_raw_events(session, api.clock.now() - timedelta(days=30), batch=2) == (2, True)
        await session.commit()
    await RawEventRetention().run(api.context, api.clock.now())
    assert await raw_count(api) == 3
    assert len(await alerts(api, limit=100)) == 8  # the alerts themselves are kept
