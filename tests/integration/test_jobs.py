"""The durable job table and the worker: claim, lease, retry with backoff, park as failed, retry by hand."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from tests.integration.conftest import Api
from warroom.db import libpq_url
from warroom.jobs import service
from warroom.jobs.claims import DriverClaims
from warroom.jobs.domain import LEASE, RetryLater, backoff
from warroom.jobs.kinds import Batched, Grouped, JobRun, Shared
from warroom.jobs.models import Job
from warroom.jobs.worker import deal, groups
from warroom.wiring import JOB_KINDS, PERIODIC_CHECKS, QUEUES, new_worker


def test_the_registered_job_kinds_and_periodic_checks() -> None:
    """The worker's plumbing, listed: a new kind or check must be added here on purpose."""
    assert sorted(JOB_KINDS) == [
        "alert.triage",
        "audit.witness",
        "chat.capture",
        "chat.mirror",
        "chat.slack.respond",
        "drill.inject",
        "escalation.step",
        "escalation.unack_check",
        "hubspot.fetch_ticket",
        "hubspot.write_back",
        "incident.page",
        "intel.hunt",
        "intel.match",
        "intel.poll",
        "jira.action_item",
        "jira.comment",
        "jira.create_issue",
        "jira.update_issue",
        "notify.send",
        "playbook.action",
        "statuspage.notify",
    ]
    assert list(QUEUES) == [
        "default",
        "alert.flood",
        "notify.email",
        "notify.webhook",
        "notify.apprise",
        "notify.log",
        "chat.slack",
        "chat.teams",
        "chat.mattermost",
        "audit.witness",
        "actions",
        "intel.feeds",
        "intel",
        "tracker.jira",
        "crm.hubspot",
    ]
    shapes = {kind: type(shape).__name__ for kind, shape in JOB_KINDS.items() if not callable(shape) or
              isinstance(shape, Shared | Grouped | Batched)}  # fmt: skip
    assert shapes == {"alert.triage": "Grouped", "escalation.step": "Grouped",
                      "escalation.unack_check": "Shared", "notify.send": "Batched"}  # fmt: skip
    assert [check.__name__ for check in PERIODIC_CHECKS] == [
        "check_heartbeats",
        "remind_overdue_action_items",
        "remind_due_updates",
        "run_maintenance_windows",
        "prune_sign_in_records",
        "write_audit_checkpoints",
        "remind_overdue_drills",
        "fire_due_runs",
        "check_response_clocks",
        "flag_silent_status_page",
        "schedule_feed_polls",
        "stage_jira_action_items",
        "check_integrations",
        "prune_raw_events",
    ]


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert backoff(30) == timedelta(minutes=10)


async def enqueue(api: Api, kind: str, **payload: Any) -> int:
    async with api.context.db.write() as session:
        job = await service.enqueue(session=session, spec=service.JobSpec(kind, payload, max_attempts=2),
                                    now=api.clock.now())  # fmt: skip
        await session.commit()
        return job.id


async def claim(api: Api, limit: int = 10) -> list[Job]:
    async with api.context.db.write() as session:
        jobs = await service.claim(session=session, now=api.clock.now(), limit=limit)
        await session.commit()
        return jobs


async def job(api: Api, job_id: int) -> Job:
    async with api.context.db.read() as session:
        found = await session.get(Job, job_id)
        assert found is not None
        return found


async def test_a_claimed_job_is_leased_until_its_lease_lapses(api: Api) -> None:
    job_id = await enqueue(api, "test.any")
    (claimed,) = await claim(api)
    assert (claimed.id, claimed.state, claimed.attempts) == (job_id, "running", 1)
    assert await claim(api) == []
    api.clock.advance(LEASE + timedelta(seconds=1))  # its worker died
    (again,) = await claim(api)
    assert (again.id, again.attempts) == (job_id, 2)


async def test_concurrent_claims_never_share_a_job(api: Api) -> None:
    ids = {await enqueue(api, "test.any", n=n) for n in range(30)}
    batches = await asyncio.gather(*(claim(api, limit=7) for _ in range(6)))
    claimed = [j.id for batch in batches for j in batch]
    assert sorted(claimed) == sorted(ids)


