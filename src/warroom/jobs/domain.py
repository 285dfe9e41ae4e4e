"""Retry rules: pure."""

from __future__ import annotations

from datetime import timedelta

BASE_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(minutes=10)
LEASE = timedelta(minutes=2)


def backoff(attempt: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at 10 minutes, for the `attempt`-th failure (1-based)."""
    delay: timedelta = min(BASE_DELAY * (2 ** max(attempt - 1, 0)), MAX_DELAY)
    return delay


def error_text(error: BaseException, limit: int = 2_000) -> str:
    return f"{type(error).__name__}: {error}"[:limit]


MAX_RETRY_LATER = timedelta(hours=1)


class RetryLater(Exception):
    """A handler asks to run again in `seconds` without spending an attempt: the far side said when
    (a 429's Retry-After), or another job holds what this one needs."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {seconds:g} s")
        self.delay = min(timedelta(seconds=max(seconds, 1.0)), MAX_RETRY_LATER)
        self.reason = reason
