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
from tests.integration.test_config_cache import statements
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
    """Written `sending` with its job claimed: no claim, and no transaction of the delivery's own before
    the send (paging.delivery's phase 1 reads the messages with their escalations' state)."""
    key = await setup(api, sink)
    sink.hang_seconds = 1.0  # long enough to look at the send in flight
    with statements(api) as seen:
        async with running_worker(api, NO_CLAIMS):
            await fire(api, key)

            async def in_flight() -> bool:
                return any(message.state == "sending" for _, message in await sends(api))

            await until(in_flight)
            ((job, message),) = await sends(api)
            # claimed when written (no claim could have taken it: the queue has no slots), first attempt
            assert (job.state, job.attempts, message.attempts) == ("running", 1, 1)
            assert job.locked_until == job.created_at + timedelta(seconds=DELIVERY_LEASE)

            async def sent() -> bool:
                return [(j.state, m.state) for j, m in await sends(api)] == [("done", "sent")]

            await until(sent)
    assert [r["path"] for r in sink.received] == ["/responder"]
    assert not [sql for sql in seen if "FROM outgoing_messages LEFT OUTER JOIN escalations" in sql]


async def test_a_message_due_later_is_queued_beside_one_handed_off(api: Api, sink: Sink) -> None:
    """One person, two rules: a webhook at once (handed off) and one after 2 minutes (queued, as ever)."""
    key = await setup(api, sink)
    for delay in (0, 120):
        hook = {"kind": "webhook", "address": f"{sink.url}/responder-{delay}"}
        method = await api.clients["responder"].post("/api/v1/me/contact-methods", json=hook)
        rule = {"contact_method": method.json()["id"], "delay_seconds": delay, "urgency": "high"}
        made = await api.clients["responder"].post("/api/v1/me/notification-rules", json=rule)
        assert made.status_code == 201, made.text
    async with running_worker(api, NO_CLAIMS):
        await fire(api, key)

        async def settled() -> bool:
            return [(j.state, m.state) for j, m in await sends(api)] == [
                ("done", "sent"),
                ("pending", "pending"),
            ]

        await until(settled)
        (_, now), (later_job, later) = await sends(api)
        assert later.due_at == now.due_at + timedelta(seconds=120) and later_job.run_at == later.due_at
        assert (later_job.attempts, later.attempts, later.deadline) == (0, 0, None)
    assert [r["path"] for r in sink.received] == ["/responder-0"]


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


async def test_a_queue_has_no_more_pages_handed_off_unfinished_than_its_claims_may_run(
    api: Api, sink: Sink
) -> None:
    """Slots times group (here one): a handed-off page is `sending` from the start, and one left waiting
    for a place past its deadline would be claimed and sent again. The second page, while the first is
    still being sent, is queued; once the first is done, the third is handed off."""
    key = await setup(api, sink)
    sink.hang_seconds = 5.0  # the first page's send, long enough to page again meanwhile
    async with running_worker(api, replace(NO_CLAIMS, group=1)):
        await fire(api, key, dedup="first")

        async def first_in_flight() -> bool:
            return [m.state for _, m in await sends(api)] == ["sending"]

        await until(first_in_flight)
        await fire(api, key, dedup="second")

        async def second_written() -> bool:
            return len(await sends(api)) == 2

        await until(second_written)
        (_, first), (job, second) = await sends(api)
        assert (first.state, job.state, job.attempts, second.state) == ("sending", "pending", 0, "pending")
        sink.hang_seconds = 0.0

        async def first_sent() -> bool:
            (_, message), *_ = await sends(api)
            return message.state == "sent"

        await until(first_sent)
        await fire(api, key, dedup="third")

        async def third_sent() -> bool:
            return [m.state for _, m in await sends(api)] == ["sent", "pending", "sent"]

        await until(third_sent)
    assert len(sink.received) == 2
