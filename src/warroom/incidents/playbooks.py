"""An incident's playbook and guided phases: steps become tasks at declaration; gates and the exit
checklist hold phase moves (incidents.service.move_phase asks `check_move`); the commander waives a step
with a reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.errors import Conflict, FieldProblem, InvalidInput, NotFound, invalid
from warroom.incidents import playbook_rules
from warroom.incidents.domain import COMMANDER_ROLE
from warroom.incidents.models import ExitCheck, Incident, RoleAssignment, Task
from warroom.procedure.domain import parse_duration
from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.schemas import Procedure
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record


def step_tasks(procedure: Procedure, incident: Incident) -> list[Task]:
    """The incident type's playbook as tasks, due from the declaration; sets `incident.playbook`."""
    playbook = procedure.playbook_for(incident.type)
    if playbook is None:
        return []
    incident.playbook = playbook.id
    declared = incident.declared_at
    return [
        Task(
            incident_id=incident.id,
            title=step.title,
            done=False,
            created_at=declared,
            due_at=declared + parse_duration(step.due) if step.due else None,
            step_id=step.id,
            phase=step.phase,
            role=step.role,
            mandatory=step.required,
            gate=step.gate,
            action=step.action,
            evidence_prompt=step.evidence,
            links=[link.model_dump() for link in step.links],
        )
        for step in playbook.steps
    ]


async def list_steps(session: AsyncSession, incident_id: int) -> list[Task]:
    query = select(Task).where(Task.incident_id == incident_id).order_by(Task.id)
    return list((await session.scalars(query)).all())


async def ticked(session: AsyncSession, incident_id: int, phase: str) -> set[int]:
    query = select(ExitCheck.criterion).where(ExitCheck.incident_id == incident_id, ExitCheck.phase == phase)
    return set((await session.scalars(query)).all())


async def check_move(
    session: AsyncSession, procedure: Procedure, incident: Incident, *, target: str, reason: str
) -> list[str]:
    """Refuses a move past an open gate, or on with unticked exit criteria and no reason; returns the
    unticked criteria the move leaves behind (recorded on the phase change)."""
    steps = await list_steps(session, incident.id)
    playbook_rules.check_gates(procedure, steps, current=incident.phase, target=target)
    done = await ticked(session, incident.id, incident.phase)
    return playbook_rules.check_checklist(
        procedure, current=incident.phase, target=target, ticked=done, reason=reason
    )


async def waive_step(
    *, session: AsyncSession, actor: User, incident: Incident, task: Task, reason: str, now: datetime
) -> Task:
    """The commander's decision that a required step will not be done here, with the reason on the timeline
    (and so in the review)."""
    await require_commander(session, incident, actor, "waive a playbook step")
    if not reason.strip():
        raise invalid("reason", "a reason is required to waive a step")
    if task.done or task.waived_at is not None:
        raise Conflict(f"{task.title!r} is already {'done' if task.done else 'waived'}")
    task.waived_at, task.waived_by_id, task.waived_reason = now, actor.id, reason.strip()
    incident.updated_at = now
    await record(
        session, incident, actor, EventKind.task_waived, now, task_id=task.id, title=task.title, reason=reason
    )
    await session.flush()
    return task


async def start_step(
    *, session: AsyncSession, actor: User, incident: Incident, task: Task, now: datetime
) -> bool:
    """Marks the step started (once); False when it already was."""
    if task.done:
        raise Conflict(f"{task.title!r} is already done")
    if task.started_at is not None:
        return False
    task.started_at, incident.updated_at = now, now
    await record(session, incident, actor, EventKind.task_started, now, task_id=task.id, title=task.title)
    await session.flush()
    return True


async def tick_criterion(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    actor: User,
    incident: Incident,
    phase: str,
    criterion: int,
    done: bool,
    now: datetime,
) -> bool:
    """Tick (or untick) one exit criterion of a phase; False when nothing changed."""
    if phase not in loaded.procedure.phase_ids():
        raise NotFound(f"no phase {phase!r} in the procedure")
    criteria = loaded.procedure.phase(phase).exit_criteria
    if not 0 <= criterion < len(criteria):
        problem = f"{phase} has {len(criteria)} exit criteria (0 to {len(criteria) - 1})"
        raise InvalidInput(f"criterion: {problem}", [FieldProblem("criterion", problem)])
    present = criterion in await ticked(session, incident.id, phase)
    if present == done:
        return False
    if done:
        session.add(
            ExitCheck(
                incident_id=incident.id,
                phase=phase,
                criterion=criterion,
                text=criteria[criterion],
                ticked_by_id=actor.id,
                ticked_at=now,
            )
        )
    else:
        await session.execute(
            delete(ExitCheck).where(
                ExitCheck.incident_id == incident.id,
                ExitCheck.phase == phase,
                ExitCheck.criterion == criterion,
            )
        )
    kind = EventKind.exit_check_ticked if done else EventKind.exit_check_unticked
    await record(
        session, incident, actor, kind, now, phase=phase, criterion=criterion, text=criteria[criterion]
    )
    incident.updated_at = now
    await session.flush()
    return True


async def checks_of(session: AsyncSession, incident_id: int) -> list[ExitCheck]:
    query = (
        select(ExitCheck)
        .where(ExitCheck.incident_id == incident_id)
        .order_by(ExitCheck.phase, ExitCheck.criterion)
    )
    return list((await session.scalars(query)).all())


async def require_commander(session: AsyncSession, incident: Incident, actor: User, doing: str) -> None:
    """Only whoever holds the incident commander role now may `doing` (waive a step, approve an action)."""
    holders = await session.scalars(
        select(RoleAssignment.user_id).where(
            RoleAssignment.incident_id == incident.id,
            RoleAssignment.role == COMMANDER_ROLE,
            RoleAssignment.unassigned_at.is_(None),
        )
    )
    if actor.id not in set(holders.all()):
        raise Conflict(f"only the incident commander can {doing}; assign a commander first")
