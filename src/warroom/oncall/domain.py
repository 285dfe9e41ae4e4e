"""Pure on-call schedule maths: rotations, layers, overrides and the final schedule.

Nothing here does I/O or reads the clock: every function takes the instants it needs. Inputs must be
timezone-aware; every result is an aware UTC datetime.

Decisions:

* Handoffs are **local wall-clock** times in the rotation's own zone, for every unit including "hours":
  handoff k is ``start_local + k * shift`` computed on the naive local date-time, then localised. A daily
  09:00 handoff stays at 09:00 local across DST; a 12-hour 08:00/20:00 rotation keeps 08:00 and 20:00, so
  on the spring-forward day one of its shifts is 11 hours long and on the autumn day one is 13 hours.
  Handoff 0 is ``start`` itself, and the handoff time of day is the local time of that instant.
* A local time that does not exist (spring-forward gap, e.g. 02:30 in Chicago on 2026-03-08) moves
  forward to the first instant the wall clock reads at or after it: the end of the gap (03:00 CDT). An
  hourly rotation whose handoff falls in the gap therefore has one shift of zero length, which is
  dropped: that participant's turn is skipped for that hour.
* An ambiguous local time (autumn fall-back) takes its first occurrence (``fold=0``).
* Restriction windows are local too; a window belongs to the weekday it *starts* on, and ``end <= start``
  means it crosses midnight (``end == start`` is a full 24 hours from ``start``).
* Layers: the higher ``priority`` wins wherever it has someone; between equal priorities the layer listed
  later wins. Overrides beat every layer; where overrides overlap, the one that starts later wins (equal
  starts: the one listed later), so a short cover placed inside a long one takes effect.
* Gaps are explicit: ``Span(user=None, source="gap")`` in ``final_schedule`` and from ``on_call_at``,
  which always returns a span (never None) so that "nobody until 09:00" carries its end time too.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ShiftUnit = Literal["hours", "days", "weeks"]
SHIFT_UNITS: tuple[str, ...] = get_args(ShiftUnit)
OVERRIDE = "override"
GAP = "gap"
ROTATION = "rotation"
DEFAULT_HORIZON = timedelta(days=35)
_RESERVED_SOURCES = frozenset({OVERRIDE, GAP})
_ONE_DAY = timedelta(days=1)

Window = tuple[datetime, datetime]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'") from error


def _aware_utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _window(start: datetime, end: datetime) -> Window:
    lo, hi = _aware_utc(start, "window start"), _aware_utc(end, "window end")
    if hi < lo:
        raise ValueError(f"window end {end.isoformat()} is before its start {start.isoformat()}")
    return lo, hi


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _localise(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive local time: fold=0 when ambiguous, the end of the gap when skipped."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(first, zone) == wall:
        return first
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """First instant whose local time is at or after ``wall`` (a time inside a spring-forward gap)."""
    both = [wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    lo = min(both).replace(microsecond=0)  # read with the offset in force before the jump: before the gap
    below, above = 0, math.ceil((max(both) - lo).total_seconds()) + 1
    # Invariant: local(lo + below s) < wall <= local(lo + above s); zone transitions fall on whole seconds.
    while above - below > 1:
        middle = (below + above) // 2
        if _wall(lo + timedelta(seconds=middle), zone) >= wall:
            above = middle
        else:
            below = middle
    return lo + timedelta(seconds=above)


def _set_utc_bounds(item: Override | Span, what: str) -> None:
    """Validate a frozen [start, end) pair and store it in UTC, so every result compares and prints alike."""
    start, end = _aware_utc(item.start, f"{what} start"), _aware_utc(item.end, f"{what} end")
    if end <= start:
        raise ValueError(f"{what} end {item.end.isoformat()} must be after its start")
    object.__setattr__(item, "start", start)
    object.__setattr__(item, "end", end)


@dataclass(frozen=True)
class Restriction:
    """Local weekly windows in which a rotation is on: ``days`` 0=Mon..6=Sun, the day a window starts."""

    days: tuple[int, ...]
    start: time
    end: time

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", tuple(self.days))
        if not isinstance(self.start, time) or not isinstance(self.end, time):
            raise ValueError(f"restriction start and end must be datetime.time values, got {self!r}")
        if not self.days:
            raise ValueError("a restriction needs at least one weekday (0=Monday .. 6=Sunday)")
        if any(not _is_int(day) or not 0 <= day <= 6 for day in self.days):
            raise ValueError(f"restriction days must be integers 0=Monday .. 6=Sunday, got {self.days!r}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("restriction times are local wall-clock times: give them without tzinfo")

    def window_on(self, day: date, zone: ZoneInfo) -> Window:
        """This restriction's window starting on local ``day`` (which callers check is one of ``days``)."""
        end_day = day if self.end > self.start else day + _ONE_DAY
        start = _localise(datetime.combine(day, self.start), zone)
        return start, _localise(datetime.combine(end_day, self.end), zone)


