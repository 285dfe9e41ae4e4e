"""Per-integration rate limits: a token bucket per integration, in this process's memory.

Pure arithmetic on a monotonic time you pass in. Each server process limits on its own, so N replicas admit
up to N times the rate; the limit guards a server against a runaway sender, it is not a billing quota.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Bucket:
    rate_per_second: float
    capacity: float
    tokens: float
    updated: float

    def available(self, now: float) -> int:
        """Whole tokens available now (without taking any)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate_per_second)
        self.updated = now
        return int(self.tokens)

    def take(self, now: float) -> float:
        """Take one token; returns 0 if taken, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate_per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate_per_second


@dataclass
class Throttles:
    buckets: dict[int, Bucket] = field(default_factory=dict)

    def admit(self, integration_id: int, per_minute: int, now: float) -> int:
        """0 to admit, else whole seconds to put in Retry-After."""
        rate = max(per_minute, 1) / 60
        capacity = max(per_minute / 4, 10.0)  # a 15-second burst
        bucket = self.buckets.get(integration_id)
        if bucket is None or bucket.rate_per_second != rate:
            bucket = self.buckets[integration_id] = Bucket(rate, capacity, capacity, now)
        wait = bucket.take(now)
        return 0 if wait == 0 else max(1, math.ceil(wait))
