"""Pure drill logic: when an unannounced drill fires, and the report measured from the timeline."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

NOT_APPLICABLE = "n/a"


def choose_fire_time(start: datetime, end: datetime, rng: random.Random) -> datetime:
    """A random second inside [start, end) for an unannounced drill; the caller stores it, never shows it."""
    if end <= start:
        raise ValueError("the window's end must be after its start")
    span = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(max(span, 1)))


def is_due(fire_at: datetime, now: datetime, fired: bool) -> bool:
    return not fired and now >= fire_at


@dataclass(frozen=True)
class Event:
    """One timeline fact the report reads: ``kind`` plus the detail that kind needs."""

    at: datetime
    # acknowledged | declared | severity | type | role | stakeholder_update | told (value: an audience)
    # | step | review_held | ended | tick / untick (value "phase:index") | left (value: the phase left)
    kind: str
    value: str = ""


@dataclass(frozen=True)
class Targets:
    """The procedure's targets for the expected severity, and what the scenario expects."""

    acknowledge: timedelta | None
    declare: timedelta | None
    severity: str
    incident_type: str
    roles: list[str] = field(default_factory=list)
    gated_steps: list[str] | None = None  # None: no playbook, the measure is "n/a"
    first_update: timedelta | None = None
    cadence: timedelta | None = None  # the severity's update cadence; None: nothing to keep
    exit_criteria: dict[str, int] = field(default_factory=dict)  # phase id -> how many criteria it has
    audiences: list[str] = field(default_factory=list)  # the stakeholder audiences the scenario expects told


@dataclass(frozen=True)
class Measure:
    name: str
    took: timedelta | None  # None: never happened
    target: timedelta | None
    note: str = ""  # what went wrong (a finding), or "n/a"
    detail: str = ""  # a plain fact shown beside it, e.g. "3 of 4 found"

    @property
    def gap(self) -> timedelta | None:
        """How far past the target (zero when met); None when there is nothing to compare."""
        if self.target is None:
            return None
        if self.took is None:
            return self.target  # missed entirely: at least the whole target
        return max(self.took - self.target, timedelta(0))

    @property
    def finding(self) -> bool:
        return self.note not in ("", NOT_APPLICABLE) or (self.gap is not None and self.gap > timedelta(0))


def _first(events: list[Event], kind: str, value: str | None = None) -> datetime | None:
    times = [e.at for e in events if e.kind == kind and (value is None or e.value == value)]
    return min(times) if times else None


def _since(start: datetime, at: datetime | None) -> timedelta | None:
    return None if at is None else at - start


def _timed(name: str, start: datetime, at: datetime | None, target: timedelta | None) -> Measure:
    took = _since(start, at)
    return Measure(name, took, target, "" if took is not None else "never happened")


def _steps(events: list[Event], gated: list[str] | None) -> Measure:
    if gated is None:
        return Measure("gated playbook steps", None, None, NOT_APPLICABLE)
    done = [e.value for e in sorted(events, key=lambda e: e.at) if e.kind == "step" and e.value in gated]
    missing = [s for s in gated if s not in done]
    order = [s for s in gated if s in done]
    if missing:
        return Measure("gated playbook steps", None, None, f"not done: {', '.join(missing)}")
    if done[: len(order)] != order:
        return Measure("gated playbook steps", None, None, "done out of order")
    return Measure("gated playbook steps", None, None)


def compute_report(start: datetime, events: list[Event], targets: Targets, end: datetime) -> list[Measure]:
    """Every measure of the drill beside its target; ``start`` is when the first alert was sent, ``end`` is
    now for a drill still running (an "ended" event stops the clock)."""
    measures = [
        _timed("time to acknowledge", start, _first(events, "acknowledged"), targets.acknowledge),
        _timed("time to declare", start, _first(events, "declared"), targets.declare),
        _timed("time to the right severity", start, _first(events, "severity", targets.severity), None),
        _timed("time to the right type", start, _first(events, "type", targets.incident_type), None),
    ]
    measures += [
        _timed(f"time to fill role {role}", start, _first(events, "role", role), None)
        for role in targets.roles
    ]
    measures.append(
        _timed(
            "time to first stakeholder update",
            start,
            _first(events, "stakeholder_update"),
            targets.first_update,
        )
    )
    measures.append(_cadence(events, targets.cadence, end))
    measures.append(_told(events, targets.audiences))
    measures.append(_steps(events, targets.gated_steps))
    measures += _exit_criteria(events, targets.exit_criteria)
    held = _first(events, "review_held")
    measures.append(Measure("review held", _since(start, held), None, "" if held else "no review held"))
    return measures


