"""Thin routes for an incident's playbook: the guided view, the exit checklist, waiving a step."""

from __future__ import annotations

from fastapi import APIRouter

from warroom.deps import ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.incidents import collaboration, playbooks, service, views
from warroom.incidents.playbook_schemas import ChecklistTick, PlaybookOut, StepWaiver
from warroom.incidents.playbook_views import playbook_out
from warroom.incidents.schemas import TaskOut
from warroom.incidents.visibility import viewer_of

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@router.get("/{ref}/playbook", response_model=PlaybookOut)
async def playbook(ref: str, user: InternalReader, session: ReadSession, context: ContextDep) -> PlaybookOut:
    """The playbook's steps, the current phase's owner, exit checklist and open gates, and the regulatory
    clocks: the guided SOP."""
    viewer = viewer_of(user, context.procedure.procedure)
    incident = await service.get_incident(session=session, ref=ref, viewer=viewer)
    return await playbook_out(
        session=session, loaded=context.procedure, incident=incident, now=context.clock.now()
    )


@router.post("/{ref}/checklist", response_model=PlaybookOut)
async def tick(
    ref: str, body: ChecklistTick, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> PlaybookOut:
    """Tick (or with `done: false` untick) one exit criterion of a phase; who and when go on the timeline."""
    viewer = viewer_of(user, context.procedure.procedure)
    incident = await service.get_incident(session=session, ref=ref, viewer=viewer, for_update=True)
    await playbooks.tick_criterion(
        session=session,
        loaded=context.procedure,
        actor=user,
        incident=incident,
        phase=body.phase,
        criterion=body.criterion,
        done=body.done,
        now=context.clock.now(),
    )
    return await playbook_out(
        session=session, loaded=context.procedure, incident=incident, now=context.clock.now()
    )


@router.post("/{ref}/tasks/{task_id}/waive", response_model=TaskOut)
async def waive(
    ref: str, task_id: int, body: StepWaiver, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> TaskOut:
    """The incident commander decides a step (a gate, say) will not be done here, saying why."""
    viewer = viewer_of(user, context.procedure.procedure)
    incident = await service.get_incident(session=session, ref=ref, viewer=viewer, for_update=True)
    task = await collaboration.get_task(session=session, incident=incident, task_id=task_id)
    await playbooks.waive_step(
        session=session, actor=user, incident=incident, task=task, reason=body.reason, now=context.clock.now()
    )
    return (await views.tasks_out(session, [task]))[0]
