"""Components and groups: add, change, remove; every status change goes into the history. Callers commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.catalog.models import Service
from warroom.catalog.service import services_by_slug
from warroom.errors import NotFound, invalid
from warroom.statuspage import domain
from warroom.statuspage.models import ComponentStatusChange, StatusComponent, StatusComponentService
from warroom.statuspage.schemas import ComponentCreate, ComponentPatch, GroupCreate, GroupPatch


async def all_components(*, session: AsyncSession) -> list[StatusComponent]:
    """Groups and components, in page order: by position, then id."""
    query = select(StatusComponent).order_by(StatusComponent.position, StatusComponent.id)
    return list((await session.scalars(query)).all())


async def get_component(
    *, session: AsyncSession, component_id: int, group: bool = False, for_update: bool = False
) -> StatusComponent:
    query = select(StatusComponent).where(StatusComponent.id == component_id)
    row = await session.scalar(query.with_for_update() if for_update else query)
    if row is None or row.is_group != group:
        raise NotFound(f"no {'group' if group else 'component'} {component_id}")
    return row


async def _next_position(session: AsyncSession, group_id: int | None) -> int:
    """After the last sibling: top-level items share one order, each group's components another."""
    siblings = (
        StatusComponent.group_id.is_(None) if group_id is None else StatusComponent.group_id == group_id
    )
    found = await session.scalar(select(func.max(StatusComponent.position)).where(siblings))
    return 0 if found is None else int(found) + 1


async def create_group(*, session: AsyncSession, data: GroupCreate, now: datetime) -> StatusComponent:
    position = data.position if data.position is not None else await _next_position(session, None)
    group = StatusComponent(
        is_group=True,
        group_id=None,
        name=data.name,
        description=data.description,
        position=position,
        status="operational",
        showcase=False,
        only_show_if_degraded=False,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    await session.flush()
    return group


async def update_group(
    *, session: AsyncSession, group: StatusComponent, patch: GroupPatch, now: datetime
) -> None:
    for name, value in patch.changes().items():
        setattr(group, name, value)
    group.updated_at = now
    await session.flush()


async def _check_group(session: AsyncSession, group_id: int | None) -> None:
    if group_id is None:
        return
    group = await session.get(StatusComponent, group_id)
    if group is None or not group.is_group:
        raise invalid("group_id", f"no group {group_id}")


async def _set_services(session: AsyncSession, component: StatusComponent, slugs: Sequence[str]) -> None:
    services = await services_by_slug(session=session, slugs=slugs, field="services")
    await session.execute(
        delete(StatusComponentService).where(StatusComponentService.component_id == component.id)
    )
    session.add_all(StatusComponentService(component_id=component.id, service_id=s.id) for s in services)


async def create_component(*, session: AsyncSession, data: ComponentCreate, now: datetime) -> StatusComponent:
    await _check_group(session, data.group_id)
    position = data.position if data.position is not None else await _next_position(session, data.group_id)
    component = StatusComponent(
        is_group=False,
        group_id=data.group_id,
        name=data.name,
        description=data.description,
        position=position,
        status=data.status,
        showcase=data.showcase,
        only_show_if_degraded=data.only_show_if_degraded,
        start_date=data.start_date,
        created_at=now,
        updated_at=now,
    )
    session.add(component)
    await session.flush()
    session.add(ComponentStatusChange(component_id=component.id, status=data.status, at=now))
    await _set_services(session, component, data.services)
    await session.flush()
    return component


async def update_component(
    *, session: AsyncSession, component: StatusComponent, patch: ComponentPatch, now: datetime
) -> None:
    changes = patch.changes()
    if "group_id" in changes:
        await _check_group(session, changes["group_id"])
    if "services" in changes:
        await _set_services(session, component, changes.pop("services"))
    if "status" in changes:
        await set_status(session=session, component=component, status=changes.pop("status"), now=now)
    for name, value in changes.items():
        setattr(component, name, value)
    component.updated_at = now
    await session.flush()


async def delete_component(*, session: AsyncSession, component: StatusComponent) -> None:
    """A group's components stay, ungrouped (the foreign key sets their group to null)."""
    await session.delete(component)
    await session.flush()


async def set_status(
    *,
    session: AsyncSession,
    component: StatusComponent,
    status: str,
    now: datetime,
    status_incident_id: int | None = None,
) -> str:
    """Move a component to `status`, recording the change when there is one; returns the old status."""
    old = component.status
    domain.check_component_status(status)
    if status != old:
        component.status, component.updated_at = status, now
        session.add(
            ComponentStatusChange(
                component_id=component.id, status=status, at=now, status_incident_id=status_incident_id
            )
        )
    return old


async def service_slugs(*, session: AsyncSession) -> dict[int, list[str]]:
    rows = await session.execute(
        select(StatusComponentService.component_id, Service.slug)
        .join(Service, Service.id == StatusComponentService.service_id)
        .order_by(Service.slug)
    )
    out: dict[int, list[str]] = {}
    for component_id, slug in rows.all():
        out.setdefault(component_id, []).append(slug)
    return out


async def histories(*, session: AsyncSession, since: datetime) -> dict[int, list[domain.Change]]:
    """Each component's changes from the one in force at `since` on: what uptime needs, nothing older."""
    latest_before = (
        select(ComponentStatusChange.component_id, func.max(ComponentStatusChange.at).label("at"))
        .where(ComponentStatusChange.at <= since)
        .group_by(ComponentStatusChange.component_id)
        .subquery()
    )
    first = await session.execute(
        select(
            ComponentStatusChange.component_id, ComponentStatusChange.at, ComponentStatusChange.status
        ).join(
            latest_before,
            (latest_before.c.component_id == ComponentStatusChange.component_id)
            & (latest_before.c.at == ComponentStatusChange.at),
        )
    )
    later = await session.execute(
        select(ComponentStatusChange.component_id, ComponentStatusChange.at, ComponentStatusChange.status)
        .where(ComponentStatusChange.at > since)
        .order_by(ComponentStatusChange.at, ComponentStatusChange.id)
    )
    out: dict[int, list[domain.Change]] = {}
    for component_id, at, status in [*first.all(), *later.all()]:
        out.setdefault(component_id, []).append(domain.Change(at, status))
    return out
