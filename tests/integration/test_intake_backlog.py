"""A flooding integration's requests are stored, answered `queued`, and derived afterwards
(alerts/intake/backlog.py): in arrival order, never twice, never ahead of a later request of the same
integration, not holding up another integration, and what a crash leaves is derived by the next writer."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from typing import Any

import psycopg
import pytest
import sqlalchemy.exc
from sqlalchemy import func, select, text

from tests.integration.conftest import Api
from tests.integration.test_intake import integration, pd_event
from warroom.alerts.intake import pagerduty
from warroom.alerts.intake.backlog import ADVISORY_LOCK
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.flood import DEFAULT_QUEUE, FLOOD_QUEUE, FloodMeter
from warroom.alerts.intake.work import IntakeWork
from warroom.alerts.intake.writer import IntakeWriter
from warroom.alerts.models import Alert, AlertEvent, IntakeBacklog, Integration, RawEvent
from warroom.jobs.models import Job

DEADLINE_SECONDS = 120.0  # generous: a busy machine slows the writer many times over
# What storing a row the database refuses raises, by the path that stored it (driver or SQLAlchemy)
REFUSED = (sqlite3.IntegrityError, psycopg.IntegrityError, sqlalchemy.exc.IntegrityError)


async def _made(api: Api) -> tuple[int, int, str]:
    """A PagerDuty integration: its id, its service's and its key."""
    made = await integration(api, "pagerduty", rate_limit_per_minute=1_000_000)
    async with api.context.db.read() as session:
        service = await session.scalar(select(Integration.service_id).where(Integration.id == made["id"]))
    return made["id"], int(service or 0), made["key"]


def _pd(api: Api, made: tuple[int, int, str], number: int, action: str, dedup: str) -> IntakeWork:
    """The work intake hands its writer for one PagerDuty event (a real body, so it can be derived later)."""
    integration_id, service_id, key = made
    body = json.dumps(pd_event(key, action, dedup)).encode()
    now = api.clock.now()
    event = pagerduty.parse_event(IntakeRequest(body, "application/json", now))
    return IntakeWork(
        integration_id=integration_id,
        service_id=service_id,
        request_id=f"{integration_id}-{number}",
        received_at=now,
        content_type="application/json",
        headers={},
        body=body,
        route={"kind": "pagerduty", "op": "enqueue"},
        events=[event],
    )


async def _scalar(api: Api, query: Any) -> Any:
    async with api.context.db.read() as session:
        return await session.scalar(query)


async def _backlog(api: Api) -> int:
    return int(await _scalar(api, select(func.count()).select_from(IntakeBacklog)))


async def _drained(api: Api) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while await _backlog(api):
        assert time.monotonic() < deadline, "the intake backlog was not derived in time"
        await asyncio.sleep(0.02)


async def _alerts(api: Api, integration_id: int) -> dict[str, tuple[str, int]]:
    query = select(Alert.dedup_key, Alert.status, Alert.count).where(Alert.integration_id == integration_id)
    async with api.context.db.read() as session:
        return {key: (status, count) for key, status, count in await session.execute(query)}


async def _results(api: Api, integration_id: int) -> list[str]:
    """Each stored request's outcome, or why it was refused, in arrival order."""
    query = select(RawEvent.result).where(RawEvent.integration_id == integration_id).order_by(RawEvent.id)
    async with api.context.db.read() as session:
        return [
            result["events"][0]["outcome"] if result["events"] else f"refused: {result['refused']}"
            for result in await session.scalars(query)
        ]


async def _own_writer(api: Api, limit: int) -> IntakeWriter:
    """A writer of the test's own, the app's stopped (so nothing derives but what the test asks)."""
    assert api.context.intake is not None
    await api.context.intake.writer.stop()
    return IntakeWriter(api.context.db, defer=FloodMeter(limit=limit))


