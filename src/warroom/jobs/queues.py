"""The worker's queues and their limits (pure: the settings check the queue names against this list)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class QueueLimits:
    """A queue's concurrent slots, jobs per minute, and how many jobs of one kind share a transaction."""

    slots: int
    per_minute: int
    group: int = 1


# Channels get their own queue, so one cannot starve another. The slots add up to about the database
# pool of one process (db.py), so jobs rarely wait for a connection. Escalation steps run in groups: a
# step is a handful of short statements, and one commit (and one claim) per group instead of per step is
# what lets 10,000 steps falling due at once drain in seconds rather than minutes. Deliveries run in
# batches of `group` (sent concurrently, two transactions per batch); `slots` batches at once.
QUEUES: dict[str, QueueLimits] = {
    "default": QueueLimits(slots=6, per_minute=600_000, group=50),
    "notify.email": QueueLimits(slots=4, per_minute=600, group=10),
    # Webhooks: one receiver is held to Outbound.PER_HOST connections, so this only caps the worker. At
    # 30,000 (500/s) it was what bounded 10,000 pages falling due at once (19.3 s; 5.3 s at 120,000).
    "notify.webhook": QueueLimits(slots=4, per_minute=120_000, group=50),
    "notify.apprise": QueueLimits(slots=4, per_minute=600, group=10),
    "notify.log": QueueLimits(slots=2, per_minute=6_000, group=50),
    # Slack allows about one message a second per channel and 20-50 calls a minute for most methods.
    "chat.slack": QueueLimits(slots=2, per_minute=50),
    "chat.teams": QueueLimits(slots=2, per_minute=60),
    "chat.mattermost": QueueLimits(slots=2, per_minute=120),
}


def limits_for(per_minute: Mapping[str, int]) -> dict[str, QueueLimits]:
    """The queues with the operator's jobs-a-minute (WARROOM_QUEUE_PER_MINUTE) over the defaults: each
    worker process has its own budget, so N workers may send N times as many."""
    return {
        queue: dataclasses.replace(limits, per_minute=per_minute.get(queue, limits.per_minute))
        for queue, limits in QUEUES.items()
    }
