"""Thin routes: start a playbook step (asking for its action), list an incident's action runs, approve one."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.actions import service
from warroom.actions.models import ActionRun
from warroom.actions.schemas import ActionRunOut, StepStart, StepStarted
from warroom.context import AppContext
from warroom.deps import ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.incidents import collaboration, views
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import viewer_of

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


async def runs_out(
    session: AsyncSession, context: AppContext, runs: Sequence[ActionRun]
) -> list[ActionRunOut]:
    users = await views.users_by_id(session, [i for r in runs for i in (r.requested_by_id, r.approved_by_id)])
    names = {a.id: a.name for a in context.procedure.procedure.actions}
    return [
        ActionRunOut(
            id=r.id,
            task_id=r.task_id,
            action=r.action,
            name=names.get(r.action, r.action),
            state=r.state,
            target=r.target,
            requested_by=views.user_ref(users.get(r.requested_by_id or 0)),
            requested_at=r.requested_at,
            approved_by=views.user_ref(users.get(r.approved_by_id or 0)),
            approved_at=r.approved_at,
            request=r.request or {},
            response_status=r.response_status,
            response_body=r.response_body,
            error=r.error,
            finished_at=r.finished_at,
        )
        for r in runs
    ]


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
    shown = await runs_out(session, context, [run]) if run else [None]
    return StepStarted(task=(await views.tasks_out(session, [task]))[0], action_run=shown[0])


@router.get("/{ref}/actions", response_model=list[ActionRunOut])
async def action_runs(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[ActionRunOut]:
    viewer = viewer_of(user, context.procedure.procedure)
    incident = await get_incident(session=session, ref=ref, viewer=viewer)
    return await runs_out(session, context, await service.list_runs(session, incident.id))


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
    return (await runs_out(session, context, [run]))[0]
