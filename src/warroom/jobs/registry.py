"""The job kinds this build knows, listed explicitly (a test prints and checks this list)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.context import AppContext

if TYPE_CHECKING:
    from warroom.jobs.models import Job
    from warroom.notify.channels import Outbound


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


@dataclass(frozen=True)
class BatchRun:
    """What a batched kind gets: claimed jobs it runs in its own short transactions around slow outside
    work, settling each job (jobs.service.settle) in the transaction that records its outcome."""

    context: AppContext
    jobs: list[Job]
    http: Outbound  # the worker's, reused: a connection pool instead of a client per call


@dataclass(frozen=True)
class Batched:
    """A kind whose jobs wait on the network (deliveries): `run_batch` takes a claimed batch as a whole."""

    run_batch: Callable[[BatchRun], Awaitable[None]]


Kind = Handler | Grouped | Batched


def handlers() -> dict[str, Kind]:
    # Imported here: handler modules import services that import this registry's users.
    from warroom.alerts.triage import triage_alerts
    from warroom.chat.jobs import capture_message, mirror_room, respond
    from warroom.paging.delivery import send_messages
    from warroom.paging.engine import unack_check
    from warroom.paging.steps import run_steps
    from warroom.statuspage.notices import send_notices

    return {
        "alert.triage": Grouped(triage_alerts),
        "chat.capture": capture_message,
        "chat.mirror": mirror_room,
        "chat.slack.respond": respond,
        "escalation.step": Grouped(run_steps),
        "escalation.unack_check": unack_check,
        "notify.send": Batched(send_messages),
        "statuspage.notify": send_notices,
    }
