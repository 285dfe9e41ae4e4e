"""PostgreSQL's wire (warroom.pg_wire), read off libpq's trace: a transaction's BEGIN, a SAVEPOINT, a RELEASE
and an owed write go out with the statement after them, one wait for all; a recently used connection is not
pinged; a lost one is found and replaced; a page sent while the database dropped the worker's connections
is recorded once, not sent again. SQLite has no wire: skipped there."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from tests.fakes.sink import running_sink
from tests.integration.conftest import Api
from tests.integration.test_paging import fire, setup
from tests.pg_trace import traced
from warroom import pg_wire
from warroom.catalog.models import Service
from warroom.db import async_url, libpq_url
from warroom.jobs import held
from warroom.jobs.models import Job
from warroom.notify.models import OutgoingMessage
from warroom.wiring import new_worker


def postgresql_only(api: Api) -> None:
    if api.context.db.dialect != "postgresql":
        pytest.skip("SQLite has no wire: its statements are calls in this process")


class Ticks:
    """An injected monotonic clock for the pool's freshness."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def own_engine(api: Api, ticks: Ticks) -> AsyncIterator[AsyncEngine]:
    """An engine set up as warroom's, on the test's database, with `ticks` as its clock."""
    engine = create_async_engine(async_url(str(api.context.db.engine.url.render_as_string(False))))
    pg_wire.install(engine.sync_engine, clock=ticks)
    try:
        yield engine
    finally:
        await engine.dispose()


def drop_connections(api: Api, pids: Collection[int]) -> int:
    """Terminate these backends (what a restart of the database does to them); how many there were."""
    with psycopg.connect(libpq_url(api.context.db.engine.url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)]
        ).fetchone()
    assert row is not None
    return int(row[0])


async def used_then_dropped(api: Api, engine: AsyncEngine) -> int:
    """A connection of `engine` used, back in its pool, then dropped by the database; its backend's pid."""
    async with engine.connect() as conn:
        pid = int(await conn.scalar(sa.text("SELECT pg_backend_pid()")))
    assert drop_connections(api, [pid]) == 1
    return pid


