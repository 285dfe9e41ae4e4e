"""Thin routes for /api/v1/incidents: validate, call the service, shape the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.domain import Permission, allows
from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import (
    ContextDep,
    IncidentReader,
    IncidentWriter,
    InternalReader,
    ReadSession,
    WriteSession,
)
from warroom.incidents import access, collaboration, domain, milestones, service, views
from warroom.incidents.models import Incident
from warroom.incidents.schemas import (
    IncidentCreate,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    LinkCreate,
    LinkOut,
    MilestoneRecord,
    ParticipantAdd,
    ParticipantOut,
    PhaseChange,
    ResolveRequest,
    RoleChange,
    RolesOut,
    RoleWaiver,
    TaskCreate,
    TaskOut,
    TaskPatch,
    TimelineEventOut,
    UpdateOut,
)
from warroom.incidents.visibility import Viewer, viewer_of
from warroom.timeline.service import list_events

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


def _viewer(user: User, context: AppContext) -> Viewer:
    return viewer_of(user, context.procedure.procedure)


async def _one(context: AppContext, session: AsyncSession, incident: Incident, user: User) -> IncidentOut:
    shown = await views.incidents_out(
        session=session,
        loaded=context.procedure,
        incidents=[incident],
        now=context.clock.now(),
        show_roles=allows(user.role, Permission.incident_internal),
    )
    return shown[0]


@router.post("", status_code=201, response_model=IncidentOut)
async def declare(
    body: IncidentCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> IncidentOut:
    incident = await service.declare_incident(
        session=session, loaded=context.procedure, actor=user, data=body, now=context.clock.now()
    )
    return await _one(context, session, incident, user)


@router.get("", response_model=IncidentPage)
async def list_incidents(
    user: IncidentReader,
    session: ReadSession,
    context: ContextDep,
    status: Annotated[list[str], Query(description="active, resolved, closed")] = [],  # noqa: B006
    severity: Annotated[list[str], Query()] = [],  # noqa: B006
    service_slug: Annotated[str | None, Query(alias="service")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the title or summary")] = None,
    declared_after: datetime | None = None,
    declared_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    sort: Annotated[
        Literal["declared", "attention"],
        Query(description="declared: newest first; attention: unacknowledged, then severity, then age"),
    ] = "declared",
) -> IncidentPage:
    filters = service.IncidentFilter(
        status=status,
        severity=severity,
        service=service_slug,
        text=q,
        declared_after=declared_after,
        declared_before=declared_before,
    )
    attention = context.procedure.procedure.severity_ids() if sort == "attention" else None
    rows, total = await service.list_incidents(
        session=session,
        viewer=_viewer(user, context),
        filters=filters,
        limit=limit,
        offset=offset,
        attention=attention,
    )
    items = await views.incidents_out(
        session=session,
        loaded=context.procedure,
        incidents=rows,
        now=context.clock.now(),
        show_roles=allows(user.role, Permission.incident_internal),
    )
    return IncidentPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{ref}", response_model=IncidentOut)
async def read(ref: str, user: IncidentReader, session: ReadSession, context: ContextDep) -> IncidentOut:
    incident = await service.get_incident(session=session, ref=ref, viewer=_viewer(user, context))
    shown = await _one(context, session, incident, user)
    await access.log_read(db=context.db, incident=incident, reader=user, via="api", now=context.clock.now())
    return shown


@router.patch("/{ref}", response_model=IncidentOut)
async def patch(
    ref: str, body: IncidentPatch, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> IncidentOut:
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    await service.update_incident(
        session=session,
        loaded=context.procedure,
        actor=user,
        incident=incident,
        patch=body,
        now=context.clock.now(),
    )
    return await _one(context, session, incident, user)


@router.post("/{ref}/acknowledge", response_model=IncidentOut)
async def acknowledge(
    ref: str, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> IncidentOut:
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    await service.acknowledge(session=session, actor=user, incident=incident, now=context.clock.now())
    return await _one(context, session, incident, user)


@router.get("/{ref}/roles", response_model=RolesOut)
async def roles(ref: str, user: InternalReader, session: ReadSession, context: ContextDep) -> RolesOut:
    incident = await service.get_incident(session=session, ref=ref, viewer=_viewer(user, context))
    history = [
        views.holding_out(a, u)
        for a, u in await collaboration.role_history(session=session, incident_id=incident.id)
    ]
    current = [h for h in history if h.unassigned_at is None]
    waived = await service.waived_roles(session=session, incident_id=incident.id)
    missing = domain.missing_roles(
        context.procedure.procedure,
        severity=incident.severity,
        held_roles={h.role for h in current},
        waived_roles=waived,
    )
    return RolesOut(current=current, history=history, missing=missing, waived=waived)


@router.post("/{ref}/roles/waive", response_model=RolesOut)
async def waive_roles(
    ref: str, body: RoleWaiver, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> RolesOut:
    """The incident commander lets the incident resolve without some required roles, saying why."""
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    await collaboration.waive_roles(
        session=session,
        loaded=context.procedure,
        actor=user,
        incident=incident,
        roles=body.roles,
        reason=body.reason,
        now=context.clock.now(),
    )
    return await roles(ref, user, session, context)


@router.post("/{ref}/roles", response_model=RolesOut)
async def change_role(
    ref: str, body: RoleChange, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> RolesOut:
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    change = collaboration.assign_role if body.action == "assign" else collaboration.unassign_role
    await change(
        session=session,
        loaded=context.procedure,
        actor=user,
        incident=incident,
        role=body.role,
        user_ref=body.user,
        now=context.clock.now(),
    )
    return await roles(ref, user, session, context)


@router.post("/{ref}/phase", response_model=IncidentOut)
async def change_phase(
    ref: str, body: PhaseChange, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> IncidentOut:
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    await service.move_phase(
        session=session,
        loaded=context.procedure,
        actor=user,
        incident=incident,
        target=body.phase,
        reason=body.reason,
        now=context.clock.now(),
        review_published=context.review_published,
    )
    return await _one(context, session, incident, user)


@router.post("/{ref}/resolve", response_model=IncidentOut)
async def resolve(
    ref: str,
    user: IncidentWriter,
    session: WriteSession,
    context: ContextDep,
    body: ResolveRequest | None = None,
) -> IncidentOut:
    """Move to the procedure's resolving phase from wherever the incident is (review, by default)."""
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    target = domain.resolution_phase(context.procedure.procedure, current=incident.phase)
    await service.move_phase(
        session=session,
        loaded=context.procedure,
        actor=user,
        incident=incident,
        target=target,
        reason=body.reason if body else "",
        now=context.clock.now(),
        review_published=context.review_published,
    )
    return await _one(context, session, incident, user)