async def test_failures_retry_with_backoff_then_park_with_the_error(api: Api) -> None:
    calls: list[int] = []

    async def boom(run: JobRun, payload: dict[str, Any]) -> None:
        calls.append(run.attempt)
        raise RuntimeError(f"downstream said no ({payload['n']})")

    worker = new_worker(api.context, periodic=(), kinds={"test.boom": boom})
    job_id = await enqueue(api, "test.boom", n=7)
    assert await worker.run_once() == 1
    first = await job(api, job_id)
    assert (first.state, first.attempts) == ("pending", 1)
    assert first.last_error == "RuntimeError: downstream said no (7)"
    assert first.run_at == api.clock.now() + backoff(1)
    assert await worker.run_once() == 0  # not due yet
    api.clock.advance(backoff(1))
    await worker.run_once()
    parked = await job(api, job_id)
    assert (parked.state, parked.attempts, calls) == ("failed", 2, [1, 2])
    failed = (await api.admin.get("/api/v1/jobs", params={"state": "failed"})).json()  # admins only
    assert [(j["id"], j["last_error"]) for j in failed] == [(job_id, "RuntimeError: downstream said no (7)")]
    assert (await api.responder.post(f"/api/v1/jobs/{job_id}/retry")).status_code == 403
    retried = await api.admin.post(f"/api/v1/jobs/{job_id}/retry")
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    assert (await api.admin.post(f"/api/v1/jobs/{job_id}/retry")).status_code == 409


async def test_retry_later_reschedules_without_spending_an_attempt(api: Api) -> None:
    """A handler told "come back in 30 s" (a 429's Retry-After) runs again then, with its attempts intact:
    however often a rate limit answers, it never parks the job as failed."""
    calls: list[int] = []

    async def limited(run: JobRun, payload: dict[str, Any]) -> None:
        calls.append(run.attempt)
        if len(calls) < 4:
            raise RetryLater(30, "ratelimited")

    worker = new_worker(api.context, periodic=(), kinds={"test.limited": limited})
    job_id = await enqueue(api, "test.limited")  # max_attempts=2: three postponements would exhaust it
    for _ in range(3):
        await worker.run_once()
        waiting = await job(api, job_id)
        assert (waiting.state, waiting.attempts) == ("pending", 0)
        assert waiting.run_at == api.clock.now() + timedelta(seconds=30)
        assert waiting.last_error == "RetryLater: ratelimited"
        assert await worker.run_once() == 0  # not before Retry-After
        api.clock.advance(timedelta(seconds=30))
    await worker.run_once()
    assert (await job(api, job_id)).state == "done" and calls == [1, 1, 1, 1]


async def test_a_job_and_its_effects_commit_together(api: Api) -> None:
    """A handler that writes and then fails leaves nothing behind: the write rolls back with it."""

    async def half(run: JobRun, payload: dict[str, Any]) -> None:
        await service.enqueue(session=run.session, spec=service.JobSpec("test.child", {}), now=run.now)
        raise RuntimeError("after the write")

    worker = new_worker(api.context, periodic=(), kinds={"test.half": half})
    await enqueue(api, "test.half")
    await worker.run_once()
    async with api.context.db.read() as session:
        kinds = [j.kind for j in await service.list_jobs(session=session)]
    assert kinds == ["test.half"]


async def test_unknown_kinds_fail_visibly(api: Api) -> None:
    job_id = await enqueue(api, "test.nobody-handles-this")
    await new_worker(api.context, periodic=(), kinds={}).run_once()
    assert "no handler for job kind" in ((await job(api, job_id)).last_error or "")


@pytest.mark.parametrize("state", ["done"])
async def test_counts_by_state(api: Api, state: str) -> None:
    async def fine(run: JobRun, payload: dict[str, Any]) -> None:
        return None

    await enqueue(api, "test.fine")
    await new_worker(api.context, periodic=(), kinds={"test.fine": fine}).run_once()
    async with api.context.db.read() as session:
        assert await service.counts(session=session) == {state: 1}


def test_grouped_kinds_share_a_transaction_and_others_run_alone() -> None:
    kinds = ["escalation.step"] * 5 + ["notify.send"] * 3 + ["test.other"] * 2
    jobs = [Job(id=n, kind=kind) for n, kind in enumerate(kinds)]
    cut = [[j.id for j in group] for group in groups(jobs, 2, JOB_KINDS)]
    assert sorted(cut) == [[0, 1], [2, 3], [4], [5, 6], [7], [8], [9]]  # deliveries go in batches too
    assert groups(jobs[:3], 1, JOB_KINDS) == [[jobs[0]], [jobs[1]], [jobs[2]]]
    shares = deal(
        groups(jobs, 2, JOB_KINDS), 2
    )  # never more tasks than free slots, whatever the claim brought
    assert [[[j.id for j in g] for g in share] for share in shares] == [
        [[8], [0, 1], [4], [7]],
        [[9], [2, 3], [5, 6]],
    ]
    assert len(deal([[j] for j in jobs], 20)) == len(jobs) and deal([], 3) == []


