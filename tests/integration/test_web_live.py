"""The live feed on both databases: changes written through any session reach a subscriber, and on
PostgreSQL a transaction that commits after a later id did is not missed (the out-of-order commit)."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.conftest import Api
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import SYSTEM
from warroom.timeline.service import append_event
from warroom.web.live import Change, LiveFeed

WAIT = 10.0


async def next_change(queue: asyncio.Queue[Change], wanted: Change) -> None:
    async with asyncio.timeout(WAIT):
        while (await queue.get()) != wanted:
            pass


async def declare(api: Api, title: str) -> int:
    response = await api.responder.post("/api/v1/incidents", json={"title": title, "severity": "P3"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_incident_and_alert_changes_reach_subscribers(api: Api) -> None:
    feed = LiveFeed(api.context.db, interval=0.05)
    try:
        async with feed.subscribe() as queue:
            await asyncio.sleep(0.2)  # the poller has read where the logs end
            incident_id = await declare(api, "first")
            await next_change(queue, Change("timeline", incident_id))
            await api.responder.post(f"/api/v1/incidents/INC-{incident_id}/updates", json={"body": "hi"})
            await next_change(queue, Change("timeline", incident_id))
            await api.admin.post("/api/v1/services", json={"slug": "db", "name": "DB"})
            integration = await api.admin.post(
                "/api/v1/integrations", json={"kind": "pagerduty", "service": "db"}
            )
            event = {
                "routing_key": integration.json()["key"],
                "event_action": "trigger",
                "payload": {"summary": "x", "source": "y", "severity": "error"},
            }
            assert (await api.anonymous.post("/v2/enqueue", json=event)).status_code == 202
            await next_change(queue, Change("alerts"))
    finally:
        await feed.stop()


async def test_a_late_commit_with_an_earlier_id_still_arrives(api: Api) -> None:
    if api.context.db.dialect != "postgresql":
        pytest.skip("SQLite admits one writer at a time, so ids always commit in order there")
    early, late = await declare(api, "early"), await declare(api, "late")
    db = api.context.db
    feed = LiveFeed(db, interval=0.05)
    try:
        async with feed.subscribe() as queue, db.write() as slow:
            await asyncio.sleep(0.2)
            incident = await get_incident(session=slow, ref=str(early), viewer=SYSTEM, for_update=True)
            await append_event(
                session=slow, incident=incident, at=api.clock.now(), actor="t", kind="note", data={}
            )
            async with db.write() as quick:  # takes the next id and commits first
                other = await get_incident(session=quick, ref=str(late), viewer=SYSTEM, for_update=True)
                await append_event(
                    session=quick, incident=other, at=api.clock.now(), actor="t", kind="note", data={}
                )
                await quick.commit()
            await next_change(queue, Change("timeline", late))
            await asyncio.sleep(0.3)  # the poller has moved past the uncommitted id
            await slow.commit()
            await next_change(queue, Change("timeline", early))
    finally:
        await feed.stop()
