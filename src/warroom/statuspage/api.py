"""Management of the status page (/api/v1/status-page/...): components and groups for catalog writers,
incidents, updates and maintenances for incident writers, everything readable by internal readers."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import CatalogWriter, ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.incidents.domain import incident_ref
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import viewer_of
from warroom.observables.service import check_outgoing
from warroom.problems import problem_responses
from warroom.statuspage import components as catalog
from warroom.statuspage import service, subscribers
from warroom.statuspage.drafts import linked_status_incidents
from warroom.statuspage.models import StatusComponent, StatusIncident, StatusSubscriber
from warroom.statuspage.schemas import (
    AffectedOut,
    ComponentCreate,
    ComponentOut,
    ComponentPatch,
    DraftEdits,
    GroupCreate,
    GroupPatch,
    IncidentCreate,
    IncidentPatch,
    MaintenanceCreate,
    StatusIncidentOut,
    SubscriberCreate,
    SubscriberOut,
    UpdateCreate,
    UpdateOut,
)
from warroom.statuspage.views import Board, load, page_info

router = APIRouter(prefix="/api/v1/status-page", tags=["status page"])
incident_router = APIRouter(prefix="/api/v1/incidents", tags=["status page"])


def _ctx(context: AppContext, user: User) -> service.Ctx:
    viewer = viewer_of(user, context.procedure.procedure)
    return service.Ctx(actor=user, now=context.clock.now(), page=page_info(context.settings), viewer=viewer)


async def _component_out(session: AsyncSession, row: StatusComponent) -> ComponentOut:
    board = Board(await catalog.all_components(session=session))
    slugs = await catalog.service_slugs(session=session)
    return _as_out(row, board, slugs)


def _as_out(row: StatusComponent, board: Board, slugs: dict[int, list[str]]) -> ComponentOut:
    return ComponentOut(
        id=row.id,
        name=row.name,
        description=row.description,
        is_group=row.is_group,
        group_id=row.group_id,
        position=row.position,
        status=board.status(row),
        services=slugs.get(row.id, []),
        showcase=row.showcase,
        only_show_if_degraded=row.only_show_if_degraded,
        start_date=row.start_date,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get("/components", response_model=list[ComponentOut])
async def list_components(_user: InternalReader, session: ReadSession) -> list[ComponentOut]:
    """Groups and components in page order."""
    board = Board(await catalog.all_components(session=session))
    slugs = await catalog.service_slugs(session=session)
    return [_as_out(row, board, slugs) for row in board.in_order()]


@router.post("/components", response_model=ComponentOut, status_code=201)
async def create_component(
    body: ComponentCreate, _user: CatalogWriter, session: WriteSession, context: ContextDep
) -> ComponentOut:
    row = await catalog.create_component(session=session, data=body, now=context.clock.now())
    return await _component_out(session, row)


@router.patch("/components/{component_id}", response_model=ComponentOut)
async def edit_component(
    component_id: int, body: ComponentPatch, _user: CatalogWriter, session: WriteSession, context: ContextDep
) -> ComponentOut:
    row = await catalog.get_component(session=session, component_id=component_id, for_update=True)
    await catalog.update_component(session=session, component=row, patch=body, now=context.clock.now())
    return await _component_out(session, row)


@router.delete("/components/{component_id}", status_code=204)
async def delete_component(component_id: int, _user: CatalogWriter, session: WriteSession) -> None:
    row = await catalog.get_component(session=session, component_id=component_id)
    await catalog.delete_component(session=session, component=row)


@router.post("/groups", response_model=ComponentOut, status_code=201)
async def create_group(
    body: GroupCreate, _user: CatalogWriter, session: WriteSession, context: ContextDep
) -> ComponentOut:
    row = await catalog.create_group(session=session, data=body, now=context.clock.now())
    return await _component_out(session, row)


@router.patch("/groups/{group_id}", response_model=ComponentOut)
async def edit_group(
    group_id: int, body: GroupPatch, _user: CatalogWriter, session: WriteSession, context: ContextDep
) -> ComponentOut:
    row = await catalog.get_component(session=session, component_id=group_id, group=True, for_update=True)
    await catalog.update_group(session=session, group=row, patch=body, now=context.clock.now())
    return await _component_out(session, row)


@router.delete("/groups/{group_id}", status_code=204)
async def delete_group(group_id: int, _user: CatalogWriter, session: WriteSession) -> None:
    """Its components stay, ungrouped."""
    row = await catalog.get_component(session=session, component_id=group_id, group=True)
    await catalog.delete_component(session=session, component=row)


async def incident_out(session: AsyncSession, context: AppContext, item: StatusIncident) -> StatusIncidentOut:
    await session.flush()
    data = await load(session, select(StatusIncident).where(StatusIncident.id == item.id))
    rows = {r.id: r for r in await catalog.all_components(session=session)}
    return StatusIncidentOut(
        id=item.id,
        kind=item.kind,
        name=item.name,
        status=item.status,
        impact=item.impact,
        published=item.published_at is not None,
        incident=incident_ref(item.incident_id) if item.incident_id is not None else None,
        created_at=item.created_at,
        updated_at=item.updated_at,
        published_at=item.published_at,
        started_at=item.started_at,
        monitoring_at=item.monitoring_at,
        resolved_at=item.resolved_at,
        scheduled_for=item.scheduled_for,
        scheduled_until=item.scheduled_until,
        public_url=page_info(context.settings).incident_url(item.id),
        components=[
            AffectedOut(id=c, name=rows[c].name, status=rows[c].status)
            for c in data.components[item.id]
            if c in rows
        ],
        updates=[
            UpdateOut(
                id=u.id,
                status=u.status,
                body=u.body,
                affected_components=u.affected_components,
                created_at=u.display_at,
            )
            for u in data.updates[item.id]
        ],
    )


@router.get("/incidents", response_model=list[StatusIncidentOut])
async def list_incidents(
    _user: InternalReader, session: ReadSession, context: ContextDep
) -> list[StatusIncidentOut]:
    """Drafts included, newest first."""
    items = await service.list_status_incidents(session=session, kind="incident")
    return [await incident_out(session, context, item) for item in items]


@router.post("/incidents", response_model=StatusIncidentOut, status_code=201)
async def create_incident(
    body: IncidentCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> StatusIncidentOut:
    item = await service.create_incident(session=session, data=body, ctx=_ctx(context, user))
    return await incident_out(session, context, item)


@router.get("/incidents/{item_id}", response_model=StatusIncidentOut)
async def show_incident(
    item_id: int, _user: InternalReader, session: ReadSession, context: ContextDep
) -> StatusIncidentOut:
    item = await service.get_status_incident(session=session, status_incident_id=item_id, kind="incident")
    return await incident_out(session, context, item)


@router.patch("/incidents/{item_id}", response_model=StatusIncidentOut)
async def edit_incident(
    item_id: int, body: IncidentPatch, _user: IncidentWriter, session: WriteSession, context: ContextDep
) -> StatusIncidentOut:
    """The public title and impact; the messages themselves stay as published."""
    item = await service.get_status_incident(
        session=session, status_incident_id=item_id, kind="incident", for_update=True
    )
    for name, value in body.changes().items():
        setattr(item, name, value)
    if item.incident_id is not None:
        await check_outgoing(session, item.incident_id, item.name, "the public status page")
    item.updated_at = context.clock.now()
    return await incident_out(session, context, item)


@router.post("/incidents/{item_id}/publish", response_model=StatusIncidentOut)
async def publish_incident(
    item_id: int,
    user: IncidentWriter,
    session: WriteSession,
    context: ContextDep,
    body: DraftEdits | None = None,
) -> StatusIncidentOut:
    """Publish a draft, with its title and first message reworded if `body` says so."""
    item = await service.get_status_incident(
        session=session, status_incident_id=item_id, kind="incident", for_update=True
    )
    if body is not None:
        await service.edit_draft(session=session, item=item, data=body, now=context.clock.now())
    await service.publish(session=session, item=item, ctx=_ctx(context, user))
    return await incident_out(session, context, item)


@router.post("/incidents/{item_id}/updates", response_model=StatusIncidentOut, status_code=201)
async def post_update(
    item_id: int, body: UpdateCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> StatusIncidentOut:
    item = await service.get_status_incident(
        session=session, status_incident_id=item_id, kind="incident", for_update=True
    )
    await service.post_update(session=session, item=item, data=body, ctx=_ctx(context, user))
    return await incident_out(session, context, item)


@incident_router.get("/{ref}/status-page", response_model=list[StatusIncidentOut])
async def incident_status_page(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[StatusIncidentOut]:
    """What the status page says (or has drafted) about this incident, drafts included."""
    incident = await get_incident(
        session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure)
    )
    items = await linked_status_incidents(session, incident.id)
    return [await incident_out(session, context, item) for item in items]


@router.get("/maintenances", response_model=list[StatusIncidentOut])
async def list_maintenances(
    _user: InternalReader, session: ReadSession, context: ContextDep
) -> list[StatusIncidentOut]:
    items = await service.list_status_incidents(session=session, kind="maintenance")
    return [await incident_out(session, context, item) for item in items]


@router.post("/maintenances", response_model=StatusIncidentOut, status_code=201)
async def create_maintenance(
    body: MaintenanceCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> StatusIncidentOut:
    item = await service.create_maintenance(session=session, data=body, ctx=_ctx(context, user))
    return await incident_out(session, context, item)


@router.post("/maintenances/{item_id}/updates", response_model=StatusIncidentOut, status_code=201)
async def update_maintenance(
    item_id: int, body: UpdateCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> StatusIncidentOut:
    """Start early (in_progress), verify, or complete (also before the window: cancelled)."""
    item = await service.get_status_incident(
        session=session, status_incident_id=item_id, kind="maintenance", for_update=True
    )
    await service.post_update(session=session, item=item, data=body, ctx=_ctx(context, user))
    return await incident_out(session, context, item)


def _subscriber_out(row: StatusSubscriber, component_ids: list[int]) -> SubscriberOut:
    return SubscriberOut(
        id=row.id,
        kind=row.kind,
        address=row.address,
        confirmed=row.confirmed_at is not None,
        components=component_ids,
        created_at=row.created_at,
        confirmed_at=row.confirmed_at,
    )


@router.get("/subscribers", response_model=list[SubscriberOut])
async def list_subscribers(_user: InternalReader, session: ReadSession) -> list[SubscriberOut]:
    return [_subscriber_out(s, c) for s, c in await subscribers.list_subscribers(session=session)]


@router.post("/subscribers", response_model=SubscriberOut, status_code=201, responses=problem_responses(429))
async def add_subscriber(
    body: SubscriberCreate, _user: IncidentWriter, session: WriteSession, context: ContextDep
) -> SubscriberOut:
    """A webhook is subscribed at once; an email address is sent a confirmation link first."""
    row = await subscribers.add_subscriber(
        session=session,
        kind=body.kind,
        address=body.address,
        component_ids=body.components,
        page=page_info(context.settings),
        now=context.clock.now(),
    )
    return _subscriber_out(row, list(dict.fromkeys(body.components)))


@router.delete("/subscribers/{subscriber_id}", status_code=204)
async def remove_subscriber(subscriber_id: int, _user: IncidentWriter, session: WriteSession) -> None:
    await subscribers.remove_subscriber(session=session, subscriber_id=subscriber_id)
