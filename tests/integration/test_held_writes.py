"""A job group's last writes are held to its commit (jobs.held): on PostgreSQL they and the commit go out
in one pipeline, one wait for them all; on SQLite in order. Dropped with a savepoint that rolls back;
a commit that would lose them refuses; one that fails at the end undoes the whole transaction. Both
databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from tests.integration.test_paging import fire, setup
from tests.pg_trace import traced
from warroom.alerts.models import AlertEvent
from warroom.jobs import held, service
from warroom.jobs.kinds import JobRun
from warroom.jobs.models import Job
from warroom.paging.engine import stop_paging
from warroom.paging.models import Escalation
from warroom.paging.steps import run_steps
from warroom.wiring import new_worker


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


def in_pipeline(api: Api, dbapi_connection: Any) -> bool:
    driver = dbapi_connection.driver_connection
    return api.context.db.dialect == "postgresql" and bool(driver.pgconn.pipeline_status)


@contextmanager
def sent_in_pipeline(api: Api) -> Iterator[list[tuple[str, bool]]]:
    """Each statement the engine sends, and whether it went out in pipeline mode (PostgreSQL); and, as
    ("checked in", mode), each time a connection went back to the pool: never in the middle of a pipeline
    (another task could take it while its pipeline is still open)."""
    sent: list[tuple[str, bool]] = []

    def log(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append((" ".join(statement.split())[:60], in_pipeline(api, conn.connection)))

    def checked_in(dbapi_connection: Any, _record: Any) -> None:
        sent.append(("checked in", in_pipeline(api, dbapi_connection)))

    engine = api.context.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", log)
    sa.event.listen(engine.pool, "checkin", checked_in)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", log)
        sa.event.remove(engine.pool, "checkin", checked_in)


def _head(statement: str) -> str:
    """ "INSERT INTO jobs", "UPDATE jobs", "COMMIT": what a statement does, to what."""
    return statement.split(" (")[0].split(" SET")[0]


async def _rows(api: Api, model: Any) -> list[Any]:
    async with api.context.db.read() as session:
        return list(await session.scalars(sa.select(model).order_by(model.id)))


async def test_a_paged_alerts_last_writes_go_out_with_the_commit(
    api: Api, sink: Sink, tmp_path: Path
) -> None:
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await fire(api, key, dedup="one")
    await worker.run_once()  # the configuration is cached: the second alert's triage reads none of it
    await fire(api, key, dedup="two")
    with sent_in_pipeline(api) as sent, traced(api.context.db.engine, tmp_path) as wire:
        await worker.run_once()
    assert [r["path"] for r in sink.received] == ["/responder", "/responder"]
    last_writes = [
        "INSERT INTO alert_events",
        "UPDATE escalations",
        "INSERT INTO jobs",  # the next step, due in 5 minutes: no NOTIFY for it
        "INSERT INTO jobs",  # the first step, run in triage, recorded done
        "UPDATE jobs",  # the triage job done
    ]
    assert ("checked in", True) not in sent and ("checked in", False) in sent
    if api.context.db.dialect == "postgresql":  # sent by the driver (warroom.pg_direct): read off the wire
        batches = [[_head(statement) for statement in batch] for batch in wire.batches()]
        assert [*last_writes, "COMMIT"] in [batch[-6:] for batch in batches]  # one wait for them all
        assert ["UPDATE outgoing_messages", "UPDATE jobs", "COMMIT"] in [batch[-3:] for batch in batches]
    else:
        start = next(n for n, (statement, _) in enumerate(sent) if statement.startswith(last_writes[0]))
        assert [_head(statement) for statement, _ in sent[start : start + 5]] == last_writes
        sent_marked = [statement for statement, _ in sent if statement.startswith("UPDATE outgoing_messages")]
        assert len(sent_marked) == 1  # the delivery's record
    (_, second) = await _rows(api, Escalation)
    assert (second.step, second.state) == (1, "active")
    assert [e.action for e in await _rows(api, AlertEvent) if e.alert_id == second.alert_id].count(
        "paged"
    ) == 1
    steps = [j for j in await _rows(api, Job) if j.kind == "escalation.step"]
    assert sorted((j.payload["step"], j.state) for j in steps) == [
        (0, "done"),
        (0, "done"),
        (1, "pending"),
        (1, "pending"),
    ]


async def test_a_savepoint_rolled_back_drops_what_it_held(api: Api) -> None:
    now = api.clock.now()
    kept, dropped = service.JobSpec("test.kept", {}), service.JobSpec("test.dropped", {})
    async with api.context.db.write() as session:
        held.hold(session)
        await service.insert_jobs(session=session, specs=[kept], now=now)
        with pytest.raises(LookupError):
            async with service.savepoint(session):
                await service.insert_jobs(session=session, specs=[dropped], now=now)
                raise LookupError("the savepoint's work fails")
        await held.commit(session)
    assert [job.kind for job in await _rows(api, Job)] == ["test.kept"]


async def test_a_commit_with_writes_still_held_refuses_and_writes_nothing(api: Api) -> None:
    async with api.context.db.write() as session:
        held.hold(session)
        await service.insert_jobs(
            session=session, specs=[service.JobSpec("test.lost", {})], now=api.clock.now()
        )
        with pytest.raises(RuntimeError, match="still held"):
            await session.commit()
    assert await _rows(api, Job) == []


async def test_a_held_write_that_fails_undoes_the_whole_transaction(api: Api) -> None:
    now = api.clock.now()
    spec = service.JobSpec("test.once", {}, idempotency_key="test:once")
    async with api.context.db.write() as session:
        await service.insert_jobs(session=session, specs=[spec], now=now)
        await session.commit()
    async with api.context.db.write() as session:
        held.hold(session)
        await session.execute(sa.update(Job).values(attempts=3))  # at once: undone with the rest
        await service.insert_jobs(session=session, specs=[spec], now=now)  # the same key: refused at the end
        with pytest.raises(Exception, match=r"(?i)unique"):
            await held.commit(session)
    assert [(job.kind, job.attempts) for job in await _rows(api, Job)] == [("test.once", 0)]


async def test_only_queues_with_a_job_due_now_are_woken(api: Api) -> None:
    woken: list[str] = []
    forget = service.wake_here(woken.append)
    now = api.clock.now()
    later = service.JobSpec("test.later", {}, queue="test.later", run_at=now + timedelta(minutes=5))
    due = service.JobSpec("test.due", {}, queue="test.due", run_at=now)
    try:
        async with api.context.db.write() as session:
            await service.insert_jobs(session=session, specs=[later, due], now=now)
            await session.commit()
    finally:
        forget()
    assert woken == ["test.due"]
    assert sorted(job.queue for job in await _rows(api, Job)) == ["test.due", "test.later"]


async def test_on_postgresql_the_held_writes_and_the_commit_wait_once(api: Api, tmp_path: Path) -> None:
    """Read off the wire (libpq's trace of the connection): after the transaction's first statement, the
    held writes and the COMMIT go out, then one Sync, and the server answers ready once."""
    if api.context.db.dialect != "postgresql":
        pytest.skip("SQLite has no wire: its statements are calls in this process")
    trace = tmp_path / "libpq.trace"
    specs = [service.JobSpec("test.one", {}), service.JobSpec("test.two", {}, queue="test.other")]
    async with api.context.db.write() as session:
        held.hold(session)
        await session.execute(sa.select(Job.id).limit(1))  # the transaction begins
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        assert driver is not None
        with trace.open("w") as out:
            driver.pgconn.trace(out.fileno())
            await service.insert_jobs(session=session, specs=specs, now=api.clock.now())
            await service.finish(session=session, job_ids=[0], now=api.clock.now())
            await held.commit(session)
            driver.pgconn.untrace()
    messages = [line.split("\t")[1:4] for line in trace.read_text().splitlines()]
    sent = [text for direction, _, text in messages if direction == "F"]
    assert sum(1 for text in sent if text.startswith("Parse")) == 5  # INSERT, 2 NOTIFY, UPDATE, COMMIT
    assert sum(1 for direction, _, text in messages if direction == "B" and text == "ReadyForQuery") == 1
    assert sorted(job.kind for job in await _rows(api, Job)) == ["test.one", "test.two"]


async def test_a_walk_stopped_after_its_step_in_the_same_transaction_stays_stopped(
    api: Api, sink: Sink
) -> None:
    """The step's advance is held for the commit; an acknowledgement later in the same transaction (its
    UPDATE sent at once) is not written over when the advance goes out."""
    key = await setup(api, sink)
    await fire(api, key)
    await new_worker(api.context, periodic=()).run_once()  # the first step pages; the second waits 5 min
    api.clock.advance(timedelta(minutes=5))
    (step,) = [j for j in await _rows(api, Job) if j.kind == "escalation.step" and j.state == "pending"]
    (escalation,) = await _rows(api, Escalation)
    async with api.context.db.write() as session:
        held.hold(session)
        run = JobRun(session, api.clock.now(), api.context, step.id, 1, {})
        await run_steps(run, [step.payload])  # the last step: the walk would end "exhausted"
        stopped = await stop_paging(
            session=session, alert_ids=[escalation.alert_id], state="acknowledged", actor="t", now=run.now
        )
        assert stopped == [escalation.id]
        await held.commit(session)
    (after,) = await _rows(api, Escalation)
    assert (after.state, after.step) == ("acknowledged", 1)