def _cadence(events: list[Event], cadence: timedelta | None, end: datetime) -> Measure:
    """The longest stretch without a stakeholder update, from the first one to the drill's end."""
    name = "stakeholder update cadence kept"
    times = sorted(e.at for e in events if e.kind == "stakeholder_update")
    if cadence is None or not times:
        return Measure(name, None, None, NOT_APPLICABLE)
    stop = _first(events, "ended") or end
    longest = max(b - a for a, b in pairwise([*times, max(stop, times[-1])]))
    return Measure(name, longest, cadence, detail=f"{len(times)} update(s); longest silence {longest}")


def _told(events: list[Event], expected: list[str]) -> Measure:
    """Every audience the scenario expects was sent at least one stakeholder update."""
    name = "expected audiences told"
    if not expected:
        return Measure(name, None, None, NOT_APPLICABLE)
    told = {e.value for e in events if e.kind == "told"}
    missing = [a for a in expected if a not in told]
    note = f"never told: {', '.join(missing)}" if missing else ""
    return Measure(name, None, None, note, f"{len(expected) - len(missing)} of {len(expected)} told")


def _ticked_when_left(events: list[Event], phase: str, left: datetime) -> set[str]:
    ticked: set[str] = set()
    for e in sorted(events, key=lambda e: e.at):
        if e.at > left:
            break
        head, _, index = e.value.rpartition(":")
        if head == phase and e.kind == "tick":
            ticked.add(index)
        elif head == phase and e.kind == "untick":
            ticked.discard(index)
    return ticked


def _exit_criteria(events: list[Event], criteria: dict[str, int]) -> list[Measure]:
    """For each phase the incident moved out of: were its exit criteria ticked when it left?"""
    measures = []
    for phase in dict.fromkeys(e.value for e in sorted(events, key=lambda e: e.at) if e.kind == "left"):
        total = criteria.get(phase, 0)
        if not total:
            continue
        left = min(e.at for e in events if e.kind == "left" and e.value == phase)
        done = len(_ticked_when_left(events, phase, left))
        note = "" if done >= total else f"left with {done} of {total} ticked"
        measures.append(Measure(f"exit criteria of {phase}", None, None, note, f"{done} of {total} ticked"))
    return measures


@dataclass(frozen=True)
class Injected:
    """An observable the scenario planted, and the hosts it is on."""

    type: str
    value: str
    hosts: tuple[str, ...] = ()


def recall(injected: list[Injected], found: set[tuple[str, str]], hosts: set[str]) -> Measure:
    """Injected observables found: each (observable, host) pair counts once; a pair is found when the
    incident holds the observable and that host among its assets (or the observable has no host)."""
    name = "injected observables found"
    if not injected:
        return Measure(name, None, None, NOT_APPLICABLE)
    pairs = [(i, h) for i in injected for h in (i.hosts or ("",))]
    missing = [
        f"{i.value} on {h}" if h else i.value
        for i, h in pairs
        if (i.type, i.value) not in found or (h and h.lower() not in hosts)
    ]
    got = len(pairs) - len(missing)
    note = f"missing: {', '.join(missing)}" if missing else ""
    return Measure(name, None, None, note, f"recall {got} of {len(pairs)}")


@dataclass(frozen=True)
class ProposedAction:
    title: str
    owner: str
    due: datetime


def findings(
    measures: list[Measure], *, owner: str, now: datetime, due_in: timedelta
) -> list[ProposedAction]:
    """Findings, not grades: each gap becomes a proposed action item for the drill's review."""
    due = now + due_in
    actions: list[ProposedAction] = []
    for m in measures:
        if not m.finding:
            continue
        detail = m.note if m.note not in ("", NOT_APPLICABLE) else f"over target by {m.gap}"
        actions.append(ProposedAction(f"Drill finding: {m.name}: {detail}", owner, due))
    return actions