@router.get("/{ref}/tasks", response_model=list[TaskOut])
async def tasks(ref: str, user: InternalReader, session: ReadSession, context: ContextDep) -> list[TaskOut]:
    incident = await service.get_incident(session=session, ref=ref, viewer=_viewer(user, context))
    return await views.tasks_out(
        session, await collaboration.list_tasks(session=session, incident_id=incident.id)
    )


@router.post("/{ref}/tasks", status_code=201, response_model=TaskOut)
async def add_task(
    ref: str, body: TaskCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> TaskOut:
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    task = await collaboration.add_task(
        session=session, actor=user, incident=incident, data=body, now=context.clock.now()
    )
    return (await views.tasks_out(session, [task]))[0]


@router.patch("/{ref}/tasks/{task_id}", response_model=TaskOut)
async def update_task(
    ref: str, task_id: int, body: TaskPatch, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> TaskOut:
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    task = await collaboration.get_task(session=session, incident=incident, task_id=task_id)
    await collaboration.update_task(
        session=session, actor=user, incident=incident, task=task, patch=body, now=context.clock.now()
    )
    return (await views.tasks_out(session, [task]))[0]


@router.post("/{ref}/links", status_code=201, response_model=LinkOut)
async def add_link(
    ref: str, body: LinkCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> LinkOut:
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    link = await collaboration.add_link(
        session=session,
        incident=incident,
        title=body.title,
        url=body.url,
        actor=user,
        now=context.clock.now(),
    )
    return (await views.links_out(session, [link]))[0]


@router.delete("/{ref}/links/{link_id}", status_code=204)
async def remove_link(
    ref: str, link_id: int, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> None:
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    await collaboration.remove_link(
        session=session, incident=incident, link_id=link_id, actor=user, now=context.clock.now()
    )


@router.get("/{ref}/updates", response_model=list[UpdateOut])
async def updates(
    ref: str, user: IncidentReader, session: ReadSession, context: ContextDep
) -> list[UpdateOut]:
    """Stakeholders see stakeholder updates only; responders and viewers see internal notes too."""
    incident = await service.get_incident(session=session, ref=ref, viewer=_viewer(user, context))
    audiences = (
        ("internal", "stakeholder") if allows(user.role, Permission.incident_internal) else ("stakeholder",)
    )
    found = await collaboration.list_updates(session=session, incident_id=incident.id, audiences=audiences)
    return await views.updates_out(session, found)


@router.get("/{ref}/timeline", response_model=list[TimelineEventOut])
async def timeline(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[TimelineEventOut]:
    incident = await service.get_incident(session=session, ref=ref, viewer=_viewer(user, context))
    events = await list_events(session=session, incident_id=incident.id)
    await access.log_read(
        db=context.db, incident=incident, reader=user, via="timeline", now=context.clock.now()
    )
    return [
        TimelineEventOut(seq=e.seq, at=e.at, actor=e.actor, kind=e.kind, data=e.data, hash=e.hash)
        for e in events
    ]


@router.get("/{ref}/participants", response_model=list[ParticipantOut])
async def participants(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[ParticipantOut]:
    """Those explicitly let into the incident (role holders and the security team see it anyway)."""
    incident = await service.get_incident(session=session, ref=ref, viewer=_viewer(user, context))
    added = await access.list_participants(session=session, incident_id=incident.id)
    return await views.participants_out(session, added)


@router.post("/{ref}/participants", status_code=201, response_model=ParticipantOut)
async def add_participant(
    ref: str, body: ParticipantAdd, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> ParticipantOut:
    """Let someone into a restricted incident: its commander or an admin only; logged on the timeline."""
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    added = await access.add_participant(
        session=session, actor=user, incident=incident, user_ref=body.user, now=context.clock.now()
    )
    return (await views.participants_out(session, [added]))[0]


@router.post("/{ref}/milestones", response_model=IncidentOut)
async def record_milestone(
    ref: str, body: MilestoneRecord, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> IncidentOut:
    """Record when something happened that no phase records: the first malicious activity (an estimate,
    revisable), eradicated, recovered, regulators notified; or containment if no phase has recorded it."""
    incident = await service.get_incident(
        session=session, ref=ref, viewer=_viewer(user, context), for_update=True
    )
    now = context.clock.now()
    await milestones.record_milestone(
        session=session, incident=incident, actor=user, milestone=body.milestone, at=body.at or now,
        note=body.note, now=now,
    )  # fmt: skip
    return await _one(context, session, incident, user)
