"""What changed in the database, for the live pages of this process.

Writes may come from any server or worker process (`serve --processes N`, `worker`), so in-process pub/sub
would miss most of them. Instead each server process runs one poller, only while a live page is open: every
POLL_INTERVAL it reads the new rows of the two append-only logs, `timeline_events` (every incident change) and
`alert_events` (every alert trigger, acknowledgement and resolution), by primary key, and hands a `Change` to
each open page's queue. That is two index range scans per interval per process, however many browsers watch.

On PostgreSQL ids come from a sequence when a row is inserted, not when its transaction commits, so a row can
become visible after a higher id already was. The poller keeps the ids it skipped over as gaps and asks for
them again (`id IN (...)`) until they appear or GAP_PATIENCE passes (a rolled-back insert leaves a gap
forever). On SQLite writers are serialised, so there are no such gaps.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import structlog
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import AlertEvent
from warroom.db import SessionFactories
from warroom.timeline.models import TimelineEvent

POLL_INTERVAL = 0.5
GAP_PATIENCE = 30.0
MAX_GAPS = 2000
BATCH = 1000
log = structlog.get_logger("warroom.web.live")


@dataclass(frozen=True)
class Change:
    source: str  # "timeline", "alerts", or "stop" (the process is shutting down: end the stream)
    incident_id: int | None = None


STOP = Change("stop")
EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Cursor:
    """The new rows of one append-only table, by id, late commits included."""

    id_column: Any
    columns: tuple[Any, ...]
    last: int | None = None
    gaps: dict[int, float] = field(default_factory=dict)  # a skipped id -> when it was first missed

    async def poll(self, session: AsyncSession, now: float) -> list[Any]:
        if self.last is None:
            self.last = int(await session.scalar(select(func.max(self.id_column))) or 0)
            return []
        condition: ColumnElement[bool] = self.id_column > self.last
        if self.gaps:
            condition = or_(condition, self.id_column.in_(list(self.gaps)))
        query = select(self.id_column, *self.columns).where(condition).order_by(self.id_column)
        rows = list((await session.execute(query.limit(BATCH))).all())
        self._advance([int(row[0]) for row in rows], now)
        return rows

    def _advance(self, ids: list[int], now: float) -> None:
        assert self.last is not None
        for row_id in ids:
            self.gaps.pop(row_id, None)
        expected = self.last + 1
        for row_id in (i for i in ids if i > self.last):
            if row_id - expected <= MAX_GAPS:
                self.gaps.update(dict.fromkeys(range(expected, row_id), now))
            expected = row_id + 1
        self.last = max(self.last, expected - 1)
        for row_id, since in list(self.gaps.items()):
            if now - since > GAP_PATIENCE:
                del self.gaps[row_id]
        if len(self.gaps) > MAX_GAPS:
            self.gaps = dict(sorted(self.gaps.items())[-MAX_GAPS:])


class LiveFeed:
    """One poller per process, shared by every open live page, running only while one is open."""

    def __init__(self, db: SessionFactories, interval: float = POLL_INTERVAL) -> None:
        self.db = db
        self.interval = interval
        self._queues: set[asyncio.Queue[Change]] = set()
        self._task: asyncio.Task[None] | None = None
        self.draining = False

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Change]]:
        queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=1000)
        self._queues.add(queue)
        if self.draining:
            queue.put_nowait(STOP)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="warroom-live-feed")
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    def drain(self) -> None:
        """Tell every open stream to end now (and any opened later), so a shutdown need not wait for them."""
        self.draining = True
        self._publish([STOP])

    def drain_on_exit_signals(self) -> Callable[[], None]:
        """Drain when the process is told to stop (SIGTERM, SIGINT), then run what handled the signal before.

        uvicorn's graceful shutdown waits for open responses to finish, and a live stream only finishes on its
        own after a while: without this, a server with browsers connected takes that long to stop. The handler
        that was there (uvicorn's) still runs, so shutdown proceeds as before. Returns the undo. Only the main
        thread may touch signal handlers; elsewhere this does nothing.
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        loop = asyncio.get_running_loop()
        previous = {sig: signal.getsignal(sig) for sig in EXIT_SIGNALS}

        def handler(sig: int, frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(self.drain)
            before = previous[signal.Signals(sig)]
            if callable(before):
                before(sig, frame)
            elif before == signal.SIG_DFL:
                signal.signal(sig, signal.SIG_DFL)
                signal.raise_signal(sig)

        for sig in EXIT_SIGNALS:
            signal.signal(sig, handler)

        def undo() -> None:
            for sig, before in previous.items():
                if signal.getsignal(sig) is handler:
                    signal.signal(sig, before)

        return undo

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        timeline = Cursor(TimelineEvent.id, (TimelineEvent.incident_id,))
        alerts = Cursor(AlertEvent.id, ())
        while self._queues:
            try:
                await self._tick(timeline, alerts)
            except SQLAlchemyError as error:  # a database hiccup: keep the pages open and try again
                log.warning("live feed poll failed", error=repr(error))
            await asyncio.sleep(self.interval)

    async def _tick(self, timeline: Cursor, alerts: Cursor) -> None:
        now = time.monotonic()
        async with self.db.read() as session:
            changed_incidents = {int(row[1]) for row in await timeline.poll(session, now)}
            alerts_changed = bool(await alerts.poll(session, now))
        changes = [Change("timeline", incident_id) for incident_id in sorted(changed_incidents)]
        if alerts_changed:
            changes.append(Change("alerts"))
        self._publish(changes)

    def _publish(self, changes: list[Change]) -> None:
        for queue in list(self._queues):
            for change in changes:
                if queue.full():  # a stuck page: drop its oldest news rather than grow without bound
                    queue.get_nowait()
                queue.put_nowait(change)
