"""/api/v1/alerts and /api/v1/integrations: thin routes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts import drill_end, integrations, service, views
from warroom.alerts.blast_radius import blast_radius
from warroom.alerts.incident_changes import recent_changes
from warroom.alerts.schemas import (
    AlertEventOut,
    AlertOut,
    AlertPage,
    AttachRequest,
    BlastRadiusOut,
    ChangeOut,
    IntegrationCreate,
    IntegrationOut,
    IntegrationPatch,
    NeighbourOut,
)
from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import CatalogWriter, ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.errors import Conflict, NotFound
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import SYSTEM, Viewer, viewer_of
from warroom.notify.models import OutgoingMessage
from warroom.paging.engine import escalate_now

router = APIRouter(prefix="/api/v1", tags=["alerts"])


def _viewer(user: User, context: AppContext) -> Viewer:
    return viewer_of(user, context.procedure.procedure)


@router.get("/alerts", response_model=AlertPage)
async def list_alerts(
    user: InternalReader,
    session: ReadSession,
    context: ContextDep,
    status: Annotated[list[str], Query(description="triggered, acknowledged, resolved")] = [],  # noqa: B006
    severity: Annotated[list[str], Query()] = [],  # noqa: B006
    service_slug: Annotated[str | None, Query(alias="service")] = None,
    integration: int | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AlertPage:
    filters = service.AlertFilter(
        status=tuple(status),
        severity=tuple(severity),
        service=service_slug,
        integration_id=integration,
        text=q,
        since=since,
    )
    rows, total = await service.list_alerts(
        session=session, filters=filters, limit=limit, offset=offset, viewer=_viewer(user, context)
    )
    return AlertPage.of(await views.alerts_out(session, rows), total, limit, offset)


@router.get("/alerts/{ref}", response_model=AlertOut)
async def read_alert(ref: str, user: InternalReader, session: ReadSession, context: ContextDep) -> AlertOut:
    return (
        await views.alerts_out(
            session, [await service.get_alert(session=session, ref=ref, viewer=_viewer(user, context))]
        )
    )[0]


@router.get("/alerts/{ref}/events", response_model=list[AlertEventOut])
async def alert_history(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[AlertEventOut]:
    alert = await service.get_alert(session=session, ref=ref, viewer=_viewer(user, context))
    return [
        AlertEventOut(at=e.at, action=e.action, actor=e.actor, request_id=e.request_id, data=e.data)
        for e in await service.alert_events(session=session, alert_id=alert.id)
    ]


@router.get("/alerts/{ref}/messages")
async def alert_messages(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[dict[str, object]]:
    """Every page sent (or being sent) for this alert: to whom, how, its state, attempts and last error."""
    alert = await service.get_alert(session=session, ref=ref, viewer=_viewer(user, context))
    rows = await session.execute(
        select(OutgoingMessage, User.email)
        .outerjoin(User, User.id == OutgoingMessage.user_id)
        .where(OutgoingMessage.alert_id == alert.id)
        .order_by(OutgoingMessage.id)
    )
    return [
        {
            "id": m.id,
            "user": email,
            "channel": m.channel,
            "state": m.state,
            "attempts": m.attempts,
            "last_error": m.last_error,
            "due_at": m.due_at,
            "sent_at": m.sent_at,
        }
        for m, email in rows.all()
    ]


@router.post("/alerts/{ref}/acknowledge", response_model=AlertOut)
async def acknowledge_alert(
    ref: str, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> AlertOut:
    alert = await service.get_alert(session=session, ref=ref, viewer=_viewer(user, context), for_update=True)
    await service.acknowledge(session=session, alert=alert, actor=user, now=context.clock.now())
    return (await views.alerts_out(session, [alert]))[0]


@router.post("/alerts/{ref}/unacknowledge", response_model=AlertOut)
async def unacknowledge_alert(
    ref: str, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> AlertOut:
    """An acknowledged alert goes back to triggered and is paged again from the policy's first step
    (a triggered alert is left as it is; a resolved one is 409)."""
    alert = await service.get_alert(session=session, ref=ref, viewer=_viewer(user, context), for_update=True)
    await service.unacknowledge(session=session, alert=alert, actor=user, now=context.clock.now())
    return (await views.alerts_out(session, [alert]))[0]


@router.post("/alerts/{ref}/resolve", response_model=AlertOut)
async def resolve_alert(
    ref: str, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> AlertOut:
    alert = await service.get_alert(session=session, ref=ref, viewer=_viewer(user, context), for_update=True)
    await service.resolve(session=session, alert=alert, actor=user, now=context.clock.now())
    return (await views.alerts_out(session, [alert]))[0]


@router.post("/alerts/{ref}/escalate", response_model=AlertOut)
async def escalate_alert(
    ref: str, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> AlertOut:
    """Page the next step of the policy now, without waiting for its delay."""
    alert = await service.get_alert(session=session, ref=ref, viewer=_viewer(user, context), for_update=True)
    if not await escalate_now(session=session, alert_id=alert.id, actor=user.email, now=context.clock.now()):
        raise Conflict(f"alert {alert.id} is not being paged (no policy, acknowledged, or finished)")
    return (await views.alerts_out(session, [alert]))[0]


@router.post("/alerts/{ref}/attach", response_model=AlertOut)
async def attach_alert(
    ref: str, body: AttachRequest, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> AlertOut:
    alert = await service.get_alert(session=session, ref=ref, viewer=_viewer(user, context), for_update=True)
    viewer = viewer_of(user, context.procedure.procedure)
    incident = await get_incident(session=session, ref=body.incident, viewer=viewer, for_update=True)
    await service.attach(session=session, alert=alert, incident=incident, actor=user, now=context.clock.now())
    return (await views.alerts_out(session, [alert]))[0]


@router.get("/integrations", response_model=list[IntegrationOut])
async def list_integrations(
    user: InternalReader, session: ReadSession, context: ContextDep
) -> list[IntegrationOut]:
    """Every integration; its key only to admins and the owning team's responders (null for others)."""
    base = context.settings.resolved_base_url()
    access = await integrations.key_access(session=session, user=user)
    return [
        views.integration_out(row, base, access)
        for row in await integrations.list_integrations(session=session)
    ]


