"""The job kinds this build knows, listed explicitly (a test prints and checks this list)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.context import AppContext


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


def handlers() -> dict[str, Handler]:
    # Imported here: handler modules import services that import this registry's users.
    from warroom.alerts.triage import triage_alert
    from warroom.chat.jobs import capture_message, mirror_room, respond
    from warroom.paging.delivery import send_message
    from warroom.paging.engine import run_step, unack_check

    return {
        "alert.triage": triage_alert,
        "chat.capture": capture_message,
        "chat.mirror": mirror_room,
        "chat.slack.respond": respond,
        "escalation.step": run_step,
        "escalation.unack_check": unack_check,
        "notify.send": send_message,
    }
