"""Group commit for the intake hot path: concurrent requests share one transaction, and each is answered
only once that transaction has committed, so a 202 always means stored.

If a batch fails, its requests are retried one per transaction, so one bad request fails alone. A group
of requests that only trigger is stored on the writer's own thread and connection (threaded.py); on
PostgreSQL a group that only joins the backlog, from the event loop (queued.py); any other group, and every
retry, through the async domain code (store.py). A flooding integration's requests
are stored as they came and derived after their answer (backlog.py), by the backlog's deriver (deriver.py):
between groups on SQLite, beside them on PostgreSQL.

On PostgreSQL a flood's requests have a lane of their own (a queue and a task, committing beside the other
lane's groups on a connection of their own): a request of a quiet integration is not held behind a storm's
group in flight, and a storm's group is not turned into a slower mixed group by the quiet integration's
request that came with it. Order: an integration's requests in flight are all in one lane, so each lane's
arrival order is the integration's. While it has requests in the flood lane, its next request takes that
lane too (joining the backlog, always safe for order); a request past the meter while the integration has
requests in the other lane waits, with those after it, until they are stored, then they take the flood
lane. SQLite admits one writer: one lane there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from warroom.alerts.intake.backlog import IDLE_CHECK_SECONDS, defer_meter, deferred, merged
from warroom.alerts.intake.derive import only_triggers
from warroom.alerts.intake.deriver import BacklogDeriver
from warroom.alerts.intake.flood import FloodMeter
from warroom.alerts.intake.queued import QueuedGroups
from warroom.alerts.intake.store import Batch, add_queued, apply_works
from warroom.alerts.intake.threaded import ThreadedGroups
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.db import SessionFactories
from warroom.jobs.service import wake_local_workers

log = structlog.get_logger("warroom.intake")


@dataclass
class _Pending:
    work: IntakeWork
    done: asyncio.Future[list[EventOutcome]]
    over: bool  # past its integration's DeferMeter when it came: stored now, derived later


@dataclass
class _Lane:
    """One integration's requests in flight: which lane they are in, how many, and those waiting to take the
    flood lane once the other lane's are stored."""

    flood: bool = False
    count: int = 0
    held: list[_Pending] = field(default_factory=list)


