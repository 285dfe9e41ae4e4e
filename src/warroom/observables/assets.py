"""Assets and attack surfaces: what an incident touches, and whether it spans three surfaces or more."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.errors import Conflict, NotFound
from warroom.incidents.models import Incident, IncidentService, Task
from warroom.observables.models import Asset, IncidentAsset, TaskAsset
from warroom.observables.schemas import AssetIn
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

MULTI_VECTOR = 3  # surfaces at once: the seeds' attacks "across endpoints, cloud and networks"
SURFACE_ORDER = ("endpoint", "identity", "email", "network", "cloud", "application")


async def create(*, session: AsyncSession, data: AssetIn, now: datetime) -> Asset:
    """A new asset, or the one of this kind and name already known (the same host is one asset)."""
    found = await session.scalar(
        select(Asset).where(Asset.kind == data.kind, Asset.name == data.name.strip())
    )
    if found is not None:
        return found
    asset = Asset(kind=data.kind, name=data.name.strip(), surface=data.surface, description=data.description,
                  created_at=now)  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(asset)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"the {data.kind} {data.name!r} was just added by someone else; try again") from None
    return asset


async def get(session: AsyncSession, asset_id: int) -> Asset:
    asset = await session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    return asset


async def list_all(session: AsyncSession) -> list[Asset]:
    return list((await session.scalars(select(Asset).order_by(Asset.kind, Asset.name))).all())


async def of_incident(session: AsyncSession, incident_id: int) -> list[Asset]:
    query = select(Asset).join(IncidentAsset, IncidentAsset.asset_id == Asset.id)
    return list(
        (
            await session.scalars(query.where(IncidentAsset.incident_id == incident_id).order_by(Asset.id))
        ).all()
    )


async def link(
    *, session: AsyncSession, actor: User, incident: Incident, asset: Asset, now: datetime
) -> bool:
    """Link an asset to the incident; False when it already was."""
    if asset.id in {a.id for a in await of_incident(session, incident.id)}:
        return False
    session.add(IncidentAsset(incident_id=incident.id, asset_id=asset.id))
    data = {"asset_id": asset.id, "asset_kind": asset.kind, "name": asset.name, "surface": asset.surface}
    await record(session, incident, actor, EventKind.asset_linked, now, **data)
    incident.updated_at = now
    await session.flush()
    return True


async def link_task(*, session: AsyncSession, task: Task, asset: Asset) -> None:
    found = await session.scalar(
        select(TaskAsset).where(TaskAsset.task_id == task.id, TaskAsset.asset_id == asset.id)
    )
    if found is None:
        session.add(TaskAsset(task_id=task.id, asset_id=asset.id))
        await session.flush()


async def surfaces(session: AsyncSession, incident_id: int) -> tuple[list[Asset], list[str]]:
    """Its assets, and every surface involved: theirs, and `application` for affected services."""
    assets = await of_incident(session, incident_id)
    found = {a.surface for a in assets}
    services = await session.scalar(
        select(IncidentService.id).where(IncidentService.incident_id == incident_id)
    )
    if services is not None:
        found.add("application")
    return assets, [s for s in SURFACE_ORDER if s in found]
