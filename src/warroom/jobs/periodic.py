"""Periodic checks: what the worker calls on every pass (the composition root's list, warroom.wiring)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from warroom.context import AppContext

Periodic = Callable[[AppContext], Awaitable[None]]


class AtMostEvery:
    """A periodic check the worker calls on every pass but that runs at most once per `EVERY` in this
    process (the first pass runs it). Subclasses set `EVERY` and `__name__`, and implement `run`."""

    EVERY = timedelta(hours=1)

    def __init__(self) -> None:
        self.next_at: datetime | None = None

    async def __call__(self, context: AppContext) -> None:
        now = context.clock.now()
        if self.next_at is not None and now < self.next_at:
            return
        self.next_at = now + self.EVERY
        await self.run(context, now)

    async def run(self, context: AppContext, now: datetime) -> None:
        raise NotImplementedError
