"""Deliveries run a claimed batch at a time (paging.delivery): one receiver failing costs only its own
message a retry, every other message of the batch is sent once; and the queue's rate limit still holds."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from warroom.jobs.domain import backoff
from warroom.jobs.models import Job
from warroom.notify.models import OutgoingMessage
from warroom.notify.service import queue_to_address
from warroom.wiring import new_worker


@pytest.fixture
def sinks() -> Iterator[tuple[Sink, Sink]]:
    with running_sink() as good, running_sink() as bad:
        yield good, bad


async def queue(api: Api, addresses: list[str]) -> None:
    async with api.context.db.write() as session:
        for number, address in enumerate(addresses):
            await queue_to_address(
                session=session, channel="webhook", address=address, key=f"batch:{number}",
                subject=f"message {number}", body="body", now=api.clock.now(),
            )  # fmt: skip
        await session.commit()


async def states(api: Api) -> tuple[dict[str, tuple[str, int, str | None]], Counter[str]]:
    """Each message's (state, attempts, last error) by key, and the notify.send jobs' states."""
    async with api.context.db.read() as session:
        messages = (await session.scalars(select(OutgoingMessage))).all()
        jobs = (await session.scalars(select(Job).where(Job.kind == "notify.send"))).all()
    by_key = {m.idempotency_key: (m.state, m.attempts, m.last_error) for m in messages}
    return by_key, Counter(job.state for job in jobs)


def keys(sink: Sink) -> Counter[str]:
    return Counter(record["headers"]["Idempotency-Key"] for record in sink.received)


async def test_one_failing_receiver_fails_alone_and_the_rest_are_sent_once(
    api: Api, sinks: tuple[Sink, Sink]
) -> None:
    good, bad = sinks
    bad.status = 500
    await queue(api, [f"{good.url}/ok"] * 4 + [f"{bad.url}/down"] + [f"{good.url}/ok"])
    worker = new_worker(api.context, periodic=())
    assert await worker.run_once() == 6  # one claim: one batch of six deliveries
    assert keys(good) == Counter({f"batch:{n}": 1 for n in (0, 1, 2, 3, 5)})
    messages, jobs = await states(api)
    assert messages["batch:4"][:2] == ("pending", 1) and "answered 500" in (messages["batch:4"][2] or "")
    assert {messages[f"batch:{n}"] for n in (0, 1, 2, 3, 5)} == {("sent", 1, None)}
    assert jobs == Counter({"done": 5, "pending": 1})
    async with api.context.db.read() as session:
        (retry,) = (await session.scalars(select(Job).where(Job.state == "pending"))).all()
    assert (retry.attempts, retry.run_at) == (1, api.clock.now() + backoff(1))
    assert "answered 500" in (retry.last_error or "")

    bad.status = 200
    assert await worker.run_once() == 0  # not due before its backoff
    api.clock.advance(backoff(1))
    assert await worker.run_once() == 1
    assert keys(bad) == Counter({"batch:4": 1}) and len(good.received) == 5  # nothing sent twice
    messages, jobs = await states(api)
    assert messages["batch:4"] == ("sent", 2, None) and jobs == Counter({"done": 6})


async def test_the_batch_path_honours_the_queue_rate_limit(api: Api, sinks: tuple[Sink, Sink]) -> None:
    """WARROOM_QUEUE_PER_MINUTE at 120 for webhooks is 2 a second with a burst of 2: in ~1.5 s at most
    2 + 3 of the 12 due messages go, although one batch could take them all."""
    good, _ = sinks
    api.context.settings.queue_per_minute = {"notify.webhook": 120}
    await queue(api, [f"{good.url}/ok"] * 12)
    stop = asyncio.Event()
    running = asyncio.create_task(new_worker(api.context, periodic=(), poll_seconds=0.1).run_forever(stop))
    began = time.monotonic()
    try:
        await asyncio.sleep(1.5)
        sent_by_then = len(good.received)
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(running, 10)
    elapsed = time.monotonic() - began
    assert 2 <= sent_by_then <= 2 + 2 * elapsed + 1, (sent_by_then, elapsed)
    assert max(keys(good).values()) == 1  # and none twice
