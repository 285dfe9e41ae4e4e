"""The contain and resolve clocks a severity sets (`contain_target`, `resolve_target`): from the declaration
to the `contained` and `resolved` milestones. Pure. They never pause: the procedure sets them only where the
clock runs around the clock (P1, P2), and the SOP says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.procedure.domain import URGENT_AT, clock_state, parse_duration
from warroom.procedure.schemas import Procedure

# clock -> (the severity field that sets it, the milestone that stops it)
CLOCKS = {"contain": ("contain_target", "contained"), "resolve": ("resolve_target", "resolved")}
WARN_AT = URGENT_AT  # the commander is paged at 80% of a target


@dataclass(frozen=True)
class Clock:
    name: str  # contain or resolve
    target: str  # as the procedure writes it, e.g. 1h
    started_at: datetime
    due_at: datetime
    stopped_at: datetime | None
    state: str  # ok, warn, urgent, overdue; met or missed once stopped

    @property
    def warn_at(self) -> datetime:
        return self.started_at + (self.due_at - self.started_at) * WARN_AT


def clocks(
    procedure: Procedure,
    *,
    severity: str,
    declared_at: datetime,
    stops: dict[str, datetime | None],
    now: datetime,
) -> list[Clock]:
    """The severity's contain and resolve clocks; `stops` maps a milestone to when it was reached."""
    if severity not in procedure.severity_ids():
        return []
    level = procedure.severity(severity)
    found = []
    for name, (field, milestone) in CLOCKS.items():
        target = getattr(level, field)
        if target is None:
            continue
        due = declared_at + parse_duration(target)
        stopped = stops.get(milestone)
        state = ("met" if stopped <= due else "missed") if stopped else clock_state(declared_at, due, now)
        found.append(Clock(name, target, declared_at, due, stopped, state))
    return found


def earliest_warning(procedure: Procedure, severity: str) -> timedelta | None:
    """How long after declaring the first warning of this severity can fall due (None: it sets no clocks)."""
    level = procedure.severity(severity)
    spans = [parse_duration(t) for t in (level.contain_target, level.resolve_target) if t]
    return min(spans) * WARN_AT if spans else None
