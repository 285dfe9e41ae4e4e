"""Queue limits: the shape, and the operator's overrides over a table of defaults (warroom.wiring.QUEUES)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class QueueLimits:
    """A queue's concurrent slots, jobs per minute, how many jobs of one kind share a transaction, how
    long its claims are leased at most (None: the worker's WARROOM_JOB_LEASE_SECONDS), and whether it is
    bulk."""

    slots: int
    per_minute: int
    group: int = 1
    # Deliveries keep their own in-flight record on the message (a deadline), so their jobs need only a
    # short lease: a dead worker's pages come back sooner, and a lease that lapses mid-send sends nothing.
    lease_seconds: float | None = None
    # A bulk queue's claims (hundreds of rows each) go on a connection of their own (PostgreSQL), not the
    # one every other queue's claims share: in a storm a flood's claim took 20-110 ms, and the pages'
    # claims waited behind it (notify.webhook p99 79-238 ms; 23-121 ms with the flood's apart).
    bulk: bool = False


def limits_for(queues: Mapping[str, QueueLimits], per_minute: Mapping[str, int]) -> dict[str, QueueLimits]:
    """The queues with the operator's jobs-a-minute (WARROOM_QUEUE_PER_MINUTE) over the defaults: each
    worker process has its own budget, so N workers may send N times as many. An unknown queue or a rate
    under one a minute is a ValueError naming it."""
    for queue, rate in per_minute.items():
        if queue not in queues:
            raise ValueError(f"WARROOM_QUEUE_PER_MINUTE: no queue {queue!r}; queues: {', '.join(queues)}")
        if rate < 1:
            raise ValueError(f"WARROOM_QUEUE_PER_MINUTE: {queue}: at least 1 a minute, not {rate}")
    return {
        queue: dataclasses.replace(limits, per_minute=per_minute.get(queue, limits.per_minute))
        for queue, limits in queues.items()
    }
