"""On-call schedules: pure rotation/layer/override maths (domain) and iCalendar export/import (ical)."""

from warroom.oncall.domain import (
    Layer,
    Override,
    Restriction,
    Rotation,
    Schedule,
    Span,
    final_schedule,
    gaps,
    handoffs,
    on_call_at,
    shifts,
    user_shifts,
)

__all__ = [
    "Layer",
    "Override",
    "Restriction",
    "Rotation",
    "Schedule",
    "Span",
    "final_schedule",
    "gaps",
    "handoffs",
    "on_call_at",
    "shifts",
    "user_shifts",
]
