"""PostgreSQL: a group whose every request joins the backlog, stored from the event loop itself.

Such a group (a storm past its integration's meter, backlog.py) writes two multi-row inserts, its raw
requests and their places in the backlog, and derives nothing: there is no Python work to move off the loop.
Handing it to the writer's thread (threaded.py) cost more than the statements: each group waited for the
thread to wake and take the GIL from the loop, and the loop for the thread to hand the result back (on
average 0.3-0.6 ms and 0.1-0.5 ms of a 2-2.6 ms group under wrk -t2 -c32, two server processes). Sent
from the loop through an async connection, in one pipeline, the loop parses the next requests while the
database works. Measured under that load (PagerDuty triggers, 6 rounds each, interleaved): 0.385-0.530 of
the no-op server's rate through the thread (mean 0.452), 0.444-0.525 from the loop (mean 0.485).

SQLite has no async driver of its own (aiosqlite is a thread too): its groups stay on the writer's thread.
"""

from __future__ import annotations

import psycopg
import structlog
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from warroom.alerts.intake.driver_rows import insert_statements
from warroom.alerts.intake.store import Batch, add_queued
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.db import libpq_url

log = structlog.get_logger("warroom.intake")


class QueuedGroups:
    """One async connection, opened on first use, storing one group at a time (the writer's turn)."""

    def __init__(self, url: URL, dialect: Dialect) -> None:
        self.url = url
        self.dialect = dialect
        self._connection: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> QueuedGroups | None:
        """For a PostgreSQL engine; None for any other database."""
        if engine.dialect.name != "postgresql":
            return None
        return cls(engine.url, engine.dialect)

    async def store(self, works: list[IntakeWork]) -> list[list[EventOutcome]]:
        """Store `works` in the backlog, in one transaction committed when this returns; each request's
        outcomes (queued)."""
        if self._connection is None:
            self._connection = await psycopg.AsyncConnection.connect(libpq_url(self.url))
        connection, batch = self._connection, Batch()
        queued = add_queued(batch, works)
        try:
            async with connection.pipeline():  # the inserts and COMMIT sent together: one wait
                for table, rows in batch.inserts():
                    for sql, parameters in insert_statements(table, self.dialect, rows):
                        await connection.execute(sql, parameters)
                await connection.commit()
        except BaseException:
            await self._rollback()
            raise
        return queued

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def _rollback(self) -> None:
        if self._connection is None:
            return
        try:
            await self._connection.rollback()
        except psycopg.Error as error:  # the connection is gone: the next group opens one
            log.warning("intake connection closed after a failed rollback", error=repr(error))
            await self.close()
