"""Groups of plain triggers are stored on the intake writer's own thread and connection
(alerts/intake/threaded.py); every other group through the async domain code. Either way a group must
store the same rows, wake the workers for the triage jobs it queued, and leave nothing behind if it fails."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import psycopg
import pytest
from sqlalchemy import String, Table, select
from sqlalchemy import cast as sql_cast

from tests.integration.conftest import Api
from tests.integration.test_intake_setwise import _made, _plain, _state, _work
from warroom.alerts.domain import Lookup
from warroom.alerts.intake.derive import only_triggers
from warroom.alerts.intake.store import apply_works
from warroom.alerts.intake.threaded import ThreadedGroups
from warroom.alerts.intake.work import IntakeWork
from warroom.alerts.intake.writer import IntakeWriter
from warroom.alerts.models import Alert, AlertEvent, RawEvent
from warroom.db import libpq_url
from warroom.jobs.models import Job
from warroom.jobs.service import NOTIFY_CHANNEL, notified_queue, notify_payload, wake_here

# Requests of triggers only: keys repeated within and across requests, and two without a key.
TRIGGERS: list[list[tuple[str, str | None, str | None]]] = [
    [("trigger", "a", None), ("trigger", "b", None), ("trigger", "a", None)],
    [("trigger", "c", None)],
    [("trigger", None, None), ("trigger", "b", None), ("trigger", None, None)],
    [("trigger", "a", None)],
]


def _works(api: Api, integration: tuple[int, int], prefix: str) -> list[IntakeWork]:
    return [
        dataclasses.replace(_work(api, integration, number, events), request_id=f"{prefix}-{number}")
        for number, events in enumerate(TRIGGERS)
    ]


async def _rows_as_text(api: Api, integration_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """What the group wrote besides the alerts, every column as the database holds it, ids left out."""

    def text_of(model: Any, *skip: str) -> list[Any]:
        table = model.__table__
        assert isinstance(table, Table)
        return [sql_cast(c, String) for c in table.columns if not c.primary_key and c.name not in skip]

    ours = Alert.integration_id == integration_id
    queries = {
        "raw": select(*text_of(RawEvent, "request_id", "integration_id", "result"))
        .where(RawEvent.integration_id == integration_id)
        .order_by(RawEvent.id),
        # in the order written: without ORDER BY, PostgreSQL returns them in the heap's order, which varies
        "events": select(*text_of(AlertEvent, "alert_id", "request_id"))
        .join(Alert)
        .where(ours)
        .order_by(AlertEvent.id),
        "jobs": select(*text_of(Job, "payload", "idempotency_key"))
        .where(
            Job.kind == "alert.triage", Job.payload["alert_id"].as_integer().in_(select(Alert.id).where(ours))
        )
        .order_by(Job.id),
    }
    async with api.context.db.read() as session:
        return {name: [tuple(row) for row in await session.execute(query)] for name, query in queries.items()}


async def test_a_trigger_group_on_the_writer_thread_stores_what_the_async_way_stores(api: Api) -> None:
    threaded = ThreadedGroups.for_engine(api.context.db.engine)
    assert threaded is not None
    by_async, by_thread = await _made(api), await _made(api)
    async with api.context.db.write() as session:
        expected = await apply_works(session=session, works=_works(api, by_async, "async"))
        await session.commit()
    try:
        got, queues, _ = await threaded.store(_works(api, by_thread, "thread"))
    finally:
        await threaded.close()
    assert _plain(got) == _plain(expected)
    assert [o.outcome for o in got[0]] == ["created", "created", "updated"]
    assert queues == {"default"}
    assert await _state(api, by_thread[0]) == await _state(api, by_async[0])
    written = await _rows_as_text(api, by_thread[0])
    assert written == await _rows_as_text(api, by_async[0])
    assert (len(written["raw"]), len(written["events"]), len(written["jobs"])) == (4, 8, 4)


def test_only_requests_that_only_trigger_go_to_the_thread(api: Api) -> None:
    integration = (1, 1)
    assert only_triggers(_work(api, integration, 0, TRIGGERS[0]))
    acknowledged = _work(api, integration, 1, [("trigger", "a", None), ("acknowledge", "a", "ann")])
    assert not only_triggers(acknowledged)
    looked_up = dataclasses.replace(_work(api, integration, 2, TRIGGERS[1]), lookup=Lookup("a", "alias"))
    assert not only_triggers(looked_up)
    changed = dataclasses.replace(_work(api, integration, 3, TRIGGERS[1]), change={"summary": "deploy"})
    assert not only_triggers(changed)


async def test_the_writer_thread_wakes_this_process_and_every_worker_for_its_jobs(api: Api) -> None:
    integration = await _made(api)
    woken: list[str] = []
    forget = wake_here(woken.append)
    listener = None
    if api.context.db.dialect == "postgresql":
        listener = psycopg.connect(libpq_url(api.context.db.engine.url))
        listener.autocommit = True
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
    writer = IntakeWriter(api.context.db)
    try:
        await writer.submit(_works(api, integration, "woken")[0])
        if listener is not None:
            notified = [n.payload for n in listener.notifies(timeout=30, stop_after=1)]
            # the queue and this process: its own worker loops were woken at commit, so they skip the echo
            assert notified == [notify_payload("default")]
            assert notified_queue(notified[0]) is None
    finally:
        forget()
        await writer.stop()
        if listener is not None:
            listener.close()
    assert woken == ["default"]


async def test_a_failed_group_leaves_nothing_and_each_request_is_retried_alone(api: Api) -> None:
    integration = await _made(api)
    good, second = _works(api, integration, "good")[:2]
    missing = dataclasses.replace(second, integration_id=10**9, request_id="orphan")  # no such integration
    threaded = ThreadedGroups.for_engine(api.context.db.engine)
    assert threaded is not None
    try:
        with pytest.raises(Exception, match=r"(?i)foreign key"):
            await threaded.store([good, missing])
        assert await _rows_as_text(api, integration[0]) == {"raw": [], "events": [], "jobs": []}
        (outcomes,), _, _ = await threaded.store([good])  # the same connection, after its rollback
        assert [o.outcome for o in outcomes] == ["created", "created", "updated"]
    finally:
        await threaded.close()
    writer = IntakeWriter(api.context.db)
    try:
        again = dataclasses.replace(good, request_id="again")
        results = await asyncio.gather(writer.submit(again), writer.submit(missing), return_exceptions=True)
    finally:
        await writer.stop()
    assert [o.outcome for o in results[0]] == ["updated", "updated", "updated"]  # type: ignore[union-attr]
    assert isinstance(results[1], Exception) and "foreign key" in str(results[1]).lower()
    async with api.context.db.read() as session:
        stored = list(await session.scalars(select(RawEvent.request_id).order_by(RawEvent.id)))
    assert "orphan" not in stored and stored[-2:] == ["good-0", "again"]
