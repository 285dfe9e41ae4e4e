"""Raw intake requests are kept for WARROOM_RAW_EVENT_RETENTION_DAYS (issue #20), on both databases: the
worker's periodic check deletes older ones in batches, oldest first; the alerts derived from them stay;
0 keeps everything."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from tests.integration.conftest import Api
from tests.integration.test_intake import alerts, integration, pd_event
from warroom.alerts.models import RawEvent
from warroom.alerts.partitions import is_partitioned, month_partitions
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


async def tables_holding_raw_requests(api: Api) -> dict[str, int]:
    """PostgreSQL: which partition holds how many raw requests."""
    async with api.context.db.read() as session:
        rows = await session.execute(
            text("SELECT tableoid::regclass::text, count(*) FROM raw_events GROUP BY 1")
        )
        return {name: count for name, count in rows.all()}


async def test_whole_months_go_at_once_on_postgresql(api: Api) -> None:
    """On PostgreSQL raw requests sit in month partitions: the worker makes the months ahead (moving any
    rows the default partition caught meanwhile) and drops months wholly past the retention. SQLite, one
    table, gets the same answer row by row."""
    key = (await integration(api, "pagerduty"))["key"]
    for n in range(2):  # March 2026
        assert (
            await api.anonymous.post("/v2/enqueue", json=pd_event(key, dedup=f"march-{n}"))
        ).status_code == 202
    api.clock.advance(timedelta(days=200))  # September 2026
    assert (await api.anonymous.post("/v2/enqueue", json=pd_event(key, dedup="september"))).status_code == 202
    api.context.settings.raw_event_retention_days = 30
    await RawEventRetention().run(api.context, api.clock.now())
    assert await raw_count(api) == 1
    assert len(await alerts(api, limit=100)) == 3
    async with api.context.db.read() as session:
        partitioned = await is_partitioned(session)
        months = sorted((await month_partitions(session)).values()) if partitioned else []
    assert partitioned == (api.context.db.dialect == "postgresql")
    if partitioned:
        assert await tables_holding_raw_requests(api) == {"raw_events_p202609": 1}
        assert {"raw_events_p202609", "raw_events_p202610", "raw_events_p202611"} <= set(months)
        assert not [name for name in months if name < "raw_events_p202608"], months  # dropped whole
        api.clock.advance(timedelta(days=1))
        ping = await api.anonymous.post("/v2/enqueue", json=pd_event(key, dedup="september-2"))
        assert ping.status_code == 202
        assert await tables_holding_raw_requests(api) == {"raw_events_p202609": 2}
