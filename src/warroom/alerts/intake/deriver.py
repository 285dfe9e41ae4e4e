"""The intake backlog's deriver (backlog.py): passes over the backlog, each one transaction, and what to do
when one fails.

On SQLite the intake writer runs the passes itself, between groups (SQLite has one writer: a pass and a
group cannot overlap). On PostgreSQL the deriver runs as a task of its own, with a thread and connection of
its own, beside the writer's: a pass holds no intake group up. Measured before (one writer doing both, two
server processes): PostgreSQL's paced 200/s read p99 203 ms, requests waiting out passes, and a storm's
backlog was derived 17.6-54.3 s after it ended, passes limited to a fifth of the writer's time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

import structlog

from warroom.alerts.intake.backlog import (
    DERIVE_BATCH,
    IDLE_CHECK_SECONDS,
    derive_backlog,
    has_backlog,
    set_aside_oldest,
)
from warroom.alerts.intake.threaded import ThreadedGroups
from warroom.db import SessionFactories
from warroom.jobs.service import wake_local_workers

log = structlog.get_logger("warroom.intake")
BUSY_BATCH = 50  # requests a pass derives while requests keep coming: on SQLite each waits out one pass
# While requests keep coming, the share of the time passes may take: the senders waiting on their answer
# come first; the backlog is derived in full as soon as they pause. On PostgreSQL a pass holds no group up,
# but takes CPU from intake on the same machine: at 0.5, two server processes answered 2,500-3,300
# requests/s and derived their backlog 2-4 s after; at 0.2, 4,300-4,700/s and 10 s after, as many alerts a
# second over both (2,600-2,800/s).
BUSY_SHARE = 0.2
# PostgreSQL: another process holds the deriver's lock (and derives this one's requests too): ask again
# after this long, not at every group that joins the backlog.
LOCKED_OUT_SECONDS = 1.0


@dataclass
class BacklogDeriver:
    db: SessionFactories
    on_commit: Callable[[], None]  # wakes this process's worker: triage jobs are waiting
    arrivals: Callable[[], int]  # requests the writer has been handed so far
    pending: bool = True  # the database may hold a backlog (checked at start, and when idle)
    _threaded: ThreadedGroups | None = None
    _arrivals_at_pass: int = -1  # arrivals() when the last pass began
    _next_pass: float = 0.0  # (monotonic) while requests keep coming, no pass before this
    _locked_out_until: float = 0.0  # (monotonic) no pass before this: another process derives
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self._threaded = ThreadedGroups.for_engine(self.db.engine)

    @property
    def concurrent(self) -> bool:
        """Passes on a task of their own (PostgreSQL), not between the writer's groups."""
        return self.db.engine.dialect.name == "postgresql"

    def joined(self) -> None:
        """Requests joined the backlog: derive them."""
        self.pending = True
        self._wake.set()

    def start(self) -> None:
        if self.concurrent and self._task is None:
            self._task = asyncio.create_task(self._run(), name="intake-backlog")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._threaded is not None:
            await self._threaded.close()
            self._threaded = None

    def due(self) -> bool:
        """A pass now? Requests waiting to be stored are the caller's to check first."""
        now = time.monotonic()
        return self.pending and now >= self._locked_out_until and (not self._busy() or now >= self._next_pass)

    def seconds_to_next(self) -> float:
        return max(self._next_pass - time.monotonic(), self._locked_out_until - time.monotonic(), 0.0)

    async def run_pass(self) -> None:
        """One pass: BUSY_BATCH requests while requests keep coming, DERIVE_BATCH when they pause; then
        the time before the next, so passes take at most BUSY_SHARE of the time while busy."""
        busy = self._busy()
        started, self._arrivals_at_pass = time.monotonic(), self.arrivals()
        await self._derive_safely(BUSY_BATCH if busy else DERIVE_BATCH)
        ended = time.monotonic()
        self._next_pass = ended + (ended - started) * (1 - BUSY_SHARE) / BUSY_SHARE

    def _busy(self) -> bool:
        return self.arrivals() != self._arrivals_at_pass

    async def _run(self) -> None:
        """PostgreSQL's loop: a pass when due, else wait for requests to join or IDLE_CHECK_SECONDS (another
        process's crash may have left a backlog)."""
        while True:
            if not self.pending:
                with suppress(TimeoutError):  # (idle: ask the database anyway)
                    await asyncio.wait_for(self._wake.wait(), IDLE_CHECK_SECONDS)
                self.pending = True
            if not self.due():
                await asyncio.sleep(self.seconds_to_next())
                continue
            self._wake.clear()  # (before the pass: requests joining during it wake the next)
            await self.run_pass()

    async def _derive_safely(self, limit: int) -> None:
        try:
            await self._derive(limit)
        except Exception as error:  # noqa: BLE001  (the database is away: storing answers for itself)
            log.error("intake backlog not derived; trying again when idle", error=repr(error))
            self.pending = False  # the idle check asks again in IDLE_CHECK_SECONDS

    async def _derive(self, limit: int) -> None:
        """One pass over the backlog; a pass that fails is tried a request at a time, and a request that
        fails alone is set aside with its error."""
        async with self.db.read() as session:  # (idle writers ask every few seconds: no write turn)
            if not await has_backlog(session):
                self.pending = False
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
        elif self.concurrent:  # a backlog, none taken: another process holds the deriver's lock
            self._locked_out_until = time.monotonic() + LOCKED_OUT_SECONDS
        # Fewer than asked: the backlog is done, or another process holds the deriver's lock (PostgreSQL).
        self.pending = taken == limit

    async def _derive_pass(self, limit: int) -> int:
        """One transaction: on the deriver's thread if the requests only trigger, else the async way."""
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
