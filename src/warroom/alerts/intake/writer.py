"""Group commit for the intake hot path: concurrent requests share one transaction, and each is answered
only once that transaction has committed, so a 202 always means stored.

If a batch fails, its requests are retried one per transaction, so one bad request fails alone. A group
of requests that only trigger is stored on the writer's own thread and connection (threaded.py); any
other group, and every retry, through the async domain code (store.py). A flooding integration's requests
are stored as they came and derived after their answer, whenever no request waits (backlog.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from warroom.alerts.intake.backlog import (
    DERIVE_BATCH,
    IDLE_CHECK_SECONDS,
    defer_meter,
    deferred,
    derive_backlog,
    has_backlog,
    merged,
    set_aside_oldest,
)
from warroom.alerts.intake.derive import only_triggers
from warroom.alerts.intake.flood import FloodMeter
from warroom.alerts.intake.store import Batch, add_queued, apply_works
from warroom.alerts.intake.threaded import ThreadedGroups
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.db import SessionFactories
from warroom.jobs.service import wake_local_workers

log = structlog.get_logger("warroom.intake")
# While requests keep coming, the share of the writer's time a backlog may take: the senders waiting on
# their answer come first; the backlog is derived in full as soon as they pause.
BUSY_SHARE = 0.2
BUSY_BATCH = 50  # requests a backlog pass derives while requests keep coming: each waits out one pass


@dataclass
class _Pending:
    work: IntakeWork
    done: asyncio.Future[list[EventOutcome]]
    over: bool  # past its integration's DeferMeter when it came: stored now, derived later


@dataclass
class IntakeWriter:
    db: SessionFactories
    on_commit: Callable[[], None] = lambda: None  # wakes this process's worker: triage jobs are waiting
    max_batch: int = 128
    _queue: asyncio.Queue[_Pending] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None
    _threaded: ThreadedGroups | None = None  # groups of plain triggers (see threaded.py)
    flood: FloodMeter = field(default_factory=FloodMeter)  # which queue triages each new alert (flood.py)
    defer: FloodMeter = field(default_factory=defer_meter)  # which requests are derived after (backlog.py)
    backlog: bool = True  # the database may hold a backlog to derive (checked at start)
    _arrivals: int = 0  # requests submitted so far
    _arrivals_at_pass: int = -1  # ... when the last backlog pass began
    _next_pass: float = 0.0  # (monotonic) while requests keep coming, no backlog pass before this

    def __post_init__(self) -> None:
        self._threaded = ThreadedGroups.for_engine(self.db.engine)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="intake-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._threaded is not None:
            await self._threaded.close()
            self._threaded = None

    async def submit(self, work: IntakeWork) -> list[EventOutcome]:
        """Store one request; returns once it is committed (or raises what storing it raised)."""
        self.start()
        over = self.defer.over(work.integration_id, work.received_at)
        self._arrivals += 1
        pending = _Pending(work, asyncio.get_running_loop().create_future(), over)
        await self._queue.put(pending)
        return await pending.done

    def _may_derive(self) -> bool:
        """A backlog pass now? Only with no request waiting to be stored, and while requests keep coming,
        only once the last pass has been followed by BUSY_SHARE's worth of storing."""
        if not self.backlog or not self._queue.empty():
            return False
        return self._arrivals == self._arrivals_at_pass or time.monotonic() >= self._next_pass

    async def _run(self) -> None:
        while True:
            if self._may_derive():
                busy = self._arrivals != self._arrivals_at_pass
                started, self._arrivals_at_pass = time.monotonic(), self._arrivals
                await self._derive_safely(BUSY_BATCH if busy else DERIVE_BATCH)
                ended = time.monotonic()
                self._next_pass = ended + (ended - started) * (1 - BUSY_SHARE) / BUSY_SHARE
                continue
            first = await self._next_request()
            if first is None:
                continue
            batch = [first]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._commit(batch)

    async def _next_request(self) -> _Pending | None:
        """The next request to store; None once a backlog pass is due, or after IDLE_CHECK_SECONDS idle."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        wait = max(self._next_pass - time.monotonic(), 0.0) if self.backlog else IDLE_CHECK_SECONDS
        try:
            return await asyncio.wait_for(self._queue.get(), wait)
        except TimeoutError:
            self.backlog = True  # (idle: another process's crash may have left one)
            return None

    async def _derive_safely(self, limit: int) -> None:
        try:
            await self._derive(limit)
        except Exception as error:  # noqa: BLE001  (the database is away: storing answers for itself)
            log.error("intake backlog not derived; trying again when idle", error=repr(error))
            self.backlog = False  # the idle check asks again in IDLE_CHECK_SECONDS

    async def _derive(self, limit: int = DERIVE_BATCH) -> None:
        """One pass over the backlog; a pass that fails is tried a request at a time, and a request that
        fails alone is set aside with its error."""
        async with self.db.read() as session:  # (idle writers ask every few seconds: no write turn)
            if not await has_backlog(session):
                self.backlog = False
                return
        try:
            taken = await self._derive_pass(limit)
        except Exception as error:  # noqa: BLE001  (one bad request must not stop the backlog)
            if limit == 1:
                await self._set_aside(error)
                return
            log.warning("backlog pass failed; deriving one by one", error=repr(error))
            for _ in range(limit):
                await self._derive(limit=1)
            return
        if taken:
            self.on_commit()
        # Fewer than asked: the backlog is done, or another process holds the deriver's lock (PostgreSQL).
        self.backlog = taken == limit

    async def _derive_pass(self, limit: int) -> int:
        """One transaction: on the writer's thread if the requests only trigger, else the async way."""
        if self._threaded is not None:
            async with self.db.write_turn:
                done = await self._threaded.derive_backlog(limit)
            if done is not None:
                for queue in sorted(done[1]):
                    wake_local_workers(queue)
                return done[0]
        async with self.db.write_turn, self.db.write() as session:
            taken = await derive_backlog(session, limit)
            await session.commit()
        return taken

    async def _set_aside(self, error: Exception) -> None:
        async with self.db.write_turn, self.db.write() as session:
            request_id = await set_aside_oldest(session, error)
            await session.commit()
        log.error("backlog request set aside, not derived", request_id=request_id, error=repr(error))

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            results = await self._store([p.work for p in batch], [p.over for p in batch])
        except Exception as error:  # noqa: BLE001  (isolate the bad request: retry each alone)
            log.warning("intake batch failed; storing one by one", size=len(batch), error=repr(error))
            await self._commit_singly(batch)
            return
        for pending, outcomes in zip(batch, results, strict=True):
            if not pending.done.done():
                pending.done.set_result(outcomes)
        self.on_commit()

    async def _commit_singly(self, batch: list[_Pending]) -> None:
        for pending in batch:
            try:
                (outcomes,) = await self._store([pending.work], [pending.over], alone=True)
            except Exception as error:  # noqa: BLE001  (handed to the request that caused it)
                if not pending.done.done():
                    pending.done.set_exception(error)
                continue
            if not pending.done.done():
                pending.done.set_result(outcomes)
        self.on_commit()

    async def _store(
        self, works: list[IntakeWork], over: list[bool], *, alone: bool = False
    ) -> list[list[EventOutcome]]:
        """One transaction for `works`: on the writer's thread if they only trigger (unless `alone`, a
        retry, which raises its error the async way), else through the async domain code. Those past the
        meter (`over`), or of an integration with a backlog, join the backlog."""
        if self._threaded is not None and not alone and all(map(only_triggers, works)):
            async with self.db.write_turn:
                results, queues, joined = await self._threaded.store(works, self.flood, over)
            for queue in sorted(queues):
                wake_local_workers(queue)
            self.backlog = self.backlog or joined > 0
            return results
        async with self.db.write_turn, self.db.write() as session:
            later = await deferred(session, works, over)
            batch = Batch(flood=self.flood)
            now = [work for work, wait in zip(works, later, strict=True) if not wait]
            derived = await apply_works(session=session, works=now, batch=batch) if now else []
            queued = add_queued(batch, [work for work, wait in zip(works, later, strict=True) if wait])
            await batch.write(session)
            await session.commit()
        self.backlog = self.backlog or any(later)
        return merged(later, derived, queued)
