"""The worker: one loop per queue, each running its due jobs concurrently, each job in its own transaction.

Queues keep channels apart: a chat API that hangs fills only its own queue's slots, never the one that
runs escalation steps or sends email. A job's database effects and its `done` mark commit together, so a
worker killed mid-job leaves the job pending (its lease lapses) and nothing half-applied. On PostgreSQL the
loops wake on LISTEN/NOTIFY; everywhere they also poll, so a lost notification costs at most one poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
import structlog
from sqlalchemy.engine import make_url

from warroom.alerts.throttle import Bucket
from warroom.context import AppContext
from warroom.jobs import service
from warroom.jobs.models import Job
from warroom.jobs.registry import Handler, JobRun, handlers

log = structlog.get_logger("warroom.worker")
Periodic = Callable[[AppContext], Awaitable[None]]
NOTIFY_CHANNEL = "warroom_jobs"
# Queue -> (concurrent jobs, jobs per minute). Channels get their own, so one cannot starve another.
# The slots add up to about the database pool of one process (db.py), so jobs rarely wait for a connection.
QUEUES: dict[str, tuple[int, int]] = {
    "default": (8, 60_000),
    "notify.email": (4, 600),
    "notify.webhook": (8, 3_000),
    "notify.apprise": (4, 600),
    "notify.log": (2, 6_000),
}


@dataclass
class Worker:
    context: AppContext
    batch: int = 32
    poll_seconds: float = 0.5
    periodic: list[Periodic] = field(default_factory=list)
    kinds: dict[str, Handler] = field(default_factory=handlers)
    _wakes: dict[str, asyncio.Event] = field(default_factory=dict)

    def wake(self, queue: str | None = None) -> None:
        """Wake the loop of `queue`, or every loop."""
        for name, event in self._wakes.items():
            if queue is None or name == queue:
                event.set()

    async def run_once(self) -> int:
        """Periodic checks, then every job due now, whatever its queue. Returns how many jobs ran (tests)."""
        for check in self.periodic:
            await check(self.context)
        ran = 0
        while jobs := await self._claim(None, self.batch):
            await asyncio.gather(*(self._run(job) for job in jobs))
            ran += len(jobs)
        return ran

    async def _claim(self, queue: str | None, limit: int) -> list[Job]:
        async with self.context.db.write_turn, self.context.db.write() as session:
            queues = [queue] if queue else None
            lease = timedelta(seconds=self.context.settings.job_lease_seconds)
            jobs = await service.claim(
                session=session, now=self.context.clock.now(), limit=limit, queues=queues, lease=lease
            )
            await session.commit()
        return jobs

    async def _run(self, job: Job) -> None:
        handler = self.kinds.get(job.kind)
        # SQLite admits one writer: jobs take turns in-process rather than in its busy-wait. Deliveries
        # (notify.*) keep their transactions short themselves and must not hold the turn over the network.
        turn = nullcontext() if job.queue.startswith("notify.") else self.context.db.write_turn
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            async with turn, self.context.db.write() as session:
                now = self.context.clock.now()
                await handler(JobRun(session, now, self.context, job.id, job.attempts), job.payload)
                await service.finish(session=session, job_id=job.id, now=now)
                await session.commit()
        except Exception as error:  # noqa: BLE001  (any failure is recorded on the job and retried)
            log.warning("job failed", job_id=job.id, kind=job.kind, attempt=job.attempts, error=repr(error))
            async with self.context.db.write() as session:
                await service.fail(session=session, job=job, error=error, now=self.context.clock.now())
                await session.commit()

    async def _queue_loop(self, queue: str, stop: asyncio.Event) -> None:
        slots, per_minute = QUEUES[queue]
        bucket = Bucket(
            per_minute / 60, max(per_minute / 60, 1.0), max(per_minute / 60, 1.0), time.monotonic()
        )
        wake = self._wakes.setdefault(queue, asyncio.Event())
        running: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            wake.clear()
            room = min(slots - len(running), bucket.available(time.monotonic()))
            try:
                jobs = await self._claim(queue, room) if room else []
            except Exception as error:  # noqa: BLE001  (a lost database must not end the worker)
                log.error("claim failed", queue=queue, error=repr(error))
                jobs = []
            for job in jobs:
                bucket.take(time.monotonic())
                task = asyncio.create_task(self._run(job))
                running.add(task)
                task.add_done_callback(running.discard)
                task.add_done_callback(lambda _task: wake.set())  # a slot is free again
            if len(jobs) < room or not room:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(wake, stop), self.poll_seconds)
        await asyncio.gather(*running, return_exceptions=True)

    async def _periodic_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for check in self.periodic:
                try:
                    await check(self.context)
                except Exception as error:  # noqa: BLE001  (a failed check is retried on the next pass)
                    log.error("periodic check failed", check=check.__name__, error=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(self.poll_seconds, 1.0))

    async def _listen(self, stop: asyncio.Event) -> None:
        """PostgreSQL only: wake the loops when a transaction that queued jobs commits."""
        url = make_url(self.context.settings.resolved_database_url()).set(drivername="postgresql")
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    url.render_as_string(hide_password=False), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    async for notice in conn.notifies(stop_after=None):
                        self.wake(notice.payload or None)
            except psycopg.Error as error:
                log.warning("LISTEN connection lost; polling until it is back", error=repr(error))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 5.0)

    async def run_forever(self, stop: asyncio.Event) -> None:
        loops = [self._queue_loop(queue, stop) for queue in QUEUES] + [self._periodic_loop(stop)]
        listener = None
        if self.context.db.dialect == "postgresql":
            listener = asyncio.create_task(self._listen(stop))
        try:
            await asyncio.gather(*loops)
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def periodic_checks() -> list[Periodic]:
    """What the worker checks on every pass besides due jobs (listed here, and checked by a test)."""
    from warroom.alerts.heartbeats import check_heartbeats

    return [check_heartbeats]
