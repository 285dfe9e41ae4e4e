"""The shapes a job kind can take, and what its handler gets. The table of kinds is the composition
root's (warroom.wiring.JOB_KINDS), handed to the worker: jobs/ knows no domain."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.context import AppContext
from warroom.jobs.models import Job
from warroom.jobs.service import JobSpec, claimed_rows
from warroom.outbound import Outbound


@dataclass
class HandOff:
    """Jobs a run adds already claimed (jobs.service.INSERT_CLAIMED) for this worker to run as soon as the
    run's transaction commits, rather than wait on their queue for a wake, a claim gap and a claim: a page
    due at once goes out that much sooner (in a storm on two cores, that wait was p99 382-630 ms).
    `admits(spec)` says whether a job may be handed off: a batched kind, due now, on a queue of this worker
    whose rate has room (it takes its token from that rate, as a claim would). `lease(queue)` is how long
    its claim is leased; `jobs` are those handed off so far in this transaction, and `notes` what a job's
    handler is handed with it (BatchRun.notes: a delivery's message, already marked as being sent)."""

    admits: Callable[[JobSpec], bool]
    lease: Callable[[str], timedelta]
    jobs: list[Job] = field(default_factory=list)
    notes: dict[int, Any] = field(default_factory=dict)
    held: Counter[str] = field(
        default_factory=Counter
    )  # per queue: admitted, not yet started (jobs.handoffs)

    def rows(self, specs: Sequence[JobSpec], now: datetime) -> list[dict[str, Any]]:
        """The rows of `specs` (each admitted) as jobs handed off, for the caller to write with
        jobs.service.INSERT_CLAIMED (with its other writes, in one wait: db.inserted_ids), then `took`."""
        return claimed_rows(specs=specs, now=now, lease=self.lease)

    def took(self, ids: Sequence[int], rows: Sequence[dict[str, Any]], notes: Sequence[Any]) -> None:
        """The jobs written from `rows` (their new `ids`, in order) are handed off, each with its note."""
        claimed = [Job(id=job_id, **row) for job_id, row in zip(ids, rows, strict=True)]
        self.jobs.extend(claimed)
        self.notes.update((job.id, note) for job, note in zip(claimed, notes, strict=True))

    def forget_after(self, count: int) -> None:
        """Drop the jobs handed off after the first `count` (their savepoint rolled back)."""
        for job in self.jobs[count:]:
            self.notes.pop(job.id, None)
        del self.jobs[count:]


@dataclass(frozen=True)
class JobRun:
    """What a handler gets: the job's own transaction, the time, and the app's context."""

    session: AsyncSession
    now: datetime
    context: AppContext
    job_id: int
    attempt: int
    # Shared by the jobs of one group (one transaction, one `now`): lookups that cannot change within it.
    memo: dict[str, Any] = field(default_factory=dict)
    # Deliveries call this before their first write to `session` (SQLite's one writer, taken in turn).
    take_turn: Callable[[], Awaitable[None]] = field(default=lambda: _no_turn())
    hand_off: HandOff | None = None  # the worker's, where it runs handed-off jobs after the commit


async def _no_turn() -> None:
    return None


Handler = Callable[[JobRun, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Grouped:
    """A kind whose jobs run many to one transaction through one call (`run_all` gets every payload of
    the group, in claim order), so it can read and write with a few set-wise statements instead of a
    handful per job. Called with one payload, it is a plain handler (a group that failed is re-run so)."""

    run_all: Callable[[JobRun, list[dict[str, Any]]], Awaitable[None]]

    async def __call__(self, run: JobRun, payload: dict[str, Any]) -> None:
        await self.run_all(run, [payload])


UNBOUNDED = 1_000_000  # places for a batched kind that asks for no bound


@dataclass(frozen=True)
class BatchRun:
    """What a batched kind gets: claimed jobs it runs in its own short transactions around slow outside
    work, settling each job (jobs.service.settle) in the transaction that records its outcome."""

    context: AppContext
    jobs: list[Job]
    http: Outbound  # the worker's, reused: a connection pool instead of a client per call
    # Places for outside calls whose outcome is not recorded yet, shared by every batch of this kind on this
    # queue in this worker (Batched.places), so batches running side by side stay under one bound together.
    places: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(UNBOUNDED))
    notes: Mapping[int, Any] = field(default_factory=dict)  # handed-off jobs' (HandOff.notes), by job id


@dataclass(frozen=True)
class Batched:
    """A kind whose jobs wait on the network (deliveries): `run_batch` takes a claimed batch as a whole.
    `places` bounds the outside calls its batches on one queue may have unrecorded at once (BatchRun)."""

    run_batch: Callable[[BatchRun], Awaitable[None]]
    places: int | None = None


@dataclass(frozen=True)
class Shared:
    """A plain handler whose jobs may share one transaction with others of their kind (each idempotent and
    touching few rows): one claim and one commit per group instead of per job."""

    handler: Handler

    async def __call__(self, run: JobRun, payload: dict[str, Any]) -> None:
        await self.handler(run, payload)


Kind = Handler | Shared | Grouped | Batched


def runs_in_groups(kind: Kind | None) -> bool:
    """Whether jobs of this kind are claimed and run together (Shared, Grouped and Batched kinds)."""
    return isinstance(kind, Shared | Grouped | Batched)
