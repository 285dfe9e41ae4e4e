"""PostgreSQL: a group whose every request joins the backlog, stored from the event loop itself, as one
statement.

Such a group (a storm past its integration's meter, backlog.py) stores its raw requests and their places in
the backlog, and derives nothing: there is no Python work to move off the loop. Handing it to the writer's
thread (threaded.py) cost more than the statements: each group waited for the thread to wake and take the
GIL from the loop, and the loop for the thread to hand the result back (0.3-0.6 ms and 0.1-0.5 ms of a
2-2.6 ms group under wrk -t2 -c32, two server processes). From the loop, in psycopg's pipeline mode (two
inserts and COMMIT), each command still cost the loop a wait of its own. As one statement (the raw rows'
INSERT in a WITH, the backlog's INSERT from what it returns) on a connection in autocommit, a group is one
trip and its own transaction, and a refused one leaves nothing to roll back.

Measured (PagerDuty triggers, the no-op server's rate in the same run, rounds interleaved): through the
thread 0.385-0.530 (mean 0.452, 6 rounds); from the loop in a pipeline 0.422-0.606 (mean 0.49, 12 rounds);
as one statement 0.533-0.673 (mean 0.576, 6 rounds).

SQLite has no async driver of its own (aiosqlite is a thread too): its groups stay on the writer's thread.
"""

from __future__ import annotations

from typing import Any, cast

import psycopg
from sqlalchemy import Table
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from warroom.alerts.intake.driver_rows import driver_table
from warroom.alerts.intake.store import Batch, add_queued
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.alerts.models import IntakeBacklog, RawEvent
from warroom.db import libpq_url


class QueuedGroups:
    """One async connection in autocommit, opened on first use, storing one group at a time (the writer's
    turn): the group is one statement, so one transaction and one trip, with nothing to roll back after a
    refusal."""

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
        """Store `works` in the backlog, committed when this returns; each request's outcomes (queued)."""
        if self._connection is None:
            self._connection = await psycopg.AsyncConnection.connect(libpq_url(self.url), autocommit=True)
        batch = Batch()
        queued = add_queued(batch, works)
        try:
            await self._connection.execute(*backlog_statement(self.dialect, batch.raw_events))
        except psycopg.OperationalError:  # the connection is gone: the next group opens one
            await self.close()
            raise
        return queued

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


def backlog_statement(dialect: Dialect, raw_rows: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    """One statement storing `raw_rows` and their places in the backlog, in the rows' order (the raw rows'
    ids follow it, and the backlog's ids the raw rows')."""
    raw = driver_table(cast(Table, RawEvent.__table__), dialect)
    backlog = driver_table(cast(Table, IntakeBacklog.__table__), dialect)
    insert_raw, parameters = raw.statement(raw_rows)
    columns = ", ".join(backlog.columns)
    sql = (
        f"WITH raw AS ({insert_raw} RETURNING id, {columns}) "
        f"INSERT INTO {backlog.name} ({columns}) SELECT {columns} FROM raw ORDER BY id"
    )
    return sql, parameters
