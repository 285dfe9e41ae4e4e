"""A page due at once is handed off (jobs.kinds.HandOff): the transaction that queues it (a triage running
an alert's first step, or an escalation step) writes its `notify.send` job already claimed by this worker,
which sends it as soon as that transaction commits instead of waiting on the channel's queue for a wake and
a claim. The queue's rate still counts it. Both databases.

The channel's queue here has no slots, so its loop never claims: whatever it delivers was handed off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from tests.integration.test_paging import fire, setup
from warroom.jobs.models import Job
from warroom.jobs.queues import QueueLimits
from warroom.notify.models import OutgoingMessage
from warroom.wiring import DELIVERY_LEASE, QUEUES, new_worker

NO_CLAIMS = replace(QUEUES["notify.webhook"], slots=0)
DEADLINE = 30.0  # seconds: generous, for a busy machine; each wait ends as soon as its condition holds


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


@asynccontextmanager
async def running_worker(api: Api, webhooks: QueueLimits) -> AsyncIterator[None]:
    worker = new_worker(api.context, periodic=(), queues={**QUEUES, "notify.webhook": webhooks})
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, DEADLINE)


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(DEADLINE):
        while True:  # the database is polled: nothing in this process signals the change
            if await check():
                return
            await asyncio.sleep(0.02)


async def sends(api: Api) -> list[tuple[Job, OutgoingMessage]]:
    async with api.context.db.read() as session:
        rows = await session.execute(
            select(Job, OutgoingMessage)
            .join(OutgoingMessage, Job.idempotency_key == "send:" + OutgoingMessage.idempotency_key)
            .order_by(Job.id)
        )
        return [(job, message) for job, message in rows.all()]


async def test_a_page_due_at_once_goes_out_claimed_by_the_transaction_that_queued_it(
    api: Api, sink: Sink
) -> None:
    key = await setup(api, sink)
    sink.hang_seconds = 1.0  # long enough to look at the send in flight
    async with running_worker(api, NO_CLAIMS):
        await fire(api, key)

        async def in_flight() -> bool:
            return any(message.state == "sending" for _, message in await sends(api))

        await until(in_flight)
        ((job, message),) = await sends(api)
        # claimed when it was written (no claim could have taken it: the queue has no slots), first attempt
        assert (job.state, job.attempts, message.attempts) == ("running", 1, 1)
        assert job.locked_until == job.created_at + timedelta(seconds=DELIVERY_LEASE)

        async def sent() -> bool:
            return [(j.state, m.state) for j, m in await sends(api)] == [("done", "sent")]

        await until(sent)
    assert [r["path"] for r in sink.received] == ["/responder"]


async def test_a_hand_off_takes_its_place_in_the_queues_rate(api: Api, sink: Sink) -> None:
    """At one a minute, the first alert's page uses the minute's one send: the second's is queued (and
    this queue never claims, so it stays so), not handed off past the rate."""
    key = await setup(api, sink)
    async with running_worker(api, replace(NO_CLAIMS, per_minute=1)):
        await fire(api, key, dedup="first")

        async def first_sent() -> bool:
            return [(j.state, m.state) for j, m in await sends(api)] == [("done", "sent")]

        await until(first_sent)
        await fire(api, key, dedup="second")

        async def second_queued() -> bool:
            return len(await sends(api)) == 2

        await until(second_queued)
        (_, _), (job, message) = await sends(api)
        assert (job.state, job.attempts, message.state) == ("pending", 0, "pending")
    assert [r["path"] for r in sink.received] == ["/responder"]
