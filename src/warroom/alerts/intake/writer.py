"""Group commit for the intake hot path: concurrent requests share one transaction, and each is answered
only once that transaction has committed, so a 202 always means stored.

If a batch fails, its requests are retried one per transaction, so one bad request fails alone. A group
of requests that only trigger is stored on the writer's own thread and connection (threaded.py); any
other group, and every retry, through the async domain code (store.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from warroom.alerts.intake.derive import only_triggers
from warroom.alerts.intake.flood import FloodMeter
from warroom.alerts.intake.store import Batch, apply_works
from warroom.alerts.intake.threaded import ThreadedGroups
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.db import SessionFactories
from warroom.jobs.service import wake_local_workers

log = structlog.get_logger("warroom.intake")


@dataclass
class _Pending:
    work: IntakeWork
    done: asyncio.Future[list[EventOutcome]]


@dataclass
class IntakeWriter:
    db: SessionFactories
    on_commit: Callable[[], None] = lambda: None  # wakes this process's worker: triage jobs are waiting
    max_batch: int = 128
    _queue: asyncio.Queue[_Pending] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None
    _threaded: ThreadedGroups | None = None  # groups of plain triggers (see threaded.py)
    flood: FloodMeter = field(default_factory=FloodMeter)  # which queue triages each new alert (flood.py)

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
        pending = _Pending(work, asyncio.get_running_loop().create_future())
        await self._queue.put(pending)
        return await pending.done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            results = await self._store([p.work for p in batch])
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
                (outcomes,) = await self._store([pending.work], alone=True)
            except Exception as error:  # noqa: BLE001  (handed to the request that caused it)
                if not pending.done.done():
                    pending.done.set_exception(error)
                continue
            if not pending.done.done():
                pending.done.set_result(outcomes)
        self.on_commit()

    async def _store(self, works: list[IntakeWork], *, alone: bool = False) -> list[list[EventOutcome]]:
        """One transaction for `works`: on the writer's thread if they only trigger (unless `alone`, a
        retry, which raises its error the async way), else through the async domain code."""
        if self._threaded is not None and not alone and all(map(only_triggers, works)):
            async with self.db.write_turn:
                results, queues = await self._threaded.store(works, self.flood)
            for queue in sorted(queues):
                wake_local_workers(queue)
            return results
        async with self.db.write_turn, self.db.write() as session:
            batch = Batch(flood=self.flood)
            results = await apply_works(session=session, works=works, batch=batch)
            await batch.write(session)
            await session.commit()
        return results