async def test_one_bad_job_in_a_group_fails_alone_and_the_rest_apply_once(api: Api) -> None:
    """A group runs in one transaction; when one job raises, the group is undone and each job runs on its
    own, so the good ones apply exactly once and only the bad one is retried."""
    runs: list[int] = []

    async def step(run: JobRun, payload: dict[str, Any]) -> None:
        runs.append(payload["n"])
        await service.enqueue(
            session=run.session, spec=service.JobSpec("test.child", dict(payload)), now=run.now
        )
        if payload["n"] == 3:
            raise RuntimeError("step 3 is broken")

    ids = [await enqueue(api, "escalation.step", n=n) for n in range(6)]
    await new_worker(api.context, periodic=(), kinds={"escalation.step": Shared(step)}).run_once()
    assert runs == [0, 1, 2, 3, 0, 1, 2, 3, 4, 5]  # the group to the failure, then each alone
    states = {job_id: (await job(api, job_id)).state for job_id in ids}
    assert [states[i] for i in ids] == ["done", "done", "done", "pending", "done", "done"]
    async with api.context.db.read() as session:
        children = [j.payload["n"] for j in await service.list_jobs(session=session, kind="test.child")]
    assert sorted(children) == [0, 1, 2, 4, 5]


def test_a_notify_payload_wakes_other_processes_and_not_its_sender() -> None:
    mine = service.notify_payload("notify.webhook")
    assert service.notified_queue(mine) is None  # this process's loops were woken at commit
    assert service.notified_queue("notify.webhook@4242.0badc0de") == "notify.webhook"
    assert service.notified_queue("default") == "default"  # a payload without a sender (an older process)
    assert service.notified_queue("") is None


async def test_a_rolled_back_savepoint_forgets_its_notices_so_later_jobs_send_their_own(api: Api) -> None:
    """PostgreSQL drops a rolled-back savepoint's NOTIFY: a job queued after it on the same queue (a failed
    first step queued as a job, paging.steps.run_due_now) must notify again, or other workers wait a poll."""
    woken: list[str] = []
    forget = service.wake_here(woken.append)
    listener = None
    if api.context.db.dialect == "postgresql":
        listener = psycopg.connect(libpq_url(api.context.db.engine.url))
        listener.autocommit = True
        listener.execute(f"LISTEN {service.NOTIFY_CHANNEL}")
    spec = service.JobSpec("test.noop", {}, queue="test.after")
    try:
        async with api.context.db.write() as session:
            with pytest.raises(LookupError):
                async with service.savepoint(session):
                    await service.insert_jobs(session=session, specs=[spec], now=api.clock.now())
                    await service.notify_workers(session, "test.undone")
                    raise LookupError("the savepoint's work fails")
            await service.insert_jobs(session=session, specs=[spec], now=api.clock.now())
            await session.commit()
        if listener is not None:
            notified = [n.payload for n in listener.notifies(timeout=30, stop_after=1)]
            assert notified == [service.notify_payload("test.after")]
    finally:
        forget()
        if listener is not None:
            listener.close()
    assert woken == ["test.after"]  # not the savepoint's "test.undone": nothing of it committed
    async with api.context.db.read() as session:
        assert [j.queue for j in await service.list_jobs(session=session, kind="test.noop")] == ["test.after"]


