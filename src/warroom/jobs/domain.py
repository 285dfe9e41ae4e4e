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
