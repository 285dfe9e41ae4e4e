"""Enqueue, claim, finish. Claiming is one statement: SKIP LOCKED on PostgreSQL, a single writer on SQLite.

The hot paths (a group of escalation steps, a batch of deliveries) add and settle jobs with Core statements
over many rows at once (`insert_jobs`, `settle`); `enqueue`/`stage` are for callers adding one."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, any_, bindparam, event, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from warroom.db import UTCDateTime
from warroom.jobs import held
from warroom.jobs.domain import LEASE, RetryLater, backoff, error_text
from warroom.jobs.models import Job

_JOBS = cast(Table, Job.__table__)
# Inline: no RETURNING of the new ids (nobody reads them), so the INSERT may be held (jobs.held).
_INSERT_JOBS = insert(_JOBS).inline()


@dataclass(frozen=True)
class JobSpec:
    kind: str
    payload: dict[str, Any]
    queue: str = "default"
    run_at: datetime | None = None
    idempotency_key: str | None = None
    max_attempts: int = 5


def job_row(spec: JobSpec, now: datetime) -> dict[str, Any]:
    """Column values for a bulk insert (the intake path adds jobs without ORM objects)."""
    return {
        "kind": spec.kind,
        "queue": spec.queue,
        "payload": spec.payload,
        "state": "pending",
        "attempts": 0,
        "max_attempts": spec.max_attempts,
        "run_at": spec.run_at or now,
        "idempotency_key": spec.idempotency_key,
        "created_at": now,
    }


NOTIFIED = "warroom.jobs.notified"
NOTIFY_CHANNEL = "warroom_jobs"  # PostgreSQL: the workers LISTEN here; the payload is notify_payload()'s
_LOCAL_WAKERS: list[Callable[[str], None]] = []
# This process, in its NOTIFY payloads: its own loops are woken at commit already (wake_here), so its
# listener skips the echo rather than claim a second time for the same jobs.
PROCESS_TOKEN = f"{os.getpid()}.{secrets.token_hex(4)}"


def notify_payload(queue: str) -> str:
    """ "<queue>@<process>": the queue to wake, and which process queued the jobs."""
    return f"{queue}@{PROCESS_TOKEN}"


def notified_queue(payload: str) -> str | None:
    """The queue a NOTIFY payload wakes; None if this process sent it (or it names no queue)."""
    queue, _, sender = payload.partition("@")
    return None if sender == PROCESS_TOKEN or not queue else queue


def wake_here(waker: Callable[[str], None]) -> Callable[[], None]:
    """Call `waker(queue)` whenever a transaction of this process that queued jobs on `queue` commits (the
    worker's loops look at once instead of at their next poll). Returns the undo."""
    _LOCAL_WAKERS.append(waker)
    return lambda: _LOCAL_WAKERS.remove(waker)


def wake_local_workers(queue: str) -> None:
    """Wake this process's workers for `queue` (a transaction that queued jobs there has committed)."""
    for waker in list(_LOCAL_WAKERS):
        waker(queue)


@event.listens_for(Session, "after_commit")
def _wake_local_workers(session: Session) -> None:
    for queue in sorted(session.info.get(NOTIFIED, ())):
        wake_local_workers(queue)


@event.listens_for(Session, "after_transaction_end")
def _forget_notified(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: the next one notifies afresh
        session.info.pop(NOTIFIED, None)


@contextlib.asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """A savepoint that, should it roll back, also forgets the queues notified inside it: PostgreSQL drops
    a rolled-back savepoint's NOTIFYs, so a job queued after it on the same queue must send its own. The
    writes held inside it for the commit (jobs.held) are dropped with it."""
    before, mark = set(session.info.get(NOTIFIED, ())), held.held_count(session)
    try:
        async with session.begin_nested():
            yield
    except BaseException:
        session.info[NOTIFIED] = before
        held.drop_after(session, mark)
        raise


async def notify_workers(session: AsyncSession, queue: str = "default") -> None:
    """Wake the workers' loop for `queue` when this transaction commits: on PostgreSQL every worker's
    (NOTIFY is sent at commit), and on both the committing process's own (`wake_here`). Once per queue
    per transaction: a group of jobs queues many, and each NOTIFY is a round trip."""
    notified: set[str] = session.info.setdefault(NOTIFIED, set())
    if queue in notified:
        return
    notified.add(queue)
    if session.get_bind().dialect.name == "postgresql":
        statement = text("SELECT pg_notify(:channel, :payload)")
        await held.write(session, statement, {"channel": NOTIFY_CHANNEL, "payload": notify_payload(queue)})


async def enqueue(*, session: AsyncSession, spec: JobSpec, now: datetime) -> Job:
    job = await stage(session=session, spec=spec, now=now)
    await session.flush()
    return job


async def stage(*, session: AsyncSession, spec: JobSpec, now: datetime) -> Job:
    """Add a job without flushing: a group of escalation steps stages hundreds, and the ORM then writes
    them in one multi-row INSERT at commit instead of one round trip each."""
    job = Job(**job_row(spec, now))
    session.add(job)
    await notify_workers(session, spec.queue)
    return job


async def insert_jobs(*, session: AsyncSession, specs: Sequence[JobSpec], now: datetime) -> None:
    """Add many jobs with one multi-row INSERT and no ORM objects (a group of steps queues hundreds)."""
    if not specs:
        return
    await held.write(session, _INSERT_JOBS, [job_row(spec, now) for spec in specs])
    # Only the queues with a job due now are woken: one due later (the next escalation step) is found by
    # the workers' polls in time, and a wake for it would be a claim that finds nothing.
    for queue in sorted({spec.queue for spec in specs if spec.run_at is None or spec.run_at <= now}):
        await notify_workers(session, queue)


# Jobs already claimed by this worker (running, first attempt, leased for their queue's lease), written
# for it to run once the transaction commits (jobs.kinds.HandOff): no worker is woken for them. Should this
# worker die first, their lease lapses and any worker claims them as it would a job whose worker died
# mid-run. Their ids are read back (in the rows' order) to run them by.
INSERT_CLAIMED = insert(_JOBS).returning(_JOBS.c.id, sort_by_parameter_order=True)


def claimed_rows(
    *, specs: Sequence[JobSpec], now: datetime, lease: Callable[[str], timedelta]
) -> list[dict[str, Any]]:
    """The rows INSERT_CLAIMED writes for `specs`."""
    return [
        {**job_row(spec, now), "state": "running", "attempts": 1, "locked_until": now + lease(spec.queue)}
        for spec in specs
    ]


async def record_ran(*, session: AsyncSession, specs: Sequence[JobSpec], now: datetime) -> None:
    """Jobs a handler ran in its own transaction rather than queued (the first escalation steps a triage
    group starts, due at once), recorded as done in one INSERT: the jobs table shows what ran, and their
    idempotency keys are taken as a queued job's would be."""
    if specs:
        rows = [{**job_row(spec, now), "state": "done", "attempts": 1, "finished_at": now} for spec in specs]
        await held.write(session, _INSERT_JOBS, rows)


@functools.cache
def claim_statement(dialect: str, by_queue: bool) -> Any:
    """Built once per shape: a worker claims several times a second per queue, and building the
    statement cost more than running it (SQLite). On PostgreSQL the queues are one array parameter, so
    the statement compiles once to the text the worker's driver-level claims run (jobs.claims)."""
    j, now = _JOBS.c, bindparam("b_now", type_=UTCDateTime())
    due = or_(
        and_(j.state == "pending", j.run_at <= now),
        and_(j.state == "running", j.locked_until < now),  # its worker died mid-job
    )
    if by_queue and dialect == "postgresql":
        due = and_(due, j.queue == any_(bindparam("b_queues")))
    elif by_queue:
        due = and_(due, j.queue.in_(bindparam("b_queues", expanding=True)))
    candidates = select(j.id).where(due).order_by(j.run_at, j.id).limit(bindparam("b_limit"))
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    return (
        update(_JOBS)
        .where(j.id.in_(candidates.scalar_subquery()))
        .values(
            state="running", attempts=j.attempts + 1, locked_until=bindparam("b_until", type_=UTCDateTime())
        )
        .returning(*_JOBS.c)
    )


async def claim(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int,
    queues: Sequence[str] | None = None,
    lease: timedelta = LEASE,
) -> list[Job]:
    """Lease up to `limit` due jobs to this worker. The caller commits at once, so others see the lease.
    The jobs come back as detached rows (not in the session): handlers read them, never change them."""
    statement = claim_statement(session.get_bind().dialect.name, bool(queues))
    params: dict[str, Any] = {"b_now": now, "b_limit": limit, "b_until": now + lease}
    if queues:
        params["b_queues"] = list(queues)
    rows = (await session.execute(statement, params)).mappings().all()
    claimed = [Job(**row) for row in rows]
    return sorted(claimed, key=lambda job: (job.run_at, job.id))  # RETURNING keeps no order


_FINISH = (
    update(_JOBS)
    .where(_JOBS.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(
        state="done", finished_at=bindparam("b_now", type_=UTCDateTime()), locked_until=None, last_error=None
    )
)


async def finish(*, session: AsyncSession, job_ids: list[int], now: datetime) -> None:
    await held.write(session, _FINISH, {"b_ids": job_ids, "b_now": now})


async def fail(*, session: AsyncSession, job: Job, error: BaseException, now: datetime) -> None:
    """Retry with backoff until max_attempts, then park as failed with the error visible."""
    await settle(session=session, done=[], failed=[(job, error)], now=now)


# One statement for any number of failed jobs (executemany). Only while the job is still this claim's
# (running, same attempt): a job whose lease lapsed and that another worker took is that worker's now.
_FAIL = (
    update(_JOBS)
    .where(
        _JOBS.c.id == bindparam("b_id"), _JOBS.c.state == "running", _JOBS.c.attempts == bindparam("b_tries")
    )
    .values(
        state=bindparam("b_state"),
        run_at=bindparam("b_run_at", type_=UTCDateTime()),
        locked_until=None,
        last_error=bindparam("b_error"),
        finished_at=bindparam("b_finished", type_=UTCDateTime()),
    )
)


def _failure(job: Job, error: BaseException, now: datetime) -> dict[str, Any]:
    final = job.attempts >= job.max_attempts
    return {
        "b_id": job.id,
        "b_tries": job.attempts,
        "b_state": "failed" if final else "pending",
        "b_run_at": job.run_at if final else now + backoff(job.attempts),
        "b_error": error_text(error),
        "b_finished": now if final else None,
    }


async def settle(
    *, session: AsyncSession, done: Sequence[Job], failed: Sequence[tuple[Job, BaseException]], now: datetime
) -> None:
    """Mark `done` jobs done and `failed` ones for a retry (or parked), in two statements at most."""
    if done:
        await finish(session=session, job_ids=[job.id for job in done], now=now)
    if failed:
        await held.write(session, _FAIL, [_failure(job, error, now) for job, error in failed])


async def postpone(*, session: AsyncSession, job: Job, later: RetryLater, now: datetime) -> None:
    """Run again after the delay the handler asked for; the attempt it was claimed with is given back."""
    await session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            state="pending",
            run_at=now + later.delay,
            attempts=max(job.attempts - 1, 0),
            locked_until=None,
            last_error=error_text(later),
        )
    )


# Only while the job is still this claim's, as for _FAIL; the attempt it was claimed with is given back.
_DEFER = (
    update(_JOBS)
    .where(
        _JOBS.c.id == bindparam("b_id"), _JOBS.c.state == "running", _JOBS.c.attempts == bindparam("b_tries")
    )
    .values(
        state="pending",
        run_at=bindparam("b_run_at", type_=UTCDateTime()),
        attempts=_JOBS.c.attempts - 1,
        locked_until=None,
        last_error=bindparam("b_reason"),
    )
)


async def defer(*, session: AsyncSession, until: Sequence[tuple[Job, datetime]], reason: str) -> None:
    """Put claimed jobs back to run again at the given times without spending an attempt, in one statement
    (a delivery whose message another claim has in flight waits for that send's deadline)."""
    if until:
        params = [
            {"b_id": job.id, "b_tries": job.attempts, "b_run_at": at, "b_reason": reason} for job, at in until
        ]
        await session.execute(_DEFER, params)


async def retry(*, session: AsyncSession, job_id: int, now: datetime) -> None:
    """Put a failed job back in line (the UI's and API's retry button)."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "failed")
        .values(state="pending", run_at=now, attempts=0, finished_at=None)
    )


async def counts(*, session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Job.state, func.count()).group_by(Job.state))
    return {state: int(n) for state, n in rows.all()}


async def list_jobs(
    *, session: AsyncSession, state: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Job]:
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if state:
        query = query.where(Job.state == state)
    if kind:
        query = query.where(Job.kind == kind)
    return list((await session.scalars(query)).all())