async def test_past_the_meter_requests_are_answered_queued_and_derived_after(api: Api) -> None:
    assert api.context.intake is not None
    api.context.intake.writer.defer = FloodMeter(limit=2)
    integration_id, _, key = await _made(api)
    answers = [
        (await api.anonymous.post("/v2/enqueue", json=pd_event(key, dedup=f"k{n}"))).json() for n in range(5)
    ]
    # The answer is PagerDuty's either way, with the key it will be derived under.
    assert answers == [
        {"status": "success", "message": "Event processed", "dedup_key": f"k{n}"} for n in range(5)
    ]
    await _drained(api)
    assert await _alerts(api, integration_id) == {f"k{n}": ("triggered", 1) for n in range(5)}
    assert await _results(api, integration_id) == ["created"] * 5  # the queued ones' results filled in
    queues = select(Job.queue).where(Job.kind == "alert.triage").order_by(Job.id)
    async with api.context.db.read() as session:
        assert list(await session.scalars(queues)) == [DEFAULT_QUEUE] * 2 + [FLOOD_QUEUE] * 3


async def test_a_webhook_answer_says_queued_and_opsgenie_status_waits_for_deriving(api: Api) -> None:
    writer = await _own_writer(api, limit=0)
    assert api.context.intake is not None
    api.context.intake.writer = writer
    genie = await integration(api, "opsgenie", rate_limit_per_minute=1_000_000)
    headers = {"Authorization": f"GenieKey {genie['key']}"}
    created = await api.anonymous.post(
        "/v2/alerts", json={"message": "Disk full", "alias": "d1"}, headers=headers
    )
    assert created.status_code == 202
    request_id = created.json()["requestId"]
    status = f"/v2/alerts/requests/{request_id}"
    # Opsgenie's own answer for a request not processed yet, until the backlog is derived.
    assert (await api.anonymous.get(status, headers=headers)).status_code == 404
    hook = await integration(api, "webhook", rate_limit_per_minute=1_000_000)
    answer = await api.anonymous.post(
        f"/intake/webhook/{hook['key']}", json={"title": "Queue full", "id": "q1"}
    )
    assert answer.status_code == 202
    (event,) = answer.json()["events"]
    assert event == {
        "action": "trigger",
        "outcome": "queued",
        "dedup_key": "q1",
        "alert_id": None,
        "alert_uid": None,
    }
    await _drained(api)
    done = await api.anonymous.get(status, headers=headers)
    assert done.status_code == 200 and done.json()["data"]["status"] == "created alert"
    await writer.stop()


async def test_a_backlogged_integrations_later_requests_wait_their_turn(api: Api) -> None:
    writer = await _own_writer(api, limit=1)
    noisy, quiet = await _made(api), await _made(api)
    over = [writer.defer.over(noisy[0], api.clock.now()) for _ in range(2)]
    assert over == [False, True]
    # Plain triggers go by the writer's thread (file databases); an acknowledge sends its group the async
    # way: both must keep a backlogged integration's requests behind its backlog.
    first = await writer._store(
        [_pd(api, noisy, 0, "trigger", "a"), _pd(api, noisy, 1, "trigger", "b")], over
    )
    assert [o.outcome for (o,) in first] == ["created", "queued"]
    later = [
        _pd(api, noisy, 2, "acknowledge", "a"),  # not past the meter, but its integration has a backlog
        _pd(api, noisy, 3, "resolve", "b"),  # must not overtake the trigger of b
        _pd(api, quiet, 4, "trigger", "c"),  # another integration: derived at once
    ]
    second = await writer._store(later, [False, False, False])
    assert [o.outcome for (o,) in second] == ["queued", "queued", "created"]
    assert await _alerts(api, noisy[0]) == {"a": ("triggered", 1)}
    assert await _alerts(api, quiet[0]) == {"c": ("triggered", 1)}
    writer.start()
    await _drained(api)
    await writer.stop()
    assert await _alerts(api, noisy[0]) == {"a": ("acknowledged", 1), "b": ("resolved", 1)}
    assert await _results(api, noisy[0]) == ["created", "created", "acknowledged", "resolved"]