@contextmanager
def pooled_backends(engine: AsyncEngine) -> Iterator[set[int]]:
    """The backends of the connections `engine`'s pool hands out meanwhile (not the worker's claims
    connection nor its LISTEN, which are its own)."""
    pids: set[int] = set()

    def checked_out(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        pids.add(dbapi_connection.driver_connection.info.backend_pid)

    sa.event.listen(engine.sync_engine.pool, "checkout", checked_out)
    try:
        yield pids
    finally:
        sa.event.remove(engine.sync_engine.pool, "checkout", checked_out)


async def test_begin_savepoint_and_release_go_with_the_next_statement(api: Api, tmp_path: Path) -> None:
    postgresql_only(api)
    with traced(api.context.db.engine, tmp_path) as wire:
        async with api.context.db.write() as session:
            assert await session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
            async with session.begin_nested():
                await session.execute(sa.text("SELECT 1"))
            await session.execute(sa.text("SELECT 2"))
            await session.commit()
    sent = wire.sent()
    assert sent[0] == ";" or sent[0] == "BEGIN"  # a fresh connection is not pinged; a reused one may be
    assert sent[sent.index("BEGIN") :] == [
        "BEGIN",
        "SELECT count(*) AS count_1  FROM jobs",  # its line break, as the trace shows it
        "SAVEPOINT sa_savepoint_1",
        "SELECT 1",
        "RELEASE SAVEPOINT sa_savepoint_1",
        "SELECT 2",
        "COMMIT",
    ]
    assert wire.waits() == (5 if sent[0] == ";" else 4)  # BEGIN + count, SAVEPOINT + 1, RELEASE + 2, COMMIT


async def test_a_transaction_that_ran_nothing_sends_nothing(api: Api, tmp_path: Path) -> None:
    postgresql_only(api)
    async with api.context.db.write() as session:  # the connection is used: the next checkout trusts it
        await session.execute(sa.text("SELECT 1"))
    with traced(api.context.db.engine, tmp_path) as wire:
        async with api.context.db.write() as session:
            await session.connection()  # begun, as far as SQLAlchemy knows
            await session.commit()
    assert wire.sent() == []
    assert wire.waits() == 0


async def test_transactions_stay_atomic(api: Api) -> None:
    """Autocommit at the driver is the engine's own BEGIN's doing: a rollback still undoes, a savepoint
    rolled back still undoes only its part, and a row inserted is not seen by others until the commit."""
    postgresql_only(api)
    insert = sa.text(
        "INSERT INTO jobs (kind, queue, payload, state, attempts, max_attempts, run_at, created_at)"
        " VALUES (:kind, 'default', '{}', 'pending', 0, 5, now(), now())"
    )
    async with api.context.db.write() as session:
        await session.execute(insert, {"kind": "rolled.back"})
        async with api.context.db.read() as other:
            assert await other.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
        await session.rollback()
    async with api.context.db.write() as session:
        await session.execute(insert, {"kind": "kept"})
        try:
            async with session.begin_nested():
                await session.execute(insert, {"kind": "undone"})
                raise LookupError("the savepoint's work fails")
        except LookupError:
            pass
        async with session.begin_nested():
            pass  # owed, and released, and never a statement of its own
        await session.commit()
    async with api.context.db.read() as session:
        assert list(await session.scalars(sa.select(Job.kind))) == ["kept"]


async def test_a_connection_used_within_the_window_is_not_pinged(api: Api, tmp_path: Path) -> None:
    postgresql_only(api)
    ticks = Ticks()
    async with own_engine(api, ticks) as engine:
        async with engine.connect() as conn:  # opened now: fresh
            await conn.execute(sa.text("SELECT 1"))
        (tmp_path / "a").mkdir()
        with traced(engine, tmp_path / "a") as wire:
            ticks.now += pg_wire.FRESH_SECONDS / 2
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        assert wire.sent() == ["BEGIN", "SELECT 1", "ROLLBACK"]
        (tmp_path / "b").mkdir()
        with traced(engine, tmp_path / "b") as wire:
            ticks.now += pg_wire.FRESH_SECONDS * 2
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        assert wire.sent() == [";", "BEGIN", "SELECT 1", "ROLLBACK"]


async def test_a_connection_lost_while_idle_is_replaced(api: Api) -> None:
    postgresql_only(api)
    ticks = Ticks()
    async with own_engine(api, ticks) as engine:
        before = await used_then_dropped(api, engine)
        ticks.now += pg_wire.FRESH_SECONDS * 2  # idle long enough to be pinged: replaced, unseen
        async with engine.connect() as conn:
            after = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        assert after != before


async def test_a_connection_lost_within_the_window_fails_once_then_the_pool_is_renewed(api: Api) -> None:
    postgresql_only(api)
    ticks = Ticks()
    async with own_engine(api, ticks) as engine:
        await used_then_dropped(api, engine)
        with pytest.raises(DBAPIError) as lost:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        assert lost.value.connection_invalidated
        async with engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT 1")) == 1


async def test_held_writes_on_a_lost_connection_say_so_and_the_pool_is_distrusted(api: Api) -> None:
    postgresql_only(api)
    ticks = Ticks()
    async with own_engine(api, ticks) as engine:
        async with AsyncSession(engine) as session:
            pid = await session.scalar(sa.text("SELECT pg_backend_pid()"))
            assert drop_connections(api, [pid]) == 1
            with pytest.raises(DBAPIError) as lost:
                await pg_wire.pipeline_then_commit(session, [(sa.text("SELECT 2"), None)])
            assert lost.value.connection_invalidated
        async with AsyncSession(engine) as session:  # pinged though recent: lost, replaced
            assert await session.scalar(sa.text("SELECT 3")) == 3


@asynccontextmanager
async def holding(api: Api) -> AsyncIterator[AsyncSession]:
    async with api.context.db.write() as session:
        held.hold(session)
        yield session


async def with_web(api: Api) -> None:
    """PostgreSQL only; a service `web` named "Web"."""
    postgresql_only(api)
    await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"})


async def rename_soon(session: AsyncSession, name: str) -> None:
    await held.write_soon(session, _SERVICE_NAMED, {"b_slug": "web", "b_name": name})


async def web_name(api: Api) -> str | None:
    async with api.context.db.read() as session:
        return await session.scalar(sa.select(Service.name).where(Service.slug == "web"))


_SERVICE_NAMED = (
    sa.update(Service).where(Service.slug == sa.bindparam("b_slug")).values(name=sa.bindparam("b_name"))
)


async def test_an_owed_write_goes_with_the_next_statement_which_sees_it(api: Api, tmp_path: Path) -> None:
    await with_web(api)
    with traced(api.context.db.engine, tmp_path) as wire:
        async with holding(api) as session:
            assert await session.scalar(sa.select(Service.name).where(Service.slug == "web")) == "Web"
            await rename_soon(session, "Web 2")
            assert await session.scalar(sa.select(Service.name).where(Service.slug == "web")) == "Web 2"
            await held.commit(session)
    batches = wire.batches()
    assert [len(batch) for batch in batches] == [2, 2, 1], batches  # BEGIN + SELECT, UPDATE + SELECT, COMMIT
    assert batches[1][0].startswith("UPDATE services SET name=") and wire.waits() == 3
    assert await web_name(api) == "Web 2"


async def test_owed_writes_go_with_the_commit_and_in_order(api: Api) -> None:
    await with_web(api)
    async with holding(api) as session:
        for name in ("one", "two", "three"):
            await held.write_soon(session, _SERVICE_NAMED, [{"b_slug": "web", "b_name": name}])  # (a list)
        await held.commit(session)
    assert await web_name(api) == "three"


async def test_an_owed_write_is_undone_with_its_transaction_or_savepoint(api: Api) -> None:
    await with_web(api)
    async with holding(api) as session:
        await rename_soon(session, "rolled back")
        await session.rollback()
    async with holding(api) as session:
        await rename_soon(session, "kept")
        savepoint = await session.begin_nested()
        await rename_soon(session, "in the savepoint")
        await savepoint.rollback()
        await held.commit(session)
    assert await web_name(api) == "kept"


async def test_an_owed_write_is_never_dropped_by_a_plain_commit(api: Api) -> None:
    await with_web(api)
    async with holding(api) as session:
        await rename_soon(session, "lost?")
        with pytest.raises(RuntimeError, match="write still owed"):
            await session.commit()
    assert await web_name(api) == "Web"


async def test_an_owed_write_that_fails_fails_the_next_statement(api: Api) -> None:
    await with_web(api)
    async with holding(api) as session:
        await rename_soon(session, "x" * 10_000)
        with pytest.raises(DBAPIError, match="too long"):
            await session.execute(sa.text("SELECT 1"))


async def test_a_paged_alerts_triage_and_record_wait_five_times(api: Api, tmp_path: Path) -> None:
    """The second alert of a service (its configuration cached) is triaged and paged in one transaction
    and the page recorded in another: 4 waits and 1 (13 and 3 before pg_wire; 9 and 1 before the alerts'
    UPDATE was owed, the configuration's token checked with the commit, the step's named people and the
    service's last recovery cached, and the page's message and job written together)."""
    postgresql_only(api)
    with running_sink() as sink:
        key = await setup(api, sink)
        worker = new_worker(api.context, periodic=())
        with traced(api.context.db.engine, tmp_path) as wire:  # (the first run prepares statements)
            await fire(api, key, dedup="one")
            await worker.run_once()
            await fire(api, key, dedup="two")
            second = wire.mark()
            await worker.run_once()
        assert [r["path"] for r in sink.received] == ["/responder", "/responder"]
    batches = wire.batches(second)
    assert wire.waits(second) == 5, batches
    assert "SELECT warroom_config_is($1)" in batches[-2]  # checked with the commit, not read first
    together = next(batch for batch in batches if batch[0].startswith("SAVEPOINT"))
    assert [text.split(" (")[0] for text in together] == [
        "SAVEPOINT sa_savepoint_1",
        "INSERT INTO outgoing_messages",
        "INSERT INTO jobs",
    ], batches  # the page's first step: its message and its handed-off job, one wait


async def test_a_page_sent_as_the_database_drops_the_connections_is_recorded_once(api: Api) -> None:
    """The sink answers the page only after every connection of the worker was terminated: the record's
    first try finds its connection lost (used a moment ago: not pinged) and tries again on a fresh one. The
    page is recorded sent, and no later run sends it again."""
    postgresql_only(api)
    with running_sink() as sink:
        await api.context.db.engine.dispose()  # from here on, every connection of its pool is in `pids`
        with pooled_backends(api.context.db.engine) as pids:
            key = await setup(api, sink)
            worker = new_worker(api.context, periodic=())
            await fire(api, key, dedup="one")
            sink.before_answer = lambda: drop_connections(api, pids)
            await worker.run_once()
            sink.before_answer = None
        assert [r["path"] for r in sink.received] == ["/responder"]
        api.clock.advance(timedelta(minutes=2))  # past any retry's backoff; the next step is at 5 minutes
        await worker.run_once()
        assert [r["path"] for r in sink.received] == ["/responder"]
    async with api.context.db.read() as session:
        messages = list(await session.scalars(sa.select(OutgoingMessage)))
        sends = list(await session.scalars(sa.select(Job).where(Job.kind == "notify.send")))
    assert [(m.state, m.attempts) for m in messages] == [("sent", 1)]
    assert [(j.state, j.attempts) for j in sends] == [("done", 1)]
