"""The worker: one loop per queue, each running its due jobs concurrently, each job in its own transaction.

Queues keep channels apart: a chat API that hangs fills only its own queue's slots, never the one that
runs escalation steps or sends email. A job's database effects and its `done` mark commit together, so a
worker killed mid-job leaves the job pending (its lease lapses) and nothing half-applied. On PostgreSQL the
loops wake on LISTEN/NOTIFY; on both, a commit that queued jobs wakes this process's loops for their
queues at once (jobs.service.wake_here); everywhere they also poll, so a lost notification costs at most
one poll.

The shapes of kind (jobs.kinds): plain handlers, one job at a time; `Shared` handlers, several jobs to a
transaction; `Grouped` kinds, whose whole group is one call; `Batched` kinds (deliveries), which get the
claimed batch and run their own short transactions around the network. A run may also hand off batched
jobs it queues, due now, already claimed (jobs.kinds.HandOff): the worker runs them once its transaction
commits, with no wait on their queue (jobs.handoffs). Which kinds exist, their queues and the periodic
checks are the composition root's to say (warroom.wiring): they are required arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.context import AppContext
from warroom.db import LazyTurn, libpq_url
from warroom.jobs import config_cache, held, service
from warroom.jobs.claims import DriverClaims
from warroom.jobs.config_cache import ConfigCache, changed_under
from warroom.jobs.domain import RetryLater
from warroom.jobs.handoffs import HandOffs
from warroom.jobs.kinds import (
    UNBOUNDED,
    Batched,
    BatchRun,
    Grouped,
    Handler,
    HandOff,
    JobRun,
    Kind,
    Shared,
    runs_in_groups,
)
from warroom.jobs.models import Job
from warroom.jobs.periodic import Periodic
from warroom.jobs.queues import QueueLimits, limits_for
from warroom.outbound import Outbound

log = structlog.get_logger("warroom.worker")


NETWORK_QUEUES = ("notify.", "chat.", "audit.", "actions")  # queues whose jobs call out over the network


def groups(jobs: list[Job], size: int, kinds: Mapping[str, Kind]) -> list[list[Job]]:
    """Jobs in claim order, cut into runs of one kind: kinds that run in groups (jobs.kinds) up to `size`
    each, others alone."""
    by_kind: dict[str, list[Job]] = {}
    out: list[list[Job]] = []
    for job in jobs:
        if runs_in_groups(kinds.get(job.kind)) and size > 1:
            by_kind.setdefault(job.kind, []).append(job)
        else:
            out.append([job])
    for same in by_kind.values():
        out.extend(same[i : i + size] for i in range(0, len(same), size))
    return out


@dataclass
class Worker:
    context: AppContext
    kinds: Mapping[str, Kind]
    periodic: Sequence[Periodic]
    queues: Mapping[str, QueueLimits]
    batch: int = 32
    poll_seconds: float = 0.5
    # A queue claims at most once per gap unless its last claim took every free place: jobs that come a few
    # at a time (a page's triage, its deliveries) are then claimed and committed in groups, not one each.
    # Measured at 50 alerts/s on PostgreSQL (one worker, bench/paging.py's latency scenario, 2 cores): the
    # worker used 94% of a core and paged at p50 200-250 ms claiming at once; with 50 ms, 73% and 109 ms.
    claim_gap: float = 0.05
    _wakes: dict[str, asyncio.Event] = field(default_factory=dict)
    _http: Outbound | None = None
    _shared_places: dict[tuple[str, str], asyncio.Semaphore] = field(default_factory=dict)
    config: ConfigCache = field(default_factory=ConfigCache)
    limits: dict[str, QueueLimits] = field(init=False)
    _claims: DriverClaims | None = field(init=False)
    _bulk_claims: DriverClaims | None = field(init=False)  # bulk queues' (QueueLimits.bulk)
    _hand_offs: HandOffs = field(init=False)

    def __post_init__(self) -> None:
        self.limits = limits_for(self.queues, self.context.settings.queue_per_minute)
        lease = self.lease_seconds
        self._hand_offs = HandOffs(
            self.kinds,
            self.limits,
            self.context.clock,
            lambda q: timedelta(seconds=lease(q)),
            self._run_batch,
        )
        engine = self.context.db.engine
        postgresql = engine.dialect.name == "postgresql"
        self._claims = DriverClaims(engine.url, engine.dialect) if postgresql else None
        self._bulk_claims = DriverClaims(engine.url, engine.dialect) if postgresql else None

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
        try:
            while jobs := await self._claim(None, self.batch):
                await asyncio.gather(
                    *(
                        self._run_group(group)
                        for group in groups(jobs, self.limits["default"].group, self.kinds)
                    )
                )
                await self._hand_offs.wait()
                ran += len(jobs)
        finally:
            await self._close_connections()
        return ran

    def _client(self) -> Outbound:
        if self._http is None:
            self._http = Outbound(self.context.settings)
        return self._http

    async def _close_http(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _close_connections(self) -> None:
        """The HTTP client's and (PostgreSQL) the claims' connections: the worker's own, outside the pool."""
        await self._close_http()
        for claims in (self._claims, self._bulk_claims):
            if claims is not None:
                await claims.close()

    def lease_seconds(self, queue: str | None) -> float:
        """How long a claim on `queue` is leased: the job lease, or the queue's own if that is shorter."""
        lease = self.context.settings.job_lease_seconds
        own = self.limits[queue].lease_seconds if queue in self.limits else None
        return min(lease, own) if own is not None else lease

    async def _claim(self, queue: str | None, limit: int) -> list[Job]:
        queues = [queue] if queue else None
        lease = timedelta(seconds=self.lease_seconds(queue))
        limits = self.limits.get(queue) if queue else None
        claims = self._bulk_claims if limits is not None and limits.bulk else self._claims
        if claims is not None:
            return await claims.claim(now=self.context.clock.now(), limit=limit, queues=queues, lease=lease)
        async with self.context.db.write_turn, self.context.db.write() as session:
            jobs = await service.claim(
                session=session, now=self.context.clock.now(), limit=limit, queues=queues, lease=lease
            )
            await session.commit()
        return jobs

    async def _run_groups(self, share: list[list[Job]]) -> None:
        for group in share:
            await self._run_group(group)

    async def _run_group(self, jobs: list[Job]) -> None:
        """Several jobs of one kind in one transaction; if any fails, each runs again on its own, so one
        bad job costs the group a retry but never fails the others. Batched kinds take the group whole."""
        handler = self.kinds.get(jobs[0].kind)
        if isinstance(handler, Batched):
            return await self._run_batch(handler, jobs)
        if len(jobs) == 1 or handler is None:
            return await self._run_each(handler, jobs)
        try:
            with self._hand_offs.opened() as hand_off:
                await self._run_together(handler, jobs, hand_off)
        except Exception as error:  # noqa: BLE001  (the group is undone; each job then runs alone)
            log.info("job group failed; running its jobs one by one", size=len(jobs), error=repr(error))
            self.config.forget()  # (perhaps the configuration changed under it: jobs.config_cache)
            await self._run_each(handler, jobs)

    async def _run_together(
        self, handler: Handler | Shared | Grouped, jobs: list[Job], hand_off: HandOff
    ) -> None:
        """The jobs of a group in one transaction; what they hand off starts once it has committed."""
        async with self.context.db.write_turn, self.context.db.write() as session:
            held.hold(session)
            token, memo = await self._memo(handler, session)
            now = self.context.clock.now()
            run = JobRun(session, now, self.context, jobs[0].id, jobs[0].attempts, memo, hand_off=hand_off)
            if isinstance(handler, Grouped):
                await handler.run_all(run, [job.payload for job in jobs])
            else:
                for job in jobs:
                    alone = JobRun(session, now, self.context, job.id, job.attempts, memo, hand_off=hand_off)
                    await handler(alone, job.payload)
            await service.finish(session=session, job_ids=[job.id for job in jobs], now=now)
            await held.commit(session)
        self.config.keep(token, memo)
        self._hand_offs.start(hand_off)

    async def _run_each(self, handler: Handler | Shared | Grouped | None, jobs: list[Job]) -> None:
        for job in jobs:
            await self._run(handler, job)

    async def _run_batch(
        self, handler: Batched, jobs: list[Job], notes: Mapping[int, Any] | None = None
    ) -> None:
        """The handler settles each job as it records its outcome; should it raise instead, the jobs it
        had not settled yet are failed for a retry (settle skips those no longer running)."""
        try:
            await handler.run_batch(
                BatchRun(self.context, jobs, self._client(), self._places(handler, jobs[0]), notes or {})
            )
        except Exception as error:  # noqa: BLE001  (recorded on the jobs and retried)
            log.warning("job batch failed", kind=jobs[0].kind, size=len(jobs), error=repr(error))
            async with self.context.db.write_turn, self.context.db.write() as session:
                failed = [(job, error) for job in jobs]
                await service.settle(session=session, done=[], failed=failed, now=self.context.clock.now())
                await session.commit()

    async def _memo(self, handler: Kind | None, session: AsyncSession) -> tuple[str | None, dict[str, Any]]:
        """A grouped kind's memo starts with this process's cached configuration (jobs.config_cache); the
        token read first, in the group's transaction, is the one its lookups are kept under."""
        if isinstance(handler, Grouped):
            return await self.config.seed(session)
        return None, {}

    def _places(self, handler: Batched, job: Job) -> asyncio.Semaphore:
        """The places shared by the batches of `job`'s kind on its queue (a fresh unbounded set if the kind
        asks for no bound)."""
        if handler.places is None:
            return asyncio.Semaphore(UNBOUNDED)
        return self._shared_places.setdefault((job.queue, job.kind), asyncio.Semaphore(handler.places))

    async def _run(self, handler: Handler | Shared | Grouped | None, job: Job) -> None:
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            await self._run_afresh_if_changed(handler, job)
        except RetryLater as later:
            log.info("job postponed", job_id=job.id, kind=job.kind, delay=later.delay.total_seconds())
            async with self.context.db.write_turn, self.context.db.write() as session:
                await service.postpone(session=session, job=job, later=later, now=self.context.clock.now())
                await session.commit()
        except Exception as error:  # noqa: BLE001  (any failure is recorded on the job and retried)
            log.warning("job failed", job_id=job.id, kind=job.kind, attempt=job.attempts, error=repr(error))
            self.config.forget()
            async with self.context.db.write_turn, self.context.db.write() as session:
                await service.fail(session=session, job=job, error=error, now=self.context.clock.now())
                await session.commit()

    async def _run_afresh_if_changed(self, handler: Handler | Shared | Grouped, job: Job) -> None:
        """The job alone; if the configuration changed under it (the check with its commit found the
        cache stale: jobs.config_cache), at once again, reading the configuration afresh."""
        try:
            with self._hand_offs.opened() as hand_off:
                await self._run_alone(handler, job, hand_off)
        except Exception as error:
            if not changed_under(error):
                raise
            log.info("the configuration changed under a job; running it again", job_id=job.id, kind=job.kind)
            self.config.forget()
            with self._hand_offs.opened() as hand_off:
                await self._run_alone(handler, job, hand_off)

    async def _run_alone(self, handler: Handler | Shared | Grouped, job: Job, hand_off: HandOff) -> None:
        """One job in its own transaction; what it hands off starts once it has committed."""
        # SQLite admits one writer: jobs take turns in-process rather than in its busy-wait. Deliveries
        # and chat calls (NETWORK_QUEUES) must not hold the turn over the network: they take it just
        # before they write.
        async with LazyTurn(self.context.db.write_turn) as turn, self.context.db.write() as session:
            if not job.queue.startswith(NETWORK_QUEUES):
                await turn.take()
            if isinstance(handler, Grouped | Shared):  # short, no network: their last writes wait (jobs.held)
                held.hold(session)
            token, memo = await self._memo(handler, session)
            now = self.context.clock.now()
            run = JobRun(session, now, self.context, job.id, job.attempts, memo, turn.take, hand_off)
            await handler(run, job.payload)
            await turn.take()
            await service.finish(session=session, job_ids=[job.id], now=now)
            await held.commit(session)
        self.config.keep(token, memo)
        self._hand_offs.start(hand_off)

    async def _queue_loop(self, queue: str, stop: asyncio.Event) -> None:
        limits = self.limits[queue]
        bucket = self._hand_offs.rate(queue)
        wake = self._wakes.setdefault(queue, asyncio.Event())
        running: set[asyncio.Task[None]] = set()
        # Whether a freed slot should wake the loop: the last claim took every free place, or had none to
        # take (more may be waiting). After a claim that emptied the queue, new jobs wake it themselves.
        more = [False]

        def slot_freed(_task: asyncio.Task[None]) -> None:
            if more[0]:
                wake.set()

        claimed_at = 0.0
        while not stop.is_set():
            if not more[0] and (rest := claimed_at + self.claim_gap - time.monotonic()) > 0:
                await asyncio.sleep(rest)
            claimed_at = time.monotonic()
            wake.clear()
            room = min((limits.slots - len(running)) * limits.group, bucket.available(time.monotonic()))
            try:
                jobs = await self._claim(queue, room) if room else []
            except Exception as error:  # noqa: BLE001  (a lost database must not end the worker)
                log.error("claim failed", queue=queue, error=repr(error))
                jobs = []
            for _ in jobs:
                bucket.take(time.monotonic())
            more[0] = not room or len(jobs) == room
            for share in deal(groups(jobs, limits.group, self.kinds), limits.slots - len(running)):
                task = asyncio.create_task(self._run_groups(share))
                running.add(task)
                task.add_done_callback(running.discard)
                task.add_done_callback(slot_freed)
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
        """PostgreSQL only: wake the loops when a transaction that queued jobs commits; forget the cached
        configuration when a change to it commits."""
        url = libpq_url(self.context.settings.resolved_database_url())
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {service.NOTIFY_CHANNEL}")
                    async for notice in conn.notifies(stop_after=None):
                        if notice.payload == config_cache.NOTIFY_PAYLOAD:
                            self.config.forget()  # (its next group reads the configuration afresh)
                        elif queue := service.notified_queue(notice.payload):
                            self.wake(queue)
            except psycopg.Error as error:
                log.warning("LISTEN connection lost; polling until it is back", error=repr(error))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 5.0)

    async def run_forever(self, stop: asyncio.Event) -> None:
        loops = [self._queue_loop(queue, stop) for queue in self.limits] + [self._periodic_loop(stop)]
        listener = None
        if self.context.db.dialect == "postgresql":
            listener = asyncio.create_task(self._listen(stop))
        forget = service.wake_here(self.wake)
        try:
            await asyncio.gather(*loops)
            await self._hand_offs.wait()
        finally:
            forget()
            await self._close_connections()
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)


def deal(work: list[list[Job]], slots: int) -> list[list[list[Job]]]:
    """Groups dealt round-robin into at most `slots` shares, each run in turn by one task: a claim sized
    for full groups may bring back single jobs, and they must not run more at once than there are slots."""
    shares: list[list[list[Job]]] = [[] for _ in range(max(1, min(slots, len(work))))]
    for number, group in enumerate(work):
        shares[number % len(shares)].append(group)
    return [share for share in shares if share]


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