async def test_what_a_crash_leaves_in_the_backlog_the_next_writer_derives_once(api: Api) -> None:
    """Two writers start on one backlog (two server processes after a restart): each request is derived
    once, in order, and one the adapter refuses now is taken off with why."""
    crashed = await _own_writer(api, limit=0)
    made = await _made(api)
    works = [_pd(api, made, n, "trigger", f"k{n % 150}") for n in range(300)]  # each key twice
    refused = _pd(api, made, 300, "trigger", "bad")
    refused.body = b'{"routing_key": "x"}'  # a body its adapter refuses (no event_action)
    await crashed._store([*works, refused], [True] * 301)
    await crashed.stop()  # the crash: nothing was derived
    assert await _backlog(api) == 301
    assert await _alerts(api, made[0]) == {}
    writers = [IntakeWriter(api.context.db), IntakeWriter(api.context.db)]
    for writer in writers:
        writer.start()
    await _drained(api)
    for writer in writers:
        await writer.stop()
    assert await _alerts(api, made[0]) == {f"k{n}": ("triggered", 2) for n in range(150)}
    events = select(func.count()).select_from(AlertEvent).join(Alert).where(Alert.integration_id == made[0])
    assert await _scalar(api, events) == 300
    results = await _results(api, made[0])
    assert results[:300] == ["created"] * 150 + ["updated"] * 150
    assert results[300].startswith("refused")


async def _lock_waits(api: Api) -> int:
    """Sessions of this database waiting for a row lock (PostgreSQL)."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(await _scalar(api, waiting))


async def test_on_postgresql_a_backlog_pass_holds_no_intake_group_up(api: Api) -> None:
    """The deriver has a task, thread and connection of its own there: while a pass waits, another
    integration's request is stored and answered (before, it waited for the pass to end)."""
    if api.context.db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite admits one writer: passes run between the writer's groups there")
    writer = await _own_writer(api, limit=0)
    noisy, quiet = await _made(api), await _made(api)
    await writer._store([_pd(api, noisy, n, "trigger", f"k{n}") for n in range(3)], [True] * 3)
    writer.defer = FloodMeter(limit=1_000_000)
    async with api.context.db.engine.connect() as holder:
        await holder.execute(text("SELECT id FROM intake_backlog FOR UPDATE"))  # the pass will wait on it
        writer.start()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not await _lock_waits(api):
            assert time.monotonic() < deadline, "the backlog pass never reached the locked rows"
            await asyncio.sleep(0.02)
        (outcome,) = await asyncio.wait_for(
            writer.submit(_pd(api, quiet, 0, "trigger", "q")), DEADLINE_SECONDS
        )
        assert outcome.outcome == "created"
        assert await _backlog(api) == 3 and await _alerts(api, noisy[0]) == {}  # the pass still waits
        await holder.rollback()
    await _drained(api)
    await writer.stop()
    assert await _alerts(api, noisy[0]) == {f"k{n}": ("triggered", 1) for n in range(3)}


async def test_on_postgresql_a_deriver_another_process_locks_out_waits_before_asking_again(api: Api) -> None:
    """One deriver at a time across processes (an advisory lock); the others do not ask at every group that
    joins the backlog (each ask is two statements), but after LOCKED_OUT_SECONDS."""
    if api.context.db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer process: no other process derives")
    writer = await _own_writer(api, limit=0)
    made = await _made(api)
    await writer._store([_pd(api, made, 0, "trigger", "k0")], [True])
    lock = {"key": ADVISORY_LOCK}
    async with api.context.db.engine.connect() as other:  # another process's deriver, mid-pass
        await other.execute(text("SELECT pg_advisory_lock(:key)"), lock)
        await writer.deriver.run_pass()
        assert await _backlog(api) == 1  # not taken: the lock is the other's
        writer.deriver.joined()
        assert not writer.deriver.due()
        await other.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not writer.deriver.due():
        assert time.monotonic() < deadline, "the deriver never asked again"
        await asyncio.sleep(0.05)
    await writer.deriver.run_pass()
    assert await _backlog(api) == 0 and await _alerts(api, made[0]) == {"k0": ("triggered", 1)}
    await writer.stop()


