"""Status incidents and maintenances: create, publish, update, and what each update does to components,
to subscribers (a notice each) and to a linked internal incident (one line on its timeline). Callers commit.

Nothing is copied from the internal incident: the public title and every message are typed for the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.errors import Conflict, NotFound, invalid
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import SYSTEM, Viewer
from warroom.observables.service import check_outgoing
from warroom.statuspage import domain, notices
from warroom.statuspage.components import get_component, set_status
from warroom.statuspage.models import StatusIncident, StatusIncidentComponent, StatusIncidentUpdate
from warroom.statuspage.schemas import (
    ComponentChange,
    DraftEdits,
    IncidentCreate,
    MaintenanceCreate,
    UpdateCreate,
)
from warroom.statuspage.views import PageInfo
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

Actor = User | str
AUTOMATIC = {
    "in_progress": "Scheduled maintenance is currently in progress. We will provide updates as necessary.",
    "completed": "The scheduled maintenance has been completed.",
}


@dataclass(frozen=True)
class Ctx:
    """Who acts, when, and the page notices link to."""

    actor: Actor
    now: datetime
    page: PageInfo
    viewer: Viewer = SYSTEM  # whose eyes an incident reference is resolved with (a user's, from the API)


async def get_status_incident(
    *, session: AsyncSession, status_incident_id: int, kind: str | None = None, for_update: bool = False
) -> StatusIncident:
    query = select(StatusIncident).where(StatusIncident.id == status_incident_id)
    item = await session.scalar(query.with_for_update() if for_update else query)
    if item is None or (kind is not None and item.kind != kind):
        raise NotFound(f"no status page {kind or 'incident'} {status_incident_id}")
    return item


async def list_status_incidents(
    *, session: AsyncSession, kind: str, limit: int = 100
) -> list[StatusIncident]:
    query = select(StatusIncident).where(StatusIncident.kind == kind)
    query = query.order_by(StatusIncident.created_at.desc(), StatusIncident.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def _linked_incident_id(session: AsyncSession, ref: str | None, viewer: Viewer) -> int | None:
    if not ref:
        return None
    try:
        incident = await get_incident(session=session, ref=ref, viewer=viewer)
    except NotFound as error:
        raise invalid("incident", error.detail) from None
    if incident.drill:  # a drill never reaches the public
        raise invalid("incident", f"INC-{incident.id} is a drill: drills never go on the public status page")
    return incident.id


async def create_incident(*, session: AsyncSession, data: IncidentCreate, ctx: Ctx) -> StatusIncident:
    """A draft unless `publish`: a draft moves no component and tells nobody until it is published."""
    domain.check_incident_status(None, data.status)
    linked = await _linked_incident_id(session, data.incident, ctx.viewer)
    if linked is not None:
        await check_outgoing(session, linked, f"{data.name}\n{data.body}", "the public status page")
    item = StatusIncident(
        kind="incident",
        name=data.name,
        status=data.status,
        impact=domain.check_impact(data.impact),
        incident_id=linked,
        created_at=ctx.now,
        updated_at=ctx.now,
        started_at=data.started_at or ctx.now,
    )
    session.add(item)
    await session.flush()
    await _stage_components(session, item, data.components)
    session.add(
        StatusIncidentUpdate(
            status_incident_id=item.id,
            status=data.status,
            body=data.body,
            affected_components=None,
            created_at=ctx.now,
            updated_at=ctx.now,
            display_at=ctx.now,
        )
    )
    await session.flush()
    if data.publish:
        await publish(session=session, item=item, ctx=ctx)
    return item


async def _stage_components(
    session: AsyncSession, item: StatusIncident, changes: Sequence[ComponentChange]
) -> None:
    """Remember which components the incident affects and the status it gives each."""
    rows = await _component_rows(session, item.id)
    for change in _unique(changes):
        await get_component(session=session, component_id=change.id)
        row = rows.get(change.id)
        if row is None:
            session.add(
                StatusIncidentComponent(
                    status_incident_id=item.id, component_id=change.id, status=change.status
                )
            )
        else:
            row.status = change.status
    await session.flush()


def _unique(changes: Sequence[ComponentChange]) -> list[ComponentChange]:
    """The last word per component, in id order: every writer locks component rows in one order."""
    return sorted({c.id: c for c in changes}.values(), key=lambda c: c.id)


async def _component_rows(session: AsyncSession, item_id: int) -> dict[int, StatusIncidentComponent]:
    rows = await session.scalars(
        select(StatusIncidentComponent)
        .where(StatusIncidentComponent.status_incident_id == item_id)
        .order_by(StatusIncidentComponent.component_id)
    )
    return {r.component_id: r for r in rows.all()}


async def _first_update(session: AsyncSession, item: StatusIncident) -> StatusIncidentUpdate:
    """The message a status incident was created with (a draft's only one)."""
    first = await session.scalar(
        select(StatusIncidentUpdate)
        .where(StatusIncidentUpdate.status_incident_id == item.id)
        .order_by(StatusIncidentUpdate.id)
        .limit(1)
    )
    assert first is not None  # created with the incident
    return first


async def publish(*, session: AsyncSession, item: StatusIncident, ctx: Ctx) -> None:
    """Show a draft: its components take their statuses now and subscribers hear of it."""
    if item.published_at is not None:
        raise Conflict(f"status page incident {item.id} is already published")
    item.published_at = item.updated_at = ctx.now
    update = await _first_update(session, item)
    rows = await _component_rows(session, item.id)
    update.affected_components = [
        await _move(session, item, r.component_id, r.status, ctx.now) for r in rows.values()
    ]
    update.display_at = update.updated_at = ctx.now
    if item.status == "resolved":
        item.resolved_at = ctx.now
    await _after_update(session, item, update, ctx)


async def edit_draft(*, session: AsyncSession, item: StatusIncident, data: DraftEdits, now: datetime) -> None:
    """A draft's public title and first message, as the person about to publish it words them."""
    if item.published_at is not None:
        raise Conflict(f"status page incident {item.id} is published: post an update instead")
    if data.name is None and data.body is None:
        return
    first = await _first_update(session, item)
    item.name, first.body = data.name or item.name, data.body or first.body
    if item.incident_id is not None:
        await check_outgoing(
            session, item.incident_id, f"{item.name}\n{first.body}", "the public status page"
        )
    item.updated_at = first.updated_at = now


async def _move(
    session: AsyncSession, item: StatusIncident, component_id: int, status: str, now: datetime
) -> dict[str, str]:
    component = await get_component(session=session, component_id=component_id, for_update=True)
    old = await set_status(
        session=session, component=component, status=status, now=now, status_incident_id=item.id
    )
    return {"code": str(component.id), "name": component.name, "old_status": old, "new_status": status}


async def post_update(
    *, session: AsyncSession, item: StatusIncident, data: UpdateCreate, ctx: Ctx
) -> StatusIncidentUpdate:
    if item.published_at is None:
        raise Conflict("publish the draft before posting updates to it")
    if item.kind == "maintenance":
        return await advance_maintenance(
            session=session, item=item, target=data.status, body=data.body, ctx=ctx
        )
    domain.check_incident_status(item.status, data.status)
    if item.incident_id is not None:
        await check_outgoing(session, item.incident_id, data.body, "the public status page")
    await _stage_components(session, item, data.components)
    affected = [await _move(session, item, c.id, c.status, ctx.now) for c in _unique(data.components)]
    if data.status == "resolved" and item.status != "resolved":
        affected += await _release(session, item, {c.id for c in data.components}, ctx.now)
        item.resolved_at = ctx.now
    if data.status == "monitoring" and item.monitoring_at is None:
        item.monitoring_at = ctx.now
    item.status, item.updated_at = data.status, ctx.now
    return await _add_update(session, item, data.status, data.body, affected, ctx)


async def _add_update(
    session: AsyncSession,
    item: StatusIncident,
    status: str,
    body: str,
    affected: list[dict[str, str]],
    ctx: Ctx,
) -> StatusIncidentUpdate:
    update = StatusIncidentUpdate(
        status_incident_id=item.id,
        status=status,
        body=body,
        affected_components=affected or None,
        created_at=ctx.now,
        updated_at=ctx.now,
        display_at=ctx.now,
    )
    session.add(update)
    await session.flush()
    await _after_update(session, item, update, ctx)
    return update


async def _holder_status(session: AsyncSession, item: StatusIncident, component_id: int) -> str | None:
    """The status another open incident or active maintenance still gives this component, if any."""
    others = await session.execute(
        select(StatusIncident.kind, StatusIncidentComponent.status)
        .join(StatusIncidentComponent, StatusIncidentComponent.status_incident_id == StatusIncident.id)
        .where(
            StatusIncidentComponent.component_id == component_id,
            StatusIncident.id != item.id,
            StatusIncident.published_at.is_not(None),
            ((StatusIncident.kind == "incident") & (StatusIncident.status != "resolved"))
            | ((StatusIncident.kind == "maintenance") & StatusIncident.status.in_(domain.ACTIVE_MAINTENANCE)),
        )
    )
    statuses = [status for _kind, status in others.all()]
    return domain.worst(statuses) if statuses else None


async def _release(
    session: AsyncSession, item: StatusIncident, explicit: set[int], now: datetime
) -> list[dict[str, str]]:
    """On resolving: components not given a status in the resolving update go back to operational, or to
    what another open incident or maintenance still says."""
    out = []
    for component_id in await _component_rows(session, item.id):
        if component_id not in explicit:
            status = await _holder_status(session, item, component_id) or "operational"
            out.append(await _move(session, item, component_id, status, now))
    return [a for a in out if a["old_status"] != a["new_status"]]


async def _after_update(
    session: AsyncSession, item: StatusIncident, update: StatusIncidentUpdate, ctx: Ctx
) -> None:
    await notices.stage_notices(session=session, update=update, now=ctx.now)
    if item.incident_id is not None:
        incident = await get_incident(
            session=session, ref=str(item.incident_id), viewer=SYSTEM, for_update=True
        )  # linked by someone who could see it
        await record(
            session,
            incident,
            ctx.actor,
            EventKind.status_page_updated,
            ctx.now,
            status_incident_id=item.id,
            page_kind=item.kind,
            status=update.status,
            url=ctx.page.incident_url(item.id),
        )


async def create_maintenance(*, session: AsyncSession, data: MaintenanceCreate, ctx: Ctx) -> StatusIncident:
    """Published at once, `scheduled`; the worker starts and completes it with its window."""
    domain.check_window(data.scheduled_for, data.scheduled_until)
    item = StatusIncident(
        kind="maintenance",
        name=data.name,
        status="scheduled",
        impact="maintenance",
        incident_id=await _linked_incident_id(session, data.incident, ctx.viewer),
        created_at=ctx.now,
        updated_at=ctx.now,
        published_at=ctx.now,
        started_at=ctx.now,
        scheduled_for=data.scheduled_for,
        scheduled_until=data.scheduled_until,
    )
    session.add(item)
    await session.flush()
    changes = [ComponentChange(id=c, status="under_maintenance") for c in dict.fromkeys(data.components)]
    await _stage_components(session, item, changes)
    await _add_update(session, item, "scheduled", data.body, [], ctx)
    return item


async def advance_maintenance(
    *, session: AsyncSession, item: StatusIncident, target: str, body: str | None, ctx: Ctx
) -> StatusIncidentUpdate:
    """Move a maintenance on (by hand or by the clock): starting puts its components under maintenance,
    remembering what they were; completing returns each one still under maintenance to that."""
    domain.check_maintenance_status(item.status, target)
    affected: list[dict[str, str]] = []
    rows = (await _component_rows(session, item.id)).values()
    if target == "in_progress" and item.status == "scheduled":
        for row in rows:
            component = await get_component(session=session, component_id=row.component_id, for_update=True)
            row.previous_status = component.status
            affected.append(await _move(session, item, row.component_id, "under_maintenance", ctx.now))
    if target == "completed" and item.status != "completed":
        affected = await _restore(session, item, list(rows), ctx.now)
        item.resolved_at = ctx.now
    if target == "verifying" and item.monitoring_at is None:
        item.monitoring_at = ctx.now
    item.status, item.updated_at = target, ctx.now
    text = body or AUTOMATIC.get(target, f"Maintenance {domain.LABELS[target].lower()}.")
    return await _add_update(
        session, item, target, text, [a for a in affected if a["old_status"] != a["new_status"]], ctx
    )


async def _restore(
    session: AsyncSession, item: StatusIncident, rows: list[StatusIncidentComponent], now: datetime
) -> list[dict[str, str]]:
    out = []
    for row in rows:
        component = await get_component(session=session, component_id=row.component_id, for_update=True)
        if row.previous_status is None or component.status != "under_maintenance":
            continue  # never started, or someone has set it since: leave it
        held = await _holder_status(session, item, row.component_id)
        status = held or domain.restored_status(row.previous_status)
        out.append(await _move(session, item, row.component_id, status, now))
    return out
