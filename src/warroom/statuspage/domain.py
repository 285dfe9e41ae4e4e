"""Status page rules, pure: statuses and their order, the page's overall indicator, uptime from a status
history, and the incident and maintenance state machines."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from warroom.errors import FieldProblem, IllegalTransition, invalid

# Worst last: the order picks a day's colour and a group's status.
COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
RANK = {status: rank for rank, status in enumerate(COMPONENT_STATUSES)}
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
IMPACTS = ("none", "minor", "major", "critical")
INDICATORS = IMPACTS  # status.json's indicator: one of none, minor, major, critical (as documented)
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
}
MAINTENANCE_DESCRIPTION = "Service Under Maintenance"
# What a component's status says about the page: degraded is minor, a partial outage major, a major one
# critical; maintenance is planned, not an outage.
STATUS_INDICATOR = {
    "operational": "none",
    "under_maintenance": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
# Outage minutes as Statuspage counts them: a major outage fully, a partial outage at 30%; degraded
# performance and maintenance are not downtime.
OUTAGE_WEIGHT = {"major_outage": 1.0, "partial_outage": 0.3}
LABELS = {
    "operational": "Operational",
    "under_maintenance": "Under maintenance",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "verifying": "Verifying",
    "completed": "Completed",
}
# What a drafted status incident says by the severity's rank in the procedure (0 the most severe): the
# page's impact and the status its components take when the draft is published. Below the third rank, a
# degraded component with no impact line.
DRAFT_IMPACTS = (("critical", "major_outage"), ("major", "partial_outage"), ("minor", "degraded_performance"))


def draft_impact(rank: int) -> tuple[str, str]:
    return DRAFT_IMPACTS[rank] if 0 <= rank < len(DRAFT_IMPACTS) else ("none", "degraded_performance")


OPEN_MAINTENANCE = ("scheduled", "in_progress", "verifying")
ACTIVE_MAINTENANCE = ("in_progress", "verifying")


def check_component_status(status: str, field: str = "status") -> str:
    if status not in RANK:
        raise invalid(field, f"unknown component status {status!r}; one of {', '.join(COMPONENT_STATUSES)}")
    return status


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=RANK.__getitem__, default="operational")


def overall(component_statuses: Iterable[str], open_impacts: Iterable[str]) -> tuple[str, str]:
    """(indicator, description) for the whole page: the worst of what the components and the open
    incidents' impacts say. Maintenance alone keeps `none` and says so."""
    statuses = list(component_statuses)
    levels = [STATUS_INDICATOR[s] for s in statuses] + [i for i in open_impacts if i in IMPACTS]
    indicator = max(levels, key=IMPACTS.index, default="none")
    if indicator == "none" and "under_maintenance" in statuses:
        return indicator, MAINTENANCE_DESCRIPTION
    return indicator, DESCRIPTIONS[indicator]


# --- uptime -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    at: datetime
    status: str


@dataclass(frozen=True)
class Day:
    day: date
    worst: str | None  # None: the component did not exist yet (no data)
    outage_minutes: float
    minutes: float  # how much of the day is counted (today: up to now)

    @property
    def uptime(self) -> float | None:
        return None if self.worst is None else percent(self.outage_minutes, self.minutes)


@dataclass(frozen=True)
class Uptime:
    days: list[Day]
    outage_minutes: float
    minutes: float

    @property
    def percent(self) -> float | None:
        return percent(self.outage_minutes, self.minutes) if self.minutes else None


def percent(outage: float, total: float) -> float:
    """Uptime in percent, cut (not rounded) to two decimals, so any outage shows below 100."""
    if total <= 0:
        return 100.0
    return math.floor((1 - outage / total) * 10_000) / 100


def segments(
    changes: Sequence[Change], start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str]]:
    """The history cut to [start, end): (from, to, status) runs. Before the first change there is no data."""
    ordered = sorted(changes, key=lambda c: c.at)
    out: list[tuple[datetime, datetime, str]] = []
    for number, change in enumerate(ordered):
        until = ordered[number + 1].at if number + 1 < len(ordered) else end
        lo, hi = max(change.at, start), min(until, end)
        if lo < hi:
            out.append((lo, hi, change.status))
    return out


