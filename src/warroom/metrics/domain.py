"""Response metrics from timeline milestones: pure functions, no I/O, no clock.

Durations are differences of aware instants, so a DST change between two milestones cannot add or remove
an hour. A missing milestone makes that duration None, and None values are left out of aggregates (never
counted as zero).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from warroom.durations import spoken

FIRST_WINS = (
    "impact_started", "detected", "declared", "acknowledged", "contained", "mitigated",
    "eradicated", "notified",
)  # fmt: skip
LAST_WINS = ("compromised",)  # an estimate, revised by recording it again
METRICS = (
    "time_to_detect",
    "time_to_acknowledge",
    "time_to_contain",
    "time_to_resolve",
    "time_to_recover",
    "dwell_time",
)
GROUPINGS = ("severity", "service", "type", "playbook", "team", "month")


@dataclass(frozen=True)
class Milestones:
    """One incident's milestones as its timeline recorded them."""

    impact_started: datetime | None = None
    detected: datetime | None = None
    declared: datetime | None = None
    acknowledged: datetime | None = None
    contained: datetime | None = None
    mitigated: datetime | None = None
    resolved: datetime | None = None  # the resolution that stands: the first after the last reopen
    reopens: int = 0
    compromised: datetime | None = None  # first malicious activity, the latest estimate
    eradicated: datetime | None = None
    notified: datetime | None = None


def milestones_from(events: Iterable[tuple[str, datetime]]) -> Milestones:
    """Read (kind, at) pairs in timeline order: the first of each milestone counts, and a reopen voids the
    resolution before it."""
    found: dict[str, datetime] = {}
    resolved: datetime | None = None
    reopens = 0
    for kind, at in events:
        if kind in FIRST_WINS:
            found.setdefault(kind, at)
        elif kind in LAST_WINS:
            found[kind] = at
        elif kind == "resolved":
            resolved = at if resolved is None else resolved
        elif kind == "reopened":
            resolved, reopens = None, reopens + 1
    return Milestones(**found, resolved=resolved, reopens=reopens)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    # In UTC: Python subtracts two datetimes of the same zone as wall-clock times, which is off by the DST
    # shift when a change lies between them.
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


def durations(m: Milestones, *, first_page: datetime | None = None) -> dict[str, float | None]:
    """Seconds for each metric, None where a milestone is missing.

    Acknowledge runs from whichever came first, the declaration or the first page. Recover runs from the
    start of impact (else detection) to the mitigation (else the resolution): how long customers were hurt.
    Dwell runs from the first malicious activity (an estimate) to detection: how long an attacker was in.
    """
    ack_start = min((t for t in (m.declared, first_page) if t is not None), default=None)
    return {
        "time_to_detect": _seconds(m.impact_started, m.detected),
        "time_to_acknowledge": _seconds(ack_start, m.acknowledged),
        "time_to_contain": _seconds(m.detected, m.contained),
        "time_to_resolve": _seconds(m.detected, m.resolved),
        "time_to_recover": _seconds(m.impact_started or m.detected, m.mitigated or m.resolved),
        "dwell_time": _seconds(m.compromised, m.detected),
    }


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Stats:
    count: int
    mean: float | None
    p50: float | None
    p90: float | None


def stats(values: Sequence[float]) -> Stats:
    if not values:
        return Stats(count=0, mean=None, p50=None, p90=None)
    return Stats(
        count=len(values),
        mean=sum(values) / len(values),
        p50=percentile(values, 0.5),
        p90=percentile(values, 0.9),
    )


@dataclass(frozen=True)
class IncidentFacts:
    """What the aggregates need of one incident."""

    id: int
    severity: str
    type: str
    declared_at: datetime
    services: tuple[str, ...]
    teams: tuple[str, ...]
    durations: dict[str, float | None]
    target_met: bool | None  # None while unacknowledged and still inside the target
    reopens: int = 0
    playbook: str | None = None  # the playbook it started (security metrics per playbook)


@dataclass
class Summary:
    incidents: int = 0
    reopened: int = 0
    target_met: int = 0
    target_missed: int = 0
    metrics: dict[str, Stats] = field(default_factory=dict)

    @property
    def compliance(self) -> float | None:
        judged = self.target_met + self.target_missed
        return self.target_met / judged if judged else None


def summarise(incidents: Sequence[IncidentFacts]) -> Summary:
    summary = Summary(incidents=len(incidents), reopened=sum(1 for i in incidents if i.reopens))
    summary.target_met = sum(1 for i in incidents if i.target_met is True)
    summary.target_missed = sum(1 for i in incidents if i.target_met is False)
    for metric in METRICS:
        values = [v for i in incidents if (v := i.durations.get(metric)) is not None]
        summary.metrics[metric] = stats(values)
    return summary


def _keys(grouping: str) -> Callable[[IncidentFacts], Iterable[str]]:
    """An incident with two services (or teams) counts in each of them; one with none in "(none)"."""
    if grouping == "severity":
        return lambda i: (i.severity,)
    if grouping == "type":
        return lambda i: (i.type,)
    if grouping == "playbook":
        return lambda i: (i.playbook or "(none)",)
    if grouping == "month":
        return lambda i: (i.declared_at.strftime("%Y-%m"),)
    if grouping == "service":
        return lambda i: i.services or ("(none)",)
    if grouping == "team":
        return lambda i: i.teams or ("(none)",)
    raise ValueError(f"unknown grouping {grouping!r}; use one of: {', '.join(GROUPINGS)}")


def group(incidents: Sequence[IncidentFacts], grouping: str) -> dict[str, Summary]:
    keys = _keys(grouping)
    buckets: dict[str, list[IncidentFacts]] = defaultdict(list)
    for incident in incidents:
        for key in keys(incident):
            buckets[key].append(incident)
    return {key: summarise(buckets[key]) for key in sorted(buckets)}


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change against the previous period (0.25 = 25% more); None with nothing to compare."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


def format_duration(seconds: float | None) -> str:
    """Seconds as the largest two units: "45 s", "12 min", "3 h 5 min", "2 d 4 h" (warroom.durations)."""
    return spoken(seconds)
