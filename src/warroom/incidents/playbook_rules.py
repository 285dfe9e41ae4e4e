"""Playbook and checklist rules: which gates hold an incident, which exit criteria are unticked, what the
regulatory clocks say. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from warroom.errors import FieldProblem, IllegalTransition
from warroom.procedure.domain import clock_state, parse_duration
from warroom.procedure.playbook_schema import Deadline
from warroom.procedure.schemas import Procedure


class StepState(Protocol):
    """What the rules read of a task (incidents.models.Task)."""

    id: int
    title: str
    phase: str | None
    step_id: str | None
    gate: bool
    done: bool
    done_at: datetime | None
    waived_at: datetime | None


def is_forward(procedure: Procedure, *, current: str, target: str) -> bool:
    """A move later in the procedure's phase order (triage -> containment), not back or a reopen."""
    order = procedure.phase_ids()
    return order.index(target) > order.index(current)


def blocking_gates(
    procedure: Procedure, tasks: Sequence[StepState], *, current: str, target: str
) -> list[StepState]:
    """Gated steps neither done nor waived whose phase the move would leave behind: moving to `target` passes
    every phase before it, so skipping a phase never skips its gates."""
    if not is_forward(procedure, current=current, target=target):
        return []
    order = procedure.phase_ids()
    before = set(order[: order.index(target)])
    return [t for t in tasks if t.gate and not t.done and t.waived_at is None and t.phase in before]


def check_gates(procedure: Procedure, tasks: Sequence[StepState], *, current: str, target: str) -> None:
    open_gates = blocking_gates(procedure, tasks, current=current, target=target)
    if open_gates:
        titles = "; ".join(t.title for t in open_gates)
        raise IllegalTransition(
            f"gated playbook step(s) must be done, or waived by the incident commander with a reason, before "
            f"moving to {procedure.phase(target).name}: {titles}",
            [FieldProblem("phase", f"gated playbook step(s) must be done or waived first: {titles}")],
            {"gates": [t.id for t in open_gates]},
        )


def unticked(procedure: Procedure, *, phase: str, ticked: Collection[int]) -> list[str]:
    """The phase's exit criteria nobody has ticked on this incident, in the procedure's order."""
    criteria = procedure.phase(phase).exit_criteria
    return [text for index, text in enumerate(criteria) if index not in ticked]


def check_checklist(
    procedure: Procedure, *, current: str, target: str, ticked: Collection[int], reason: str
) -> list[str]:
    """Moving on with unticked exit criteria needs a reason; returns the unticked ones to record."""
    if not is_forward(procedure, current=current, target=target):
        return []
    left = unticked(procedure, phase=current, ticked=ticked)
    if left and not reason.strip():
        counted = "1 exit criterion" if len(left) == 1 else f"{len(left)} exit criteria"
        verb = "is" if len(left) == 1 else "are"
        said = f"{counted} of {procedure.phase(current).name} {verb} not ticked ({'; '.join(left)})"
        raise IllegalTransition(
            f"{said}: tick them, or give a reason to move on without them",
            [FieldProblem("reason", f"{said}: give a reason to move on without them")],
            {"unticked": left},
        )
    return left


@dataclass(frozen=True)
class DeadlineClock:
    id: str
    name: str
    authority: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    state: str  # ok, warn, urgent, overdue; met when stopped in time, missed when stopped late


def deadline_clocks(
    deadlines: Sequence[Deadline],
    tasks: Sequence[StepState],
    *,
    detected_at: datetime,
    declared_at: datetime,
    notified_at: datetime | None,
    now: datetime,
) -> list[DeadlineClock]:
    """Each regulatory clock: from awareness (or declaration) for `within`, stopped by its step being done
    (or, with no step, by the `notified` milestone)."""
    clocks = []
    for deadline in deadlines:
        started = detected_at if deadline.starts == "detected" else declared_at
        due = started + parse_duration(deadline.within)
        step = next((t for t in tasks if deadline.step and t.step_id == deadline.step), None)
        met = (step.done_at if step and step.done else None) if deadline.step else notified_at
        state = ("met" if met <= due else "missed") if met is not None else clock_state(started, due, now)
        clocks.append(DeadlineClock(deadline.id, deadline.name, deadline.authority, started, due, met, state))
    return clocks