def uptime(changes: Sequence[Change], *, now: datetime, days: int = 90) -> Uptime:
    """One `Day` per UTC day, oldest first, ending today, coloured by the worst status held that day."""
    today = now.astimezone(UTC).date()
    out: list[Day] = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        start = datetime.combine(day, time(), UTC)
        end = min(start + timedelta(days=1), now)
        runs = segments(changes, start, end)
        if not runs:
            out.append(Day(day, _in_force(changes, start) if end <= start else None, 0.0, 0.0))
            continue
        minutes = sum((hi - lo).total_seconds() for lo, hi, _ in runs) / 60
        outage = sum((hi - lo).total_seconds() / 60 * OUTAGE_WEIGHT.get(s, 0.0) for lo, hi, s in runs)
        out.append(Day(day, worst(s for _, _, s in runs), outage, minutes))
    return Uptime(out, sum(d.outage_minutes for d in out), sum(d.minutes for d in out))


def _in_force(changes: Sequence[Change], at: datetime) -> str | None:
    """The status held at `at` (today at the stroke of midnight has no minutes yet, but has a status)."""
    before = [c for c in changes if c.at <= at]
    return max(before, key=lambda c: c.at).status if before else None


# --- incidents and maintenances ------------------------------------------------------------------------


def check_incident_status(current: str | None, target: str) -> None:
    """Any unresolved status may follow another (investigations go back and forth); resolved is final,
    though a resolved incident may take a further resolved note."""
    if target not in INCIDENT_STATUSES:
        raise invalid("status", f"unknown incident status {target!r}; one of {', '.join(INCIDENT_STATUSES)}")
    if current == "resolved" and target != "resolved":
        raise IllegalTransition(
            "a resolved incident cannot be reopened; publish a new one",
            [FieldProblem("status", "allowed: resolved")],
        )


def check_impact(impact: str) -> str:
    if impact not in IMPACTS:
        raise invalid("impact", f"unknown impact {impact!r}; one of {', '.join(IMPACTS)}")
    return impact


MAINTENANCE_NEXT = {
    "scheduled": ("in_progress", "completed"),
    "in_progress": ("verifying", "completed"),
    "verifying": ("in_progress", "completed"),
    "completed": (),
}


def check_maintenance_status(current: str, target: str) -> None:
    if target not in MAINTENANCE_NEXT:
        raise invalid(
            "status", f"unknown maintenance status {target!r}; one of {', '.join(MAINTENANCE_NEXT)}"
        )
    if target == current == "completed":
        return  # a note after the fact
    if target != current and target not in MAINTENANCE_NEXT[current]:
        allowed = ", ".join(MAINTENANCE_NEXT[current]) or "none (completed is final)"
        raise IllegalTransition(
            f"a {current} maintenance cannot become {target}; allowed: {allowed}",
            [FieldProblem("status", f"allowed: {allowed}")],
        )


def check_window(scheduled_for: datetime, scheduled_until: datetime) -> None:
    if scheduled_until <= scheduled_for:
        raise invalid("scheduled_until", "must be after scheduled_for")


def due_transitions(
    status: str, scheduled_for: datetime, scheduled_until: datetime, now: datetime
) -> list[str]:
    """What the clock does to a maintenance: start it when its window opens, complete it when the window
    closes (both, in order, when the worker was away for the whole window)."""
    steps: list[str] = []
    if status == "scheduled" and now >= scheduled_for:
        steps.append("in_progress")
        status = "in_progress"
    if status in ACTIVE_MAINTENANCE and now >= scheduled_until:
        steps.append("completed")
    return steps


def restored_status(previous: str | None) -> str:
    """After a window a component returns to what it was, unless that was maintenance too."""
    return previous if previous and previous != "under_maintenance" else "operational"
