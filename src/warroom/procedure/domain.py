"""Pure rules derived from a procedure: durations, response deadlines, target status.

Nothing here does I/O or reads the clock; callers pass ``now`` explicitly so the
rules are trivially testable and deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    # schemas imports parse_duration from here, so the reverse import is type-only.
    from warroom.procedure.schemas import BusinessHours, Procedure

NEXT_BUSINESS_DAY = "next_business_day"
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Units must appear largest first and at most once, so "1h30m" is valid but "30m1h" is not:
# one canonical spelling per duration keeps files easy to read and diff.
_DURATION_RE = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")
_UNIT_WORDS: tuple[tuple[str, int], ...] = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
# A finite bound on the next-business-day search; a validated procedure always has at least one
# business weekday, so only a pathological holiday list could get close to this.
_MAX_SEARCH_DAYS = 3660


def parse_duration(text: str) -> timedelta:
    """Parse a compact duration such as ``"15m"``, ``"4h"``, ``"1h30m"``, ``"2d"`` or ``"45s"``."""
    match = _DURATION_RE.fullmatch(text)
    if not text or match is None:
        raise ValueError(
            f"invalid duration {text!r}: use a number followed by a unit, e.g. '15m', '4h', "
            "'1h30m', '2d' or '45s' (units d, h, m, s, largest first)"
        )
    parts = {unit: int(value) for unit, value in match.groupdict().items() if value is not None}
    delta = timedelta(
        days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0)
    )
    if delta <= timedelta(0):
        raise ValueError(f"invalid duration {text!r}: must be greater than zero")
    return delta


def describe_duration(delta: timedelta) -> str:
    """Spell a duration out for humans: ``timedelta(hours=1, minutes=30)`` -> ``"1 hour 30 minutes"``."""
    remaining = int(delta.total_seconds())
    words: list[str] = []
    for unit, seconds in _UNIT_WORDS:
        count, remaining = divmod(remaining, seconds)
        if count:
            words.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(words) or "0 seconds"


def describe_target(target: str) -> str:
    """Spell a response target or cadence out: ``"15m"`` -> ``"15 minutes"``."""
    if target == NEXT_BUSINESS_DAY:
        return "next business day"
    return describe_duration(parse_duration(target))


def _require_aware(value: datetime, name: str) -> None:
    # Naive datetimes are ambiguous across time zones; refusing them avoids silent off-by-hours bugs.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def is_business_day(hours: BusinessHours, day: date) -> bool:
    """True when ``day`` is one of the configured weekdays and not a holiday."""
    return WEEKDAYS[day.weekday()] in hours.days and day not in hours.holidays


def next_business_day(hours: BusinessHours, day: date) -> date:
    """The first business day strictly after ``day``."""
    candidate = day
    for _ in range(_MAX_SEARCH_DAYS):
        candidate += timedelta(days=1)
        if is_business_day(hours, candidate):
            return candidate
    raise ValueError(f"no business day within {_MAX_SEARCH_DAYS} days after {day.isoformat()}")


def response_deadline(procedure: Procedure, severity_id: str, start: datetime) -> datetime:
    """When the response target of ``severity_id`` expires for an incident declared at ``start``.

    Duration targets are plain elapsed time. ``next_business_day`` means the end of business
    hours, local time, on the first business day after the local date of ``start``; zoneinfo
    resolves the wall-clock end time to the right UTC offset on either side of a DST change.
    """
    _require_aware(start, "start")
    target = procedure.severity(severity_id).response_target
    if target != NEXT_BUSINESS_DAY:
        # Add in UTC: adding to a local aware datetime would be wall-clock arithmetic across DST.
        return start.astimezone(UTC) + parse_duration(target)
    hours = procedure.business_hours
    zone = ZoneInfo(hours.timezone)
    day = next_business_day(hours, start.astimezone(zone).date())
    return datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class TargetStatus:
    """Where an incident stands against its response target."""

    deadline: datetime
    met: bool | None  # None while unacknowledged and still within the target
    remaining_seconds: float  # negative once overdue
    overdue: bool
    acknowledged_at: datetime | None


ClockState = Literal["ok", "warn", "urgent", "overdue"]
WARN_AT, URGENT_AT = 0.5, 0.8  # of the target's time gone: amber from half, red from four fifths


def clock_state(started_at: datetime, deadline: datetime, now: datetime) -> ClockState:
    """How loudly a running clock should show: "ok" before half its time is gone, "warn" from half,
    "urgent" from 80%, "overdue" past the deadline."""
    if now > deadline:
        return "overdue"
    span = (deadline - started_at).total_seconds()
    gone = (now - started_at).total_seconds() / span if span > 0 else 1.0
    return "urgent" if gone >= URGENT_AT else "warn" if gone >= WARN_AT else "ok"


def target_status(
    procedure: Procedure,
    severity_id: str,
    declared_at: datetime,
    acknowledged_at: datetime | None,
    now: datetime,
) -> TargetStatus:
    """Evaluate the response target; once acknowledged the outcome is fixed and ``now`` is ignored."""
    _require_aware(now, "now")
    deadline = response_deadline(procedure, severity_id, declared_at)
    if acknowledged_at is not None:
        _require_aware(acknowledged_at, "acknowledged_at")
        met = acknowledged_at <= deadline
        return TargetStatus(
            deadline=deadline,
            met=met,
            remaining_seconds=(deadline - acknowledged_at).total_seconds(),
            overdue=not met,
            acknowledged_at=acknowledged_at,
        )
    overdue = now > deadline
    return TargetStatus(
        deadline=deadline,
        met=False if overdue else None,
        remaining_seconds=(deadline - now).total_seconds(),
        overdue=overdue,
        acknowledged_at=None,
    )