async def test_a_queued_group_the_database_refuses_leaves_the_next_group_stored(api: Api) -> None:
    """A group that only joins the backlog (on PostgreSQL written from the event loop, queued.py): one the
    database refuses (its integration is gone) raises, and the writer's next group is stored on the same
    connection (each group here as the writer stores it, without its retry one by one)."""
    writer = await _own_writer(api, limit=0)
    made = await _made(api)
    gone = (made[0] + 1_000_000, made[1], made[2])
    with pytest.raises(REFUSED):
        await writer._store([_pd(api, gone, 0, "trigger", "g0")], [True])
    (outcomes,) = await writer._store([_pd(api, made, 1, "trigger", "k1")], [True])
    assert [outcome.outcome for outcome in outcomes] == ["queued"]
    if api.context.db.engine.dialect.name == "postgresql":  # neither group went through the writer's thread
        assert writer._threaded is not None and writer._threaded._connection is None
    writer.start()
    await _drained(api)
    await writer.stop()
    assert await _alerts(api, made[0]) == {"k1": ("triggered", 1)}
    assert await _results(api, made[0]) == ["created"]


async def _until_a_lock_wait(api: Api) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await _lock_waits(api):
        assert time.monotonic() < deadline, "the writer never reached the locked table"
        await asyncio.sleep(0.02)


async def test_on_postgresql_a_quiet_integration_is_not_held_behind_a_flood_group_in_flight(api: Api) -> None:
    """A flood's requests have a lane of their own there (writer.py): while a flood's group waits on the
    database, another integration's request is stored and answered, and the flooding integration's next
    request, though under the meter now, waits behind its flood (before, the quiet request waited too)."""
    if api.context.db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite admits one writer: one lane")
    writer = await _own_writer(api, limit=0)  # every request past the meter
    noisy, quiet = await _made(api), await _made(api)
    async with api.context.db.engine.connect() as holder:
        await holder.execute(text("LOCK TABLE intake_backlog IN SHARE MODE"))  # the flood's group waits on it
        flood = asyncio.ensure_future(writer.submit(_pd(api, noisy, 0, "trigger", "a")))
        await _until_a_lock_wait(api)
        writer.defer = FloodMeter(limit=1_000_000)  # from here on no request is past the meter
        later = asyncio.ensure_future(writer.submit(_pd(api, noisy, 1, "resolve", "a")))
        (outcome,) = await asyncio.wait_for(
            writer.submit(_pd(api, quiet, 0, "trigger", "q")), DEADLINE_SECONDS
        )
        assert outcome.outcome == "created"
        assert not flood.done() and not later.done()
        await holder.rollback()
    assert [o.outcome for o in await flood] == ["queued"]
    assert [o.outcome for o in await later] == ["queued"]  # it joined the backlog behind its flood
    await _drained(api)
    await writer.stop()
    assert await _alerts(api, noisy[0]) == {"a": ("resolved", 1)}
    assert await _results(api, noisy[0]) == ["created", "resolved"]


async def test_a_request_past_the_meter_waits_for_its_integrations_requests_inline(api: Api) -> None:
    """An integration's requests in flight are all in one lane: one that goes past the meter while an
    earlier one is still being stored the inline way is held until that one is stored, then joins the
    backlog behind it (it would otherwise commit first, from the flood's lane)."""
    if api.context.db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite admits one writer: one lane")
    writer = await _own_writer(api, limit=1_000_000)
    made = await _made(api)
    async with api.context.db.engine.connect() as holder:
        await holder.execute(text("LOCK TABLE alerts IN SHARE MODE"))  # the inline group waits on it
        first = asyncio.ensure_future(writer.submit(_pd(api, made, 0, "trigger", "a")))
        await _until_a_lock_wait(api)
        writer.defer = FloodMeter(limit=0)  # from here on every request is past the meter
        second = asyncio.ensure_future(writer.submit(_pd(api, made, 1, "resolve", "a")))
        await asyncio.sleep(0.5)  # (time for a wrong lane to store it; the checks below hold either way)
        assert not first.done() and not second.done()
        assert await _backlog(api) == 0
        await holder.rollback()
    assert [o.outcome for o in await first] == ["created"]
    assert [o.outcome for o in await second] == ["queued"]
    await _drained(api)
    await writer.stop()
    assert await _alerts(api, made[0]) == {"a": ("resolved", 1)}
    assert await _results(api, made[0]) == ["created", "resolved"]