async def _one(session: AsyncSession, context: AppContext, user: User, integration_id: int) -> IntegrationOut:
    rows = await integrations.list_integrations(session=session, integration_id=integration_id)
    if not rows:
        raise NotFound(f"no integration {integration_id}")
    access = await integrations.key_access(session=session, user=user)
    return views.integration_out(rows[0], context.settings.resolved_base_url(), access)


@router.post("/integrations", status_code=201, response_model=IntegrationOut)
async def create_integration(
    body: IntegrationCreate, admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> IntegrationOut:
    created = await integrations.create_integration(session=session, data=body, now=context.clock.now())
    return await _one(session, context, admin, created.id)


@router.get("/integrations/{integration_id}", response_model=IntegrationOut)
async def read_integration(
    integration_id: int, user: InternalReader, session: ReadSession, context: ContextDep
) -> IntegrationOut:
    return await _one(session, context, user, integration_id)


@router.patch("/integrations/{integration_id}", response_model=IntegrationOut)
async def update_integration(
    integration_id: int,
    body: IntegrationPatch,
    admin: CatalogWriter,
    session: WriteSession,
    context: ContextDep,
) -> IntegrationOut:
    row = await integrations.get_integration(session=session, integration_id=integration_id)
    await integrations.update_integration(session=session, integration=row, patch=body)
    if context.intake:
        context.intake.cache.forget()
    return await _one(session, context, admin, integration_id)


@router.post("/integrations/{integration_id}/rotate", response_model=IntegrationOut)
async def rotate_integration_key(
    integration_id: int, admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> IntegrationOut:
    """A new key; the old one stops working at once here, and within seconds on other server processes."""
    row = await integrations.get_integration(session=session, integration_id=integration_id)
    await integrations.rotate_key(session=session, integration=row, now=context.clock.now())
    if context.intake:
        context.intake.cache.forget()
    return await _one(session, context, admin, integration_id)


@router.get("/incidents/{ref}/changes", response_model=list[ChangeOut], tags=["incidents"])
async def incident_changes(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[ChangeOut]:
    """Deploys and config changes to the incident's services from WARROOM_RECENT_CHANGES_HOURS before its
    impact until it resolved, newest first: the first suspects."""
    incident = await get_incident(session=session, ref=ref, viewer=_viewer(user, context))
    window = timedelta(hours=context.settings.recent_changes_hours)
    found = await recent_changes(session=session, incident=incident, window=window, now=context.clock.now())
    return [
        ChangeOut(id=c.id, service=slug, at=c.at, summary=c.summary, source=c.source, links=c.links)
        for c, slug in found
    ]


@router.post("/incidents/{ref}/drill/end", response_model=AlertPage, tags=["incidents"])
async def end_drill(ref: str, user: IncidentWriter, session: WriteSession, context: ContextDep) -> AlertPage:
    """End a drill: every page it started stops, its alerts are resolved and it is closed as a drill (its
    commander or an admin; 409 for a real incident). Answers with the drill's alerts as they are now."""
    incident = await get_incident(session=session, ref=ref, viewer=_viewer(user, context), for_update=True)
    await drill_end.end_drill(
        session=session, procedure=context.procedure.procedure, actor=user, incident=incident,
        now=context.clock.now(),
    )  # fmt: skip
    filters = service.AlertFilter(incident_id=incident.id)
    rows, total = await service.list_alerts(
        session=session, filters=filters, limit=500, offset=0, viewer=SYSTEM
    )
    return AlertPage.of(await views.alerts_out(session, rows), total, 500, 0)


@router.get("/incidents/{ref}/blast-radius", response_model=BlastRadiusOut, tags=["incidents"])
async def incident_blast_radius(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> BlastRadiusOut:
    """Upstream services in trouble (the likely cause) and downstream ones (likely affected)."""
    viewer = _viewer(user, context)
    incident = await get_incident(session=session, ref=ref, viewer=viewer)
    up, down = await blast_radius(session=session, incident=incident, viewer=viewer)

    return BlastRadiusOut(upstream=[NeighbourOut(**asdict(n)) for n in up],
                          downstream=[NeighbourOut(**asdict(n)) for n in down])  # fmt: skip
