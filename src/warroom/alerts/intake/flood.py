"""Alert floods: one integration's storm of new alerts must not delay every other service's pages.

Triage jobs run in order of arrival on their queue, so 46,000 new alerts from one sender in 20 s put every
other alert's triage (and every escalation step on the same queue) 5-15 s behind them (bench/paging_storm.py,
PostgreSQL, one worker: pages p99 15.5 s). Here each integration's first FLOOD_ALERTS_PER_SECOND new alerts
in each second are triaged on the default queue, as always; the rest on FLOOD_QUEUE, which has slots of its
own (warroom.wiring.QUEUES): pages p99 0.70 s under a 30 s storm. A flood's alerts are still triaged and
paged, in order, only not ahead of others. At 50 a second an ordinary integration sending 50 alerts a second
saw some of them spill into the flood's backlog (p99 15 s); at 100, within the default rate limit, none.

Counted per server process (each has its own writer), by the time intake took each request: pure, so the
injected clock decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

FLOOD_QUEUE = "alert.flood"
DEFAULT_QUEUE = "default"
FLOOD_ALERTS_PER_SECOND = 100  # the default integration rate limit (6,000 a minute): within it, never a flood
WINDOW = timedelta(seconds=1)


@dataclass
class FloodMeter:
    """New alerts (or, for the intake backlog, requests) per integration in the current one-second window.

    A `sticky` meter keeps an integration over its limit for the whole of a window that follows one that
    went over: a storm's requests then take one path, not the inline path for each second's first `limit`
    and the other for the rest (the intake backlog's meter, backlog.py)."""

    limit: int = FLOOD_ALERTS_PER_SECOND
    sticky: bool = False
    # integration: (window's start, its count so far, whether it began over the limit)
    _windows: dict[int, tuple[datetime, int, bool]] = field(default_factory=dict)

    def over(self, integration_id: int, at: datetime) -> bool:
        """Count one of the integration's at `at`; whether its window is past the limit."""
        start, count, began_over = self._windows.get(integration_id, (at, 0, False))
        if not start <= at < start + WINDOW:  # a new window (or the clock went back: start over)
            follows = at < start + 2 * WINDOW  # right after the last one
            began_over = self.sticky and follows and count > self.limit
            start, count = at, 0
        count += 1
        self._windows[integration_id] = (start, count, began_over)
        return began_over or count > self.limit

    def queue_for(self, integration_id: int, at: datetime) -> str:
        """Count one new alert of the integration taken at `at`; the queue its triage job goes to."""
        return FLOOD_QUEUE if self.over(integration_id, at) else DEFAULT_QUEUE