@dataclass(frozen=True)
class Rotation:
    """Participants taking turns; shift k runs from handoff k to handoff k+1 and is participants[k % n]."""

    participants: tuple[str, ...]
    start: datetime
    shift_length: int
    shift_unit: ShiftUnit
    time_zone: str
    restrictions: tuple[Restriction, ...] = ()
    end: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "participants", tuple(self.participants))
        object.__setattr__(self, "restrictions", tuple(self.restrictions))
        if not self.participants:
            raise ValueError("a rotation needs at least one participant")
        if any(not isinstance(person, str) or not person for person in self.participants):
            raise ValueError(f"participants must be non-empty strings, got {self.participants!r}")
        if not _is_int(self.shift_length) or self.shift_length < 1:
            raise ValueError(f"shift_length must be an integer of at least 1, got {self.shift_length!r}")
        if self.shift_unit not in SHIFT_UNITS:
            raise ValueError(f"shift_unit must be one of {', '.join(SHIFT_UNITS)}; got {self.shift_unit!r}")
        _zone(self.time_zone)
        _aware_utc(self.start, "rotation start")
        if self.end is not None and _aware_utc(self.end, "rotation end") <= _aware_utc(self.start, ""):
            raise ValueError(f"rotation end {self.end.isoformat()} must be after its start")

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)

    @property
    def step(self) -> timedelta:
        """One shift as a local wall-clock distance."""
        return timedelta(**{self.shift_unit: self.shift_length})


@dataclass(frozen=True)
class Layer:
    name: str
    priority: int
    rotation: Rotation

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a layer needs a non-empty name")
        if self.name in _RESERVED_SOURCES:
            raise ValueError(f"{self.name!r} is reserved: choose another layer name")
        if not _is_int(self.priority):
            raise ValueError(f"layer priority must be an integer, got {self.priority!r}")


@dataclass(frozen=True)
class Override:
    """``user`` covers [start, end); beats every layer. Overlapping overrides: the later start wins."""

    user: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.user, str) or not self.user:
            raise ValueError("an override needs a non-empty user")
        _set_utc_bounds(self, "override")


@dataclass(frozen=True)
class Schedule:
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique within a schedule, got {names!r}")


