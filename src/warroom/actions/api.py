"""Thin routes: start a playbook step (asking for its action), list an incident's action runs, approve one."""

from __future__ import annotations

from fastapi import APIRouter

from warroom.actions import service
from warroom.actions.schemas import ActionRunOut, StepStart, StepStarted
from warroom.actions.views import runs_out
from warroom.deps import ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.incidents import collaboration, views
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import viewer_of

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@router.post("/{ref}/tasks/{task_id}/start", response_model=StepStarted)
async def start_step(
    ref: str, task_id: int, user: IncidentWriter, session: WriteSession, context: ContextDep,
    body: StepStart | None = None,
) -> StepStarted:  # fmt: skip
    """Start a step. If it names an automated action, the action runs now when pre-approved, else once the
    incident commander approves it."""
    viewer = viewer_of(user, context.procedure.procedure)
    incident = await get_incident(session=session, ref=ref, viewer=viewer, for_update=True)
    task = await collaboration.get_task(session=session, incident=incident, task_id=task_id)
    run = await service.start_step(
        session=session,
        loaded=context.procedure,
        actor=user,
        incident=incident,
        task=task,
        target=body.target if body else "",
        now=context.clock.now(),
    )
    shown = await runs_out(session, context.procedure.procedure, [run]) if run else [None]
    return StepStarted(task=(await views.tasks_out(session, [task]))[0], action_run=shown[0])


@router.get("/{ref}/actions", response_model=list[ActionRunOut])
async def action_runs(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[ActionRunOut]:
    viewer = viewer_of(user, context.procedure.procedure)
    incident = await get_incident(session=session, ref=ref, viewer=viewer)
    return await runs_out(session, context.procedure.procedure, await service.list_runs(session, incident.id))


@router.post("/{ref}/actions/{run_id}/approve", response_model=ActionRunOut)
async def approve(
    ref: str, run_id: int, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> ActionRunOut:
    """The incident commander lets an action that is not pre-approved run."""
    viewer = viewer_of(user, context.procedure.procedure)
    incident = await get_incident(session=session, ref=ref, viewer=viewer, for_update=True)
    run = await service.get_run(session, incident, run_id)
    await service.approve(
        session=session,
        loaded=context.procedure,
        actor=user,
        incident=incident,
        run=run,
        now=context.clock.now(),
    )
    return (await runs_out(session, context.procedure.procedure, [run]))[0]
