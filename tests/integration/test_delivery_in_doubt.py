"""What a crashed delivery worker can send twice (paging.delivery). A message found `sending` is in flight
on another claim or in doubt after a crash: it is not sent again before its deadline, and once after it,
however often its job is claimed meanwhile. And a batch never has more than RECORD_AHEAD sends out that
are not yet recorded as sent: those are all a worker killed at the worst moment would send again.

The crash is the state a SIGKILLed worker leaves behind, written as such: the message `sending` with its
deadline (committed before the send), the job `running` with a lease that has lapsed."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select, update

from tests.fakes.http import serving
from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from warroom.db import sync_url
from warroom.jobs.models import Job
from warroom.notify.models import OutgoingMessage
from warroom.notify.service import queue_to_address
from warroom.paging.delivery import RECORD_AHEAD
from warroom.wiring import DELIVERY_LEASE, new_worker

KEY = "doubt:1"
IN_DOUBT_AFTER = timedelta(seconds=30)  # two notify timeouts of 15 s, the default


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


async def queue_one(api: Api, sink: Sink) -> None:
    async with api.context.db.write() as session:
        await queue_to_address(
            session=session, channel="webhook", address=f"{sink.url}/hook", key=KEY,
            subject="in doubt", body="body", now=api.clock.now(),
        )  # fmt: skip
        await session.commit()


async def crashed_mid_send(api: Api, deadline: datetime) -> None:
    """What a worker killed between marking the message `sending` and recording its outcome leaves."""
    now = api.clock.now()
    async with api.context.db.write() as session:
        await session.execute(update(OutgoingMessage).values(state="sending", deadline=deadline, attempts=1))
        lapsed = now - timedelta(seconds=1)
        await session.execute(update(Job).values(state="running", attempts=1, locked_until=lapsed))
        await session.commit()


async def message_and_job(api: Api) -> tuple[OutgoingMessage, Job]:
    async with api.context.db.read() as session:
        message = (await session.scalars(select(OutgoingMessage))).one()
        job = (await session.scalars(select(Job).where(Job.kind == "notify.send"))).one()
    return message, job


def sent_keys(sink: Sink) -> Counter[str]:
    return Counter(record["headers"]["Idempotency-Key"] for record in sink.received)


async def test_a_message_in_flight_is_not_sent_again_before_its_deadline_and_once_after(
    api: Api, sink: Sink
) -> None:
    await queue_one(api, sink)
    deadline = api.clock.now() + IN_DOUBT_AFTER
    await crashed_mid_send(api, deadline)
    worker = new_worker(api.context, periodic=())

    assert await worker.run_once() == 1  # the lapsed job is claimed again ...
    assert sink.received == []  # ... and sends nothing while the first send may still land
    message, job = await message_and_job(api)
    assert (message.state, message.attempts) == ("sending", 1)
    assert (job.state, job.run_at, job.attempts) == ("pending", deadline, 1)  # no attempt spent
    assert "in flight" in (job.last_error or "")
    assert await worker.run_once() == 0  # not due again before the deadline

    api.clock.advance(IN_DOUBT_AFTER)  # in doubt now: sent once more
    assert await worker.run_once() == 1
    assert sent_keys(sink) == Counter({KEY: 1})
    message, job = await message_and_job(api)
    assert (message.state, message.attempts, job.state) == ("sent", 2, "done")


async def test_an_in_doubt_message_is_resent_once_however_often_its_job_is_claimed_meanwhile(
    api: Api, sink: Sink
) -> None:
    await queue_one(api, sink)
    await crashed_mid_send(api, api.clock.now() - timedelta(seconds=1))  # deadline passed: in doubt
    sink.hang_seconds = 2.0  # the re-send is slow to answer
    resending = asyncio.create_task(new_worker(api.context, periodic=()).run_once())
    while (await message_and_job(api))[0].attempts < 2:  # the re-send is committed as `sending`
        assert not resending.done(), resending
        await asyncio.sleep(0.02)
    await lapse_the_lease(api)  # meanwhile its claim's lease lapses
    assert await new_worker(api.context, periodic=()).run_once() == 1  # another claim of the job
    assert await asyncio.wait_for(resending, 30) == 1
    assert sent_keys(sink) == Counter({KEY: 1})  # sent once since the crash, not once per claim
    message, job = await message_and_job(api)
    assert (message.state, message.attempts, job.state) == ("sent", 2, "done")


async def lapse_the_lease(api: Api) -> None:
    async with api.context.db.write() as session:
        lapsed = api.clock.now() - timedelta(seconds=1)
        await session.execute(update(Job).where(Job.state == "running").values(locked_until=lapsed))
        await session.commit()


async def test_delivery_queues_are_leased_shorter_than_other_jobs(api: Api) -> None:
    worker = new_worker(api.context, periodic=())
    assert api.context.settings.job_lease_seconds == 120
    assert worker.lease_seconds("default") == 120 and worker.lease_seconds("chat.slack") == 120
    for queue in ("notify.webhook", "notify.email", "notify.apprise", "notify.log"):
        assert worker.lease_seconds(queue) == DELIVERY_LEASE == 30
    api.context.settings.job_lease_seconds = 8  # an operator's shorter lease wins everywhere
    assert worker.lease_seconds("notify.webhook") == worker.lease_seconds("default") == 8


class UnrecordedCounter:
    """A webhook receiver that, as each page arrives, counts the pages it has been sent that the database
    does not yet call `sent` (this one included): what a crash at that moment would send again."""

    def __init__(self, db_url: str) -> None:
        self.engine = sa.create_engine(sync_url(db_url))
        self.arrived = 0
        self.most_unrecorded = 0
        self.lock = threading.Lock()

    def arrival(self) -> None:
        with self.lock:
            self.arrived += 1
            with self.engine.connect() as conn:
                sent = conn.scalar(sa.text("SELECT count(*) FROM outgoing_messages WHERE state = 'sent'"))
            self.most_unrecorded = max(self.most_unrecorded, self.arrived - int(sent or 0))


async def test_a_queue_has_at_most_record_ahead_pages_out_that_are_not_recorded_as_sent(
    api: Api, db_url: str
) -> None:
    counter = UnrecordedCounter(db_url)

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            counter.arrival()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    # The worker's webhook loop claims them at once and runs them as four batches side by side (50, 50, 50,
    # 50): together, not each, they stay within RECORD_AHEAD.
    count = 200
    try:
        with serving(Receiver) as server:
            url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            async with api.context.db.write() as session:
                for number in range(count):
                    await queue_to_address(
                        session=session, channel="webhook", address=url, key=f"ahead:{number}",
                        subject="ahead", body="body", now=api.clock.now(),
                    )  # fmt: skip
                await session.commit()
            await run_until_all_sent(api, count)
    finally:
        counter.engine.dispose()
    assert counter.arrived == count
    assert 1 <= counter.most_unrecorded <= RECORD_AHEAD == 40


async def run_until_all_sent(api: Api, count: int) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(new_worker(api.context, periodic=(), poll_seconds=0.1).run_forever(stop))
    try:
        for _ in range(1200):  # up to 60 s
            async with api.context.db.read() as session:
                sent = await session.scalar(select(sa.func.count()).where(OutgoingMessage.state == "sent"))
            if sent == count or running.done():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)


async def test_receivers_that_hang_do_not_hold_up_the_other_sends_of_their_batch(
    api: Api, sink: Sink
) -> None:
    release = threading.Event()
    api.context.settings.notify_timeout_seconds = 60  # the hanging sends do not time out during the test

    class Hanging(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            release.wait(90)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    with serving(Hanging) as hanging:
        hang_url = f"http://127.0.0.1:{hanging.server_address[1]}/hook"
        addresses = [hang_url] * (RECORD_AHEAD + 2) + [f"{sink.url}/hook"] * 5  # the hanging ones go first
        async with api.context.db.write() as session:
            for number, address in enumerate(addresses):
                await queue_to_address(
                    session=session, channel="webhook", address=address, key=f"hang:{number}",
                    subject="hang", body="body", now=api.clock.now(),
                )  # fmt: skip
            await session.commit()
        # One claim takes them all (the hanging ones would hold a claim of fewer until they are answered).
        worker = new_worker(api.context, periodic=(), batch=len(addresses))
        running = asyncio.create_task(worker.run_once())
        try:
            for _ in range(400):  # up to 20 s, well inside the hanging ones' 60 s
                if len(sink.received) == 5 or running.done():
                    break
                await asyncio.sleep(0.05)
            arrived_while_hanging = len(sink.received)
        finally:
            release.set()
        await asyncio.wait_for(running, 60)
    assert arrived_while_hanging == 5
