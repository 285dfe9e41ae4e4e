"""Groups of plain triggers stored on a thread of their own, through a DB-API connection of their own: the
whole group (BEGIN, one upsert per segment, one insert per table, the workers' NOTIFY, COMMIT) is one
hand-off from the event loop instead of a trip per statement.

Measured on SQLite under wrk -t2 -c32 before this: a group of ~16 requests took 7.3 ms, 3.5 of them opening
its transaction (three trips to aiosqlite's thread, each waiting for a busy event loop and the GIL), and the
loop sat idle 29% of the time while every sender waited on the group. The rows are built on this thread
too, off the loop that parses the next requests. On PostgreSQL what follows the upsert (the group's other
rows, the NOTIFY, COMMIT) goes as one pipeline: one wait instead of one per statement (two server processes
under wrk: 2,092-2,100 -> 2,434-2,450 requests/s).

Only requests that trigger (derive.only_triggers) come here: acknowledgements, resolves, service changes and
look-ups need the async domain code (paging stopped, notes on incidents), so a group holding one goes the
async way (store.apply_works) as before, and so does each request retried alone after its group failed, so
its error is raised exactly where it was. The rows written are the same either way (driver_rows).
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import psycopg
import structlog
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from warroom.alerts.intake.backlog import backlog_batch, claimed_now, deferred_now, merged
from warroom.alerts.intake.derive import derive_triggers_now, only_triggers
from warroom.alerts.intake.driver_rows import insert_statements
from warroom.alerts.intake.flood import FloodMeter
from warroom.alerts.intake.store import Batch, add_derived, add_queued
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.db import libpq_url, set_sqlite_pragmas
from warroom.jobs.service import NOTIFY_CHANNEL, notify_payload

log = structlog.get_logger("warroom.intake")
Stored = tuple[list[list[EventOutcome]], set[str], int]  # each request's outcomes; queues to wake; queued


def _connect(url: URL) -> Any:
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(str(url.database), check_same_thread=False)
        set_sqlite_pragmas(connection)
        return connection
    return psycopg.connect(libpq_url(url))


class ThreadedGroups:
    """One connection, opened on first use and only ever used on the one thread of its executor."""

    def __init__(self, url: URL, dialect: Dialect) -> None:
        self.url = url
        self.dialect = dialect
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake-writer")
        self._connection: Any = None

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> ThreadedGroups | None:
        """For the engine's database; None for an in-memory SQLite database, which one connection owns."""
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        return cls(url, engine.dialect)

    async def store(
        self, works: list[IntakeWork], flood: FloodMeter | None = None, over: list[bool] | None = None
    ) -> Stored:
        """Store `works` (each only_triggers) in one transaction, committed when this returns; `flood`
        picks each triage job's queue (None: the default queue); those `over` their meter, or of an
        integration with a backlog, join the backlog (backlog.py)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._store, works, flood, over or [False] * len(works)
        )

    async def close(self) -> None:
        """Close the connection once any group in flight is done."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._drop)
        self._executor.shutdown(wait=False)

    def _store(self, works: list[IntakeWork], flood: FloodMeter | None, over: list[bool]) -> Stored:
        if self._connection is None:
            self._connection = _connect(self.url)
        connection = self._connection
        try:
            if self.dialect.name == "sqlite":
                connection.execute("BEGIN IMMEDIATE")  # psycopg begins with the first statement
            later = deferred_now(connection, self.dialect, works, over)
            now = [work for work, wait in zip(works, later, strict=True) if not wait]
            batch = Batch(flood=flood)
            derived = add_derived(batch, now, derive_triggers_now(connection, self.dialect, now))
            queued = add_queued(batch, [work for work, wait in zip(works, later, strict=True) if wait])
            queues = {str(job["queue"]) for job in batch.jobs}
            self._finish(connection, batch, queues)
        except BaseException:
            self._rollback()
            raise
        return merged(later, derived, queued), queues, len(queued)

    async def derive_backlog(self, limit: int) -> tuple[int, set[str]] | None:
        """Derive the backlog's oldest `limit` requests in one transaction, committed when this returns, if
        they only trigger (None, and nothing done, if not: the async way derives those); how many were
        taken off the backlog, and the job queues to wake."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._derive_backlog, limit)

    def _derive_backlog(self, limit: int) -> tuple[int, set[str]] | None:
        if self._connection is None:
            self._connection = _connect(self.url)
        connection = self._connection
        try:
            if self.dialect.name == "sqlite":
                connection.execute("BEGIN IMMEDIATE")
            batch, works = backlog_batch(claimed_now(connection, self.dialect, limit))
            if not all(map(only_triggers, works)):
                self._rollback()
                return None
            add_derived(batch, works, derive_triggers_now(connection, self.dialect, works), stored=True)
            queues = {str(job["queue"]) for job in batch.jobs}
            self._finish(connection, batch, queues)
        except BaseException:
            self._rollback()
            raise
        return len(batch.derived_backlog), queues

    def _finish(self, connection: Any, batch: Batch, queues: set[str]) -> None:
        """The group's other rows, the workers' NOTIFY and COMMIT. On PostgreSQL in one pipeline: sent
        together, one wait for them all instead of one each (nothing here needs a row back)."""
        postgresql = self.dialect.name == "postgresql"
        with connection.pipeline() if postgresql else nullcontext():
            for table, rows in batch.inserts():
                for sql, parameters in insert_statements(table, self.dialect, rows):
                    connection.execute(sql, parameters)
            for sql, many in batch.updates(self.dialect):
                connection.cursor().executemany(sql, many)
            for queue in sorted(queues) if postgresql else ():
                connection.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, notify_payload(queue)])
            connection.commit()

    def _rollback(self) -> None:
        try:
            self._connection.rollback()
        except (sqlite3.Error, psycopg.Error) as error:  # the connection is gone: the next group opens one
            log.warning("intake connection closed after a failed rollback", error=repr(error))
            self._drop()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