async def test_the_drivers_claim_is_the_sessions_claim(api: Api) -> None:
    """PostgreSQL's worker claims through psycopg alone (jobs.claims): the same jobs, leased the same way,
    returned as the same detached rows as `service.claim`, and never one job to two claims."""
    if api.context.db.dialect != "postgresql":
        pytest.skip("SQLite's worker claims through the session (one writer)")
    now = api.clock.now()
    async with api.context.db.write() as session:
        specs = [
            service.JobSpec("test.any", {"n": n, "deep": {"list": [n]}}, queue="test.a") for n in range(20)
        ]
        specs += [service.JobSpec("test.any", {"n": 99}, queue="test.b")]
        specs += [service.JobSpec("test.any", {"n": 98}, queue="test.a", run_at=now + timedelta(minutes=5))]
        await service.insert_jobs(session=session, specs=specs, now=now)
        await session.commit()
    claimers = [DriverClaims(api.context.db.engine.url, api.context.db.engine.dialect) for _ in range(4)]
    try:
        lease = timedelta(seconds=30)
        batches = await asyncio.gather(
            *(c.claim(now=now, limit=6, queues=["test.a"], lease=lease) for c in claimers)
        )
        claimed = [job for batch in batches for job in batch]
        assert sorted(j.payload["n"] for j in claimed) == list(range(20))  # not test.b's, not the later one
        for batch in batches:
            assert [(j.run_at, j.id) for j in batch] == sorted((j.run_at, j.id) for j in batch)
        columns = [c.name for c in Job.__table__.columns]
        for got in claimed:
            stored = await job(api, got.id)
            assert {c: getattr(got, c) for c in columns} == {c: getattr(stored, c) for c in columns}
            assert (got.state, got.attempts, got.locked_until) == ("running", 1, now + lease)
            assert got.run_at.utcoffset() == timedelta(0)
        assert await claimers[0].claim(now=now, limit=50, queues=["test.a"], lease=lease) == []
        (other,) = await claimers[0].claim(now=now, limit=50, queues=None, lease=lease)
        assert other.payload == {"n": 99}
        api.clock.advance(timedelta(minutes=6))  # the leases lapsed and the later job fell due
        again = await claimers[1].claim(now=api.clock.now(), limit=50, queues=["test.a"], lease=lease)
        assert len(again) == 21 and {j.attempts for j in again} == {1, 2}
        # a worker's queue loops all claim at once when it starts: they share one connection
        fresh = DriverClaims(api.context.db.engine.url, api.context.db.engine.dialect)
        claimers.append(fresh)
        before = await _backends(api)
        await asyncio.gather(*(fresh.claim(now=now, limit=1, queues=[q], lease=lease) for q in "abcde"))
        assert await _backends(api) == before + 1
    finally:
        for claimer in claimers:
            await claimer.close()


async def _backends(api: Api) -> int:
    """Connections to this test's database, from any process."""
    async with api.context.db.read() as session:
        found = await session.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        )
        return int(found.scalar_one())


async def test_a_bulk_queues_claims_never_wait_behind_the_other_queues_claims(api: Api) -> None:
    """PostgreSQL: a bulk queue (QueueLimits.bulk: the flood's triage) claims on a connection of its own,
    so a claim of hundreds of its rows never holds up the pages' claims, which share the other one (and
    the other way round)."""
    if api.context.db.dialect != "postgresql":
        pytest.skip("SQLite's worker claims through the session (one writer)")
    assert QUEUES["alert.flood"].bulk and not QUEUES["default"].bulk
    async with api.context.db.write() as session:
        specs = [service.JobSpec("test.any", {"n": 1}, queue=q) for q in ("alert.flood", "default")]
        await service.insert_jobs(session=session, specs=specs, now=api.clock.now())
        await session.commit()
    worker = new_worker(api.context, periodic=())
    shared = worker._claims  # the connection the other queues' claims share, kept busy here
    assert shared is not None
    connection = await shared._connected()
    busy = asyncio.create_task(connection.execute("SELECT pg_sleep(120)"))
    try:
        await _running(api, "SELECT pg_sleep(120)")
        flood = await asyncio.wait_for(worker._claim("alert.flood", 10), timeout=60)
        assert [j.queue for j in flood] == ["alert.flood"] and not busy.done()
        async with api.context.db.read() as session:
            await session.execute(
                text("SELECT pg_cancel_backend(:pid)"), {"pid": connection.info.backend_pid}
            )
        with pytest.raises(psycopg.errors.QueryCanceled):
            await busy
        assert [j.queue for j in await worker._claim("default", 10)] == ["default"]
    finally:
        busy.cancel()
        await worker._close_connections()


async def _running(api: Api, statement: str) -> None:
    """Until `statement` is running in some backend (a generous deadline: a busy machine is slow)."""
    for _ in range(600):
        async with api.context.db.read() as session:
            found = await session.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE query = :q AND state = 'active'"),
                {"q": statement},
            )
        if found:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{statement!r} never started")
