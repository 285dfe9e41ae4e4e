"""PostgreSQL: what opens a transaction or a savepoint goes with the statement after it, one wait for both.

psycopg begins a transaction by sending BEGIN and waiting for its answer before the first statement;
SQLAlchemy sends each SAVEPOINT and RELEASE SAVEPOINT on its own and waits; and the pool pings every
connection it hands out. Each is a round trip, and on a busy machine a round trip costs a wait in the run
queue for this process and again for the database's backend: a triage group that pages an alert made 13
of them and the page's record 3 (docs/scaling.md). Here (`install`, for every PostgreSQL engine):

- The connections are in psycopg's autocommit mode and the engine says BEGIN itself. When SQLAlchemy
  begins a transaction, BEGIN is owed; a SAVEPOINT or RELEASE SAVEPOINT statement is owed rather than
  sent. The connection's next statement sends what is owed ahead of itself in one pipeline (in the open
  pipeline, if there is one: jobs.held), so the answers come back together. A transaction that ran no
  statement sends nothing: its commit and rollback find the connection idle (psycopg sends COMMIT or
  ROLLBACK only inside a transaction). What is still owed at the end is dropped: COMMIT releases every
  savepoint, ROLLBACK undoes them.
- A write whose answer nobody reads, though later statements may read what it wrote (`owe_write`, through
  jobs.held.write_soon: triage's UPDATE of its alerts), is owed the same way and goes out with the next
  statement, the commit's included; a commit that would drop one raises instead.
- A connection back in use within FRESH_SECONDS of its last use is not pinged on checkout (HikariCP's
  "alive bypass window" is the same idea, 500 ms there). One idle longer is pinged, and replaced if the
  ping fails. A connection that broke within the window (the database restarted that instant) fails its
  first statement instead: SQLAlchemy sees the disconnect and renews the pool, and that one transaction
  fails (a job is retried; paging.delivery records a sent page again on a fresh connection).
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.abc import Params, Query, QueryNoTemplate
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import ExceptionContext
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from warroom import pg_direct

if TYPE_CHECKING:
    from warroom.db import Inserts, Writes
    from warroom.db import Params as RowsOfParams


FRESH_SECONDS = 1.0
_USED_AT = "warroom.pg_wire.used_at"
_DEFERRED = re.compile(r"(?:RELEASE )?SAVEPOINT \w+")  # as SQLAlchemy words them, with no parameters
# What each connection owes, in order, for its next statement: a command (BEGIN, SAVEPOINT x, RELEASE
# SAVEPOINT x: no rows) or a write (`owe_write`: its statement and rows of parameters).
_Owed = tuple[str, list[dict[str, Any]] | None]
_OWED: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], list[_Owed]] = weakref.WeakKeyDictionary()


def _owe(
    connection: psycopg.AsyncConnection[Any], command: str, rows: list[dict[str, Any]] | None = None
) -> None:
    _OWED.setdefault(connection, []).append((command, rows))


def _forgive(connection: psycopg.AsyncConnection[Any] | None) -> None:
    if connection is not None:
        _OWED.pop(connection, None)


def _deferred(query: Query, params: Any) -> str | None:
    text = query.decode() if isinstance(query, bytes) else query
    if isinstance(text, str) and not params and _DEFERRED.fullmatch(text):
        return text
    return None


async def _send_owed(connection: psycopg.AsyncConnection[Any]) -> None:
    """Send what the connection owes (in pipeline mode each is queued, not waited for). One taken off the
    list only once sent, so none is lost if sending fails half way."""
    owed = _OWED.get(connection)
    while owed:
        command, rows = owed[0]
        cursor = psycopg.AsyncCursor(connection)  # not the engine's OwingCursor: this is the paying
        if rows is None:
            await cursor.execute(command, prepare=False)
        elif len(rows) == 1:
            await cursor.execute(command, rows[0])
        else:
            await cursor.executemany(command, rows)
        owed.pop(0)
    _forgive(connection)


@asynccontextmanager
async def _paying(connection: psycopg.AsyncConnection[Any]) -> AsyncIterator[None]:
    """Around a statement: what the connection owes goes ahead of it, in one pipeline with it (the open
    one if there is one: it waits for them all at its end)."""
    if not _OWED.get(connection):
        yield
    elif connection.pgconn.pipeline_status:
        await _send_owed(connection)
        yield
    else:
        async with connection.pipeline():  # executemany rides it too (psycopg): one wait for all
            await _send_owed(connection)
            yield


class OwingCursor(psycopg.AsyncCursor[Any]):
    """The engine's cursors: a SAVEPOINT or RELEASE is owed; any other statement pays what is owed."""

    async def execute(  # type: ignore[override]  # psycopg's overloads add t-strings (Python 3.14)
        self,
        query: QueryNoTemplate,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> OwingCursor:
        if (command := _deferred(query, params)) is not None:
            _owe(self.connection, command)
            return self
        async with _paying(self.connection):
            await super().execute(query, params, prepare=prepare, binary=binary)
        return self

    async def executemany(
        self, query: Query, params_seq: Iterable[Params], *, returning: bool = False
    ) -> None:
        async with _paying(self.connection):
            await super().executemany(query, params_seq, returning=returning)


class OwingServerCursor(psycopg.AsyncServerCursor[Any]):
    """A named cursor (SQLAlchemy's `stream`) pays what is owed first, one by one: psycopg runs no server
    cursor in a pipeline, and such a cursor lives only inside a transaction."""

    async def execute(
        self, query: Query, params: Params | None = None, *, binary: bool | None = None, **kwargs: Any
    ) -> OwingServerCursor:
        await _send_owed(self.connection)  # outside a pipeline: each waited for in turn
        await super().execute(query, params, binary=binary, **kwargs)
        return self


@dataclass
class _Trust:
    """An engine's pool listeners: which connections count as fresh enough to go unpinged."""

    fresh_seconds: float
    clock: Callable[[], float]
    distrusted_at: float = float("-inf")  # connections last used before this are pinged however recent

    def connected(self, dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.autocommit = True  # BEGIN is the engine's to say (owed until the next statement)
        driver = dbapi_connection.driver_connection
        driver.cursor_factory = OwingCursor
        driver.server_cursor_factory = OwingServerCursor
        record.info[_USED_AT] = self.clock()

    def checked_out(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        used_at = record.info.get(_USED_AT, float("-inf"))
        if used_at > self.distrusted_at and self.clock() - used_at <= self.fresh_seconds:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(";")
        except psycopg.Error as error:  # as SQLAlchemy's pre-ping: this one and every older one replaced
            raise InvalidatePoolError(f"connection lost: {error}") from error
        finally:
            cursor.close()

    def checked_in(self, dbapi_connection: Any, record: Any) -> None:
        record.info[_USED_AT] = self.clock()
        _forgive(getattr(dbapi_connection, "driver_connection", None))


_TRUST: weakref.WeakKeyDictionary[Engine, _Trust] = weakref.WeakKeyDictionary()


def distrust(engine: Engine) -> None:
    """A connection of the engine was found lost: ping each of its connections on their next checkout,
    however recently used (the database may have restarted under them all)."""
    if (trust := _TRUST.get(engine)) is not None:
        trust.distrusted_at = trust.clock()


def _failed(context: ExceptionContext) -> None:
    if context.is_disconnect and context.engine is not None:
        distrust(context.engine)


def _began(connection: Connection) -> None:
    driver = connection.connection.driver_connection
    if driver is not None:
        _forgive(driver)
        _owe(driver, "BEGIN")


def _committed(connection: Connection) -> None:
    """Committing: no command owed is needed any more (COMMIT releases every savepoint), but a write owed
    would be lost: `owe_write`'s callers commit with a statement (jobs.held.commit), which pays it."""
    if connection.invalidated:  # then it has no driver's connection left to owe anything
        return
    driver = connection.connection.driver_connection
    if driver is not None and any(rows is not None for _, rows in _OWED.get(driver, ())):
        raise RuntimeError("a transaction committed with a write still owed: commit with jobs.held.commit")
    _forgive(driver)


def _rolled_back(connection: Connection) -> None:
    """Rolling back: nothing owed is wanted any more."""
    if not connection.invalidated:
        _forgive(connection.connection.driver_connection)


def install(
    engine: Engine, *, fresh_seconds: float = FRESH_SECONDS, clock: Callable[[], float] = time.monotonic
) -> None:
    """Owed BEGINs and savepoints, and pings only for connections idle past `fresh_seconds`, on a
    PostgreSQL engine created without pool_pre_ping (`clock`: seconds, injectable for tests)."""
    trust = _TRUST[engine] = _Trust(fresh_seconds, clock)
    listeners: list[tuple[str, Callable[..., None]]] = [
        ("connect", trust.connected),
        ("checkout", trust.checked_out),
        ("checkin", trust.checked_in),
        ("handle_error", _failed),
        ("begin", _began),
        ("commit", _committed),
        ("rollback", _rolled_back),
    ]
    for name, listener in listeners:
        event.listen(engine, name, listener)


async def owe_write(session: AsyncSession, statement: Executable, params: RowsOfParams) -> None:
    """Run a write nobody reads the answer of, though later statements of the transaction may read what it
    wrote: owed, it goes out ahead of the session's next statement, in one pipeline with it, so it costs
    no wait of its own (its error, if any, is raised by that statement). The transaction must end with a
    statement (jobs.held.commit) or a rollback. Sent by SQLAlchemy at once if it has no direct form."""
    connection = await session.connection()
    direct = pg_direct.form(statement, params, connection.dialect)
    driver = (await connection.get_raw_connection()).driver_connection
    if direct is None or driver is None:
        await session.execute(statement, params)
        return
    _owe(driver, direct.sql, [direct.values(row) for row in pg_direct.rows_of(params)])


async def pipeline_then_commit(session: AsyncSession, writes: Writes) -> None:
    """db.send_then_commit on PostgreSQL: `writes` and the COMMIT in one pipeline. psycopg raises what
    failed at its end, outside SQLAlchemy: a lost connection is raised as SQLAlchemy would (a DBAPIError,
    `connection_invalidated`), and the pool distrusted, as SQLAlchemy would have."""
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    assert driver is not None  # a checked-out connection has its driver's
    dialect = session.get_bind().dialect
    try:
        async with driver.pipeline():
            for statement, params in writes:
                if (direct := pg_direct.form(statement, params, dialect)) is not None:
                    await pg_direct.send(driver, direct, params)  # SQLAlchemy's ~200 us a statement saved
                else:
                    await session.execute(statement, params)
            await driver.execute("COMMIT")  # as a statement: psycopg's commit() would wait for its own sync
    except psycopg.Error as error:
        if not await _lost(session, driver, error):
            raise
        raise DBAPIError.instance(  # said as SQLAlchemy says it: the connection was lost
            "COMMIT", None, error, psycopg.Error, connection_invalidated=True
        ) from error


async def inserted_ids(session: AsyncSession, inserts: Inserts) -> list[list[int]]:
    """db.inserted_ids on PostgreSQL: the INSERTs in one pipeline (pg_direct), one wait for all; psycopg's
    errors raised as SQLAlchemy would raise them (an IntegrityError is SQLAlchemy's)."""
    connection = await session.connection()
    dialect = connection.dialect
    forms = [pg_direct.form(statement, rows, dialect, returning_id=True) for statement, rows in inserts]
    found = [form for form in forms if form is not None]
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None or len(found) < len(inserts):  # SQLAlchemy's to send, one by one
        return [list((await session.execute(s, rows)).scalars().all()) for s, rows in inserts]
    try:
        return await pg_direct.inserted_ids(driver, [(f, i[1]) for f, i in zip(found, inserts, strict=True)])
    except psycopg.Error as error:
        lost = await _lost(session, driver, error)
        statement = "; ".join(form.sql for form in found)
        raise DBAPIError.instance(
            statement, None, error, psycopg.Error, connection_invalidated=lost
        ) from error


async def _lost(session: AsyncSession, driver: psycopg.AsyncConnection[Any], error: psycopg.Error) -> bool:
    """Whether `error` lost the connection; if so it is invalidated and the pool distrusted, as SQLAlchemy
    does with a connection it saw lost."""
    if not isinstance(error, psycopg.OperationalError) or not (driver.broken or driver.closed):
        return False
    await (await session.connection()).invalidate(error)
    distrust(session.get_bind().engine)
    return True
