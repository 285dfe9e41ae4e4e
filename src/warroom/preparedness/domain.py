"""Preparedness, pure: what makes a service or a person ready for the next incident, as checks that each
say what is wrong and how to fix it, and a score (the share of checks passed). No grades beyond that: the
point is the list of things to fix (the seeds: drills find weak spots; they are not pass or fail)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

INTAKE_QUIET = timedelta(days=7)  # no event for longer: the sender may be broken or pointed elsewhere
SCHEDULE_AHEAD = timedelta(days=14)  # a schedule with nobody on call in the next two weeks has a gap
DRILL_WITHIN = timedelta(days=90)  # the procedure's "at least quarterly"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # what was found
    fix: str = ""  # what to do when not ok


@dataclass(frozen=True)
class Readiness:
    kind: str  # "service" or "person"
    ref: str  # the service's slug or the person's email
    name: str
    checks: list[Check] = field(default_factory=list)

    @property
    def score(self) -> int:
        """Percent of checks passed (100 with no checks)."""
        return round(100 * sum(c.ok for c in self.checks) / len(self.checks)) if self.checks else 100

    @property
    def to_fix(self) -> list[str]:
        return [c.fix for c in self.checks if not c.ok and c.fix]


def uncovered(
    spans: Sequence[tuple[datetime, datetime, str | None]], start: datetime, end: datetime
) -> timedelta:
    """How much of [start, end) has nobody on call, given (start, end, who) spans (who None is a gap)."""
    covered = timedelta()
    for span_start, span_end, who in spans:
        if who is None:
            continue
        lo, hi = max(span_start, start), min(span_end, end)
        if hi > lo:
            covered += hi - lo
    return max(end - start - covered, timedelta())


def age_check(
    name: str, last: datetime | None, now: datetime, limit: timedelta, fix: str, what: str
) -> Check:
    """Passes when `last` is within `limit` of `now`."""
    if last is None:
        return Check(name, False, f"no {what} yet", fix)
    days = (now - last).days
    ago = "today" if days == 0 else f"{days} day(s) ago"
    return Check(name, now - last <= limit, f"last {what} {ago}", fix)