@dataclass(frozen=True)
class Span:
    """[start, end) with who is on (None for nobody) and where it came from: a layer, override or gap."""

    start: datetime
    end: datetime
    user: str | None
    source: str

    def __post_init__(self) -> None:
        _set_utc_bounds(self, "span")

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class _Handoffs:
    """Handoff instants of one rotation, addressable by index without walking from the start."""

    first: datetime
    wall0: datetime
    step: timedelta
    zone: ZoneInfo

    @classmethod
    def of(cls, rotation: Rotation) -> _Handoffs:
        first = _aware_utc(rotation.start, "rotation start")
        return cls(first, _wall(first, rotation.zone), rotation.step, rotation.zone)

    def at(self, index: int) -> datetime:
        return self.first if index == 0 else _localise(self.wall0 + index * self.step, self.zone)

    def index(self, instant: datetime) -> int:
        """The last shift index whose handoff is at or before ``instant`` (0 before the start)."""
        index = max((_wall(instant, self.zone) - self.wall0) // self.step, 0)
        # A handoff is the first instant its wall time is reached, so the estimate is never too far with
        # fold=0 and gap-forward; the guard is for zones with odd histories.
        while index > 0 and self.at(index) > instant:
            index -= 1
        # In a repeated autumn hour the wall reads earlier than the instant is: one shift too early.
        while self.at(index + 1) <= instant:
            index += 1
        return index


def _active(rotation: Rotation, start: datetime, end: datetime) -> Window | None:
    """The requested window clipped to the rotation's own lifetime, or None if they do not meet."""
    lo, hi = _window(start, end)
    lo = max(lo, _aware_utc(rotation.start, "rotation start"))
    if rotation.end is not None:
        hi = min(hi, _aware_utc(rotation.end, "rotation end"))
    return (lo, hi) if lo < hi else None


def handoffs(rotation: Rotation, start: datetime, end: datetime) -> list[datetime]:
    """Handoff instants in [start, end) within the rotation's lifetime, in order (restrictions ignored)."""
    active = _active(rotation, start, end)
    if active is None:
        return []
    lo, hi = active
    clock = _Handoffs.of(rotation)
    index, result = clock.index(lo), list[datetime]()
    while (moment := clock.at(index)) < hi:
        if moment >= lo and (not result or result[-1] != moment):
            result.append(moment)
        index += 1
    return result


def shifts(rotation: Rotation, start: datetime, end: datetime, source: str = ROTATION) -> list[Span]:
    """The rotation's shifts clipped to [start, end), its lifetime and its restrictions, in order."""
    active = _active(rotation, start, end)
    if active is None:
        return []
    lo, hi = active
    clock, people = _Handoffs.of(rotation), rotation.participants
    index = clock.index(lo)
    begin, spans = clock.at(index), list[Span]()
    while begin < hi:
        finish = clock.at(index + 1)
        if max(begin, lo) < min(finish, hi):
            spans.append(Span(max(begin, lo), min(finish, hi), people[index % len(people)], source))
        index, begin = index + 1, finish
    if not rotation.restrictions:
        return spans
    return _restrict(spans, _restriction_windows(rotation, lo, hi))


def _restriction_windows(rotation: Rotation, lo: datetime, hi: datetime) -> list[Window]:
    """The union of the rotation's restriction windows that meet [lo, hi), sorted."""
    zone = rotation.zone
    day, last = _wall(lo, zone).date() - _ONE_DAY, _wall(hi, zone).date()
    windows: list[Window] = []
    while day <= last:
        for restriction in rotation.restrictions:
            if day.weekday() in restriction.days:
                windows.append(restriction.window_on(day, zone))
        day += _ONE_DAY
    merged: list[Window] = []
    for begin, finish in sorted(w for w in windows if w[0] < w[1] and w[0] < hi and w[1] > lo):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def _restrict(spans: list[Span], windows: list[Window]) -> list[Span]:
    """Each span cut to the windows (both sorted and non-overlapping)."""
    result: list[Span] = []
    first = 0
    for span in spans:
        while first < len(windows) and windows[first][1] <= span.start:
            first += 1
        for begin, finish in windows[first:]:
            if begin >= span.end:
                break
            result.append(Span(max(begin, span.start), min(finish, span.end), span.user, span.source))
    return result


class _LayerIndex:
    """One layer's shifts over a window (sorted, non-overlapping), searchable by instant."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans, self.starts = spans, [span.start for span in spans]

    def at(self, instant: datetime) -> Span | None:
        position = bisect_right(self.starts, instant) - 1
        found = self.spans[position] if position >= 0 else None
        return found if found is not None and found.end > instant else None


def _pick(
    instant: datetime, overrides: Sequence[Override], layers: Sequence[_LayerIndex]
) -> tuple[str | None, str]:
    """Who is on at ``instant``: overrides (already in winning order), then layers (in winning order)."""
    for override in overrides:
        if override.start <= instant < override.end:
            return override.user, OVERRIDE
    for layer in layers:
        span = layer.at(instant)
        if span is not None:
            return span.user, span.source
    return None, GAP


def final_schedule(schedule: Schedule, start: datetime, end: datetime) -> list[Span]:
    """Contiguous, non-overlapping spans covering [start, end) exactly; nobody is ``Span(None, "gap")``."""
    lo, hi = _window(start, end)
    ranked_layers = sorted(
        enumerate(schedule.layers), key=lambda item: (item[1].priority, item[0]), reverse=True
    )
    layers = [_LayerIndex(shifts(layer.rotation, lo, hi, layer.name)) for _, layer in ranked_layers]
    met = [(o.start, i, o) for i, o in enumerate(schedule.overrides) if o.start < hi and o.end > lo]
    overrides = [override for *_, override in sorted(met, key=lambda item: item[:2], reverse=True)]
    cuts = {lo, hi}
    cuts.update(moment for layer in layers for span in layer.spans for moment in (span.start, span.end))
    cuts.update(moment for o in overrides for moment in (o.start, o.end) if lo < moment < hi)
    merged: list[Span] = []
    for begin, finish in pairwise(sorted(cuts)):
        user, source = _pick(begin, overrides, layers)
        if merged and merged[-1].user == user and merged[-1].source == source:
            merged[-1] = Span(merged[-1].start, finish, user, source)
        else:
            merged.append(Span(begin, finish, user, source))
    return merged


def on_call_at(schedule: Schedule, at: datetime, horizon: timedelta = DEFAULT_HORIZON) -> Span:
    """The final-schedule span containing ``at``: who is on (None in a gap), since when and until when.

    The span's ends are looked for at most ``horizon`` either side of ``at``; a span reaching further is
    cut there. The search widens from one day, so the usual case computes only a few days.
    """
    moment = _aware_utc(at, "at")
    if horizon <= timedelta(0):
        raise ValueError(f"horizon must be positive, got {horizon}")
    reach = min(_ONE_DAY, horizon)
    while True:
        spans = final_schedule(schedule, moment - reach, moment + reach)
        span = spans[bisect_right([s.start for s in spans], moment) - 1]
        open_ended = span.start == moment - reach or span.end == moment + reach
        if not open_ended or reach >= horizon:
            return span
        reach = min(reach * 2, horizon)


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[Span]:
    """The parts of [start, end) where nobody is on call."""
    return [span for span in final_schedule(schedule, start, end) if span.user is None]


def user_shifts(schedule: Schedule, user: str, start: datetime, end: datetime) -> list[Span]:
    """When ``user`` is on call in [start, end) according to the final schedule (overrides applied)."""
    return [span for span in final_schedule(schedule, start, end) if span.user == user]