@dataclass
class IntakeWriter:
    db: SessionFactories
    on_commit: Callable[[], None] = lambda: None  # wakes this process's worker: triage jobs are waiting
    max_batch: int = 128
    _queue: asyncio.Queue[_Pending] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None
    _threaded: ThreadedGroups | None = None  # groups of plain triggers (see threaded.py)
    _queued: QueuedGroups | None = None  # PostgreSQL: groups that only join the backlog (queued.py)
    flood: FloodMeter = field(default_factory=FloodMeter)  # which queue triages each new alert (flood.py)
    defer: FloodMeter = field(default_factory=defer_meter)  # which requests are derived after (backlog.py)
    deriver: BacklogDeriver = field(init=False)  # derives the backlog (deriver.py)
    _arrivals: int = 0  # requests submitted so far
    _flood_queue: asyncio.Queue[_Pending] = field(default_factory=asyncio.Queue)  # PostgreSQL: the flood lane
    _flood_task: asyncio.Task[None] | None = None
    _lanes: dict[int, _Lane] = field(default_factory=dict)  # integration id -> its requests in flight

    def __post_init__(self) -> None:
        self._threaded = ThreadedGroups.for_engine(self.db.engine)
        self._queued = QueuedGroups.for_engine(self.db.engine)
        self.deriver = BacklogDeriver(
            self.db, on_commit=lambda: self.on_commit(), arrivals=lambda: self._arrivals
        )

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="intake-writer")
        if self._queued is not None and self._flood_task is None:
            self._flood_task = asyncio.create_task(self._run_flood(), name="intake-writer-flood")
        self.deriver.start()

    async def stop(self) -> None:
        tasks = [task for task in (self._task, self._flood_task) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = self._flood_task = None
        await self.deriver.stop()
        if self._threaded is not None:
            await self._threaded.close()
            self._threaded = None
        if self._queued is not None:
            await self._queued.close()
            self._queued = None

    async def submit(self, work: IntakeWork) -> list[EventOutcome]:
        """Store one request; returns once it is committed (or raises what storing it raised)."""
        self.start()
        over = self.defer.over(work.integration_id, work.received_at)
        self._arrivals += 1
        pending = _Pending(work, asyncio.get_running_loop().create_future(), over)
        self._route(pending)
        return await pending.done

    def _route(self, pending: _Pending) -> None:
        """Into its integration's lane (see the module's docstring), or held until it may take the flood
        lane."""
        lane = self._lanes.setdefault(pending.work.integration_id, _Lane())
        flood = pending.over and self._queued is not None
        if flood and not lane.count:  # none in flight (so none held): straight to the flood lane
            lane.flood = True
        if lane.held or (flood and not lane.flood):  # its requests in the main lane are stored first
            lane.held.append(pending)
            return
        self._enqueue(lane, pending)

    def _enqueue(self, lane: _Lane, pending: _Pending) -> None:
        pending.over = pending.over or lane.flood
        lane.count += 1
        (self._flood_queue if lane.flood else self._queue).put_nowait(pending)

    def _leave(self, batch: list[_Pending]) -> None:
        """The batch's requests are stored or refused; an integration with none left in its lane lets those
        held take the flood lane."""
        for pending in batch:
            integration_id = pending.work.integration_id
            lane = self._lanes[integration_id]
            lane.count -= 1
            if lane.count:
                continue
            held, lane.held, lane.flood = lane.held, [], bool(lane.held)
            for waiting in held:
                self._enqueue(lane, waiting)
            if not lane.count:
                del self._lanes[integration_id]

    def _may_derive(self) -> bool:
        """A backlog pass between groups now (SQLite's one writer)? Only with no request waiting."""
        return not self.deriver.concurrent and self._queue.empty() and self.deriver.due()

    async def _run(self) -> None:
        while True:
            if self._may_derive():
                await self.deriver.run_pass()
                continue
            first = await self._next_request()
            if first is None:
                continue
            await self._commit(self._fill([first], self._queue))

    async def _run_flood(self) -> None:
        """The flood lane: groups that only join the backlog (PostgreSQL), each one statement."""
        while True:
            first = await self._flood_queue.get()
            await self._commit(self._fill([first], self._flood_queue))

    def _fill(self, batch: list[_Pending], queue: asyncio.Queue[_Pending]) -> list[_Pending]:
        """`batch` with what else waits in `queue`, up to max_batch."""
        while len(batch) < self.max_batch and not queue.empty():
            batch.append(queue.get_nowait())
        return batch

    async def _next_request(self) -> _Pending | None:
        """The next request to store; None once a backlog pass is due between groups, or after
        IDLE_CHECK_SECONDS idle (another process's crash may have left a backlog)."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        if self.deriver.concurrent:
            return await self._queue.get()
        wait = self.deriver.seconds_to_next() if self.deriver.pending else IDLE_CHECK_SECONDS
        try:
            return await asyncio.wait_for(self._queue.get(), wait)
        except TimeoutError:
            self.deriver.pending = True
            return None

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            await self._commit_group(batch)
        finally:
            self._leave(batch)

    async def _commit_group(self, batch: list[_Pending]) -> None:
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
        """One transaction for `works`: on PostgreSQL from the loop if every one is past the meter, on the
        writer's thread if they only trigger (unless `alone`, a retry, which raises its error the async
        way), else through the async domain code. Those past the meter (`over`), or of an integration with
        a backlog, join the backlog."""
        if self._queued is not None and not alone and all(over):
            results = await self._queued.store(works)
            self.deriver.joined()
            return results
        if self._threaded is not None and not alone and all(map(only_triggers, works)):
            async with self.db.write_turn:
                results, queues, joined = await self._threaded.store(works, self.flood, over)
            for queue in sorted(queues):
                wake_local_workers(queue)
            if joined:
                self.deriver.joined()
            return results
        async with self.db.write_turn, self.db.write() as session:
            later = await deferred(session, works, over)
            batch = Batch(flood=self.flood)
            now = [work for work, wait in zip(works, later, strict=True) if not wait]
            derived = await apply_works(session=session, works=now, batch=batch) if now else []
            queued = add_queued(batch, [work for work, wait in zip(works, later, strict=True) if wait])
            await batch.write(session)
            await session.commit()
        if any(later):
            self.deriver.joined()
        return merged(later, derived, queued)
