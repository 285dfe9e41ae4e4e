"""Declarative base, engines and session factories for SQLite (aiosqlite) and PostgreSQL (psycopg 3).

Write transactions on SQLite begin with BEGIN IMMEDIATE: a deferred transaction that reads and then writes
fails with SQLITE_BUSY when another writer committed in between, while IMMEDIATE waits its turn instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Executable

from warroom import json_text

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BEGIN_OPTION = "warroom_sqlite_begin"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite stores naive text, so tz is re-attached on load)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def async_url(url: str) -> str:
    """Pick the async driver for a plain URL (sqlite:/// or postgresql://)."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (Alembic runs synchronously)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}[backend]
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def libpq_url(url: str | URL) -> str:
    """A PostgreSQL URL as psycopg's own connect takes it (the workers' LISTEN, the intake writer's
    connection), password included."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def set_sqlite_pragmas(dbapi_connection: Any) -> None:
    """WAL, foreign keys, a busy timeout, and transactions begun by us (so IMMEDIATE is possible): every
    sqlite3 connection warroom opens, the engine's and the intake writer's own (alerts/intake/threaded.py)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def install_sqlite_pragmas(sync_engine: Any) -> None:
    """The pragmas on each of the engine's connections, and its transactions begun by us."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        set_sqlite_pragmas(dbapi_connection)

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


# JSON columns written and read by warroom.json_text: the same text the intake writer's own statements write.
JSON_TEXT: dict[str, Any] = {"json_serializer": json_text.dumps, "json_deserializer": json_text.loads}


def create_engine_for(url: str, *, echo: bool = False) -> AsyncEngine:
    full = async_url(url)
    if full.startswith("sqlite"):
        engine = create_async_engine(full, echo=echo, **JSON_TEXT)
        install_sqlite_pragmas(engine.sync_engine)
        return engine
    # At most 20 connections per process (a server's intake writer holds one more of its own), waiting
    # (not failing) for one beyond that: N servers and M workers must fit PostgreSQL's max_connections
    # (100 by default), or a job that already delivered its page fails to record it, and its retry pages
    # again.
    # The pool pings only connections idle for a while, and BEGIN goes out with the first statement
    # (warroom.pg_wire).
    from warroom import pg_wire  # psycopg: imported only where PostgreSQL is used

    engine = create_async_engine(
        full, echo=echo, pool_pre_ping=False, pool_size=10, max_overflow=10, pool_timeout=120, **JSON_TEXT
    )
    pg_wire.install(engine.sync_engine)
    return engine


@dataclass(frozen=True)
class WriteHooks:
    """What else must happen with the rows a write session writes, registered at the composition root
    (warroom.wiring): the observers of each new timeline event (warroom.timeline.service.record). They are
    not optional: every write session carries them, so no caller can skip a side effect by opening its
    session some other way."""

    timeline_observers: tuple[Callable[..., Awaitable[None]], ...]


class WriteSession(AsyncSession):
    """A session from `SessionFactories.write`: a change, and the hooks that go with it."""

    def __init__(self, *args: Any, hooks: WriteHooks, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hooks = hooks


class SessionFactories:
    """`read` for queries; `write` for changes (BEGIN IMMEDIATE on SQLite, plain on PostgreSQL).

    `write_turn` queues a process's SQLite writers in order: SQLite admits one writer at a time, and its busy
    handler retries with growing sleeps, which gave some requests a 1-2 s tail under load. PostgreSQL writers
    run concurrently (row locks order them), so there it is a no-op.
    """

    def __init__(self, engine: AsyncEngine, *, hooks: WriteHooks) -> None:
        self.engine = engine
        self.hooks = hooks
        self.write_turn: AbstractAsyncContextManager[object] = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )
        writer = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        self.read = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self.write = async_sessionmaker(
            writer, class_=WriteSession, expire_on_commit=False, autoflush=False, hooks=hooks
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
Writes = Sequence[tuple[Executable, Params]]
Inserts = Sequence[tuple[Executable, Sequence[Mapping[str, Any]]]]


async def send_then_commit(session: AsyncSession, writes: Writes) -> None:
    """Send `writes` in order, then commit. PostgreSQL: in one pipeline (psycopg's pipeline mode), so they
    and the commit go out together and the end waits once for them all. Only for statements nobody reads
    an answer of: in the pipeline SQLAlchemy sees no rows and no row count. An error comes at the end
    (psycopg's own, not wrapped). The COMMIT in the pipeline is sent at driver level: SQLAlchemy's commit
    would hand the connection back to the pool while the pipeline is still open on it. SQLAlchemy's own
    commit after it ends the session's transaction and finds nothing left to send. (A transaction not
    begun yet costs a round trip more: psycopg waits for a BEGIN sent in a pipeline.) SQLite: each in
    turn."""
    await session.flush()  # the ORM's own writes need their answers (new ids): before the pipeline
    if session.get_bind().dialect.name != "postgresql":
        for statement, params in writes:
            await session.execute(statement, params)
        await session.commit()
        return
    from warroom import pg_wire  # psycopg: imported only where PostgreSQL is used

    await pg_wire.pipeline_then_commit(session, writes)
    await session.commit()


async def inserted_ids(session: AsyncSession, inserts: Inserts) -> list[list[int]]:
    """Run INSERTs that each return their new rows' ids (one integer column) and answer each one's ids in
    its rows' order; an INSERT of no rows answers none. PostgreSQL: in one pipeline, one wait for all
    (pg_wire.inserted_ids); SQLite: one after another."""
    wanted = [(statement, rows) for statement, rows in inserts if rows]
    if session.get_bind().dialect.name == "postgresql" and wanted:
        from warroom import pg_wire  # psycopg: imported only where PostgreSQL is used

        answers = iter(await pg_wire.inserted_ids(session, wanted))
    else:
        answers = iter([list((await session.execute(s, rows)).scalars().all()) for s, rows in wanted])
    return [next(answers) if rows else [] for _, rows in inserts]


def session_for(factories: SessionFactories, *, write: bool) -> AsyncSession:
    return (factories.write if write else factories.read)()


class LazyTurn:
    """A process's write turn, taken only when first needed and given back on exit: a delivery job must
    not hold SQLite's turn while it waits on the network, only for its short writes after."""

    def __init__(self, turn: AbstractAsyncContextManager[object]) -> None:
        self._turn = turn
        self._held = False

    async def take(self) -> None:
        if not self._held:
            await self._turn.__aenter__()
            self._held = True

    async def __aenter__(self) -> LazyTurn:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._held:
            self._held = False
            await self._turn.__aexit__(None, None, None)
