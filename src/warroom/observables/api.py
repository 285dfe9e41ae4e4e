"""Thin routes: an incident's observables and assets, an alert's extracted observables, the asset register."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.service import get_alert
from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.errors import FieldProblem, InvalidInput
from warroom.incidents import collaboration
from warroom.incidents.models import Incident
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import viewer_of
from warroom.observables import assets, service
from warroom.observables.extract import extract
from warroom.observables.models import Asset
from warroom.observables.schemas import (
    AssetIn,
    AssetLink,
    AssetOut,
    ExtractedOut,
    ObservableAdd,
    ObservableOut,
    ObservablePatch,
    ObservablesAdded,
    SurfacesOut,
)
from warroom.observables.views import asset_out, observables_out, surfaces_out

router = APIRouter(prefix="/api/v1", tags=["observables"])


async def _incident(session: AsyncSession, context: AppContext, user: User, ref: str, lock: bool) -> Incident:
    viewer = viewer_of(user, context.procedure.procedure)
    return await get_incident(session=session, ref=ref, viewer=viewer, for_update=lock)


@router.get("/incidents/{ref}/observables", response_model=list[ObservableOut], tags=["incidents"])
async def list_observables(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[ObservableOut]:
    incident = await _incident(session, context, user, ref, lock=False)
    return await observables_out(session, await service.list_for(session, incident.id))


@router.post(
    "/incidents/{ref}/observables", status_code=201, response_model=ObservablesAdded, tags=["incidents"]
)
async def add_observables(
    ref: str, body: ObservableAdd, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> ObservablesAdded:
    """One observable, or a pasted list (`text`): each validated and normalised (refanged) for its type,
    merged with what is already there, or refused with its line and the reason."""
    incident = await _incident(session, context, user, ref, lock=True)
    done = await service.add(
        session=session, actor=user, incident=incident, data=body, now=context.clock.now()
    )
    added, merged = await observables_out(session, done.added), await observables_out(session, done.merged)
    return ObservablesAdded(added=added, merged=merged, refused=done.refused)


@router.patch(
    "/incidents/{ref}/observables/{observable_id}", response_model=ObservableOut, tags=["incidents"]
)
async def change_observable(
    ref: str, observable_id: int, body: ObservablePatch, user: IncidentWriter, session: WriteSession,
    context: ContextDep,
) -> ObservableOut:  # fmt: skip
    incident = await _incident(session, context, user, ref, lock=True)
    item = await service.get(session, incident, observable_id)
    await service.change(session=session, actor=user, incident=incident, item=item, patch=body,
                         now=context.clock.now())  # fmt: skip
    return (await observables_out(session, [item]))[0]


@router.delete("/incidents/{ref}/observables/{observable_id}", status_code=204, tags=["incidents"])
async def remove_observable(
    ref: str, observable_id: int, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> Response:
    incident = await _incident(session, context, user, ref, lock=True)
    item = await service.get(session, incident, observable_id)
    await service.remove(session=session, actor=user, incident=incident, item=item, now=context.clock.now())
    return Response(status_code=204)


@router.get("/alerts/{ref}/observables", response_model=list[ExtractedOut], tags=["alerts"])
async def alert_observables(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[ExtractedOut]:
    """What the alert's labels, annotations and details hold, typed and normalised (as its incident will)."""
    alert = await get_alert(session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure))
    return [
        ExtractedOut(type=f.type, value=f.value, where=f.where) for f in extract(service.alert_payload(alert))
    ]


@router.get("/assets", response_model=list[AssetOut])
async def list_assets(user: InternalReader, session: ReadSession) -> list[AssetOut]:
    return [asset_out(a) for a in await assets.list_all(session)]


@router.post("/assets", status_code=201, response_model=AssetOut)
async def create_asset(
    body: AssetIn, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> AssetOut:
    """A host, account, cloud resource, service or mailbox, and its attack surface (one per kind and name)."""
    return asset_out(await assets.create(session=session, data=body, now=context.clock.now()))


@router.get("/incidents/{ref}/surfaces", response_model=SurfacesOut, tags=["incidents"])
async def incident_surfaces(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> SurfacesOut:
    incident = await _incident(session, context, user, ref, lock=False)
    return await surfaces_out(session, incident.id)


async def _linked_asset(session: AsyncSession, body: AssetLink, context: AppContext) -> Asset:
    if body.new is not None:
        return await assets.create(session=session, data=body.new, now=context.clock.now())
    if body.asset is None:
        raise InvalidInput("asset: name an asset or describe a new one", [FieldProblem("asset", "required")])
    return await assets.get(session, body.asset)


@router.post("/incidents/{ref}/assets", response_model=SurfacesOut, tags=["incidents"])
async def link_asset(
    ref: str, body: AssetLink, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> SurfacesOut:
    """Link an asset (or a new one) to the incident; the answer says the surfaces involved now."""
    incident = await _incident(session, context, user, ref, lock=True)
    asset = await _linked_asset(session, body, context)
    await assets.link(session=session, actor=user, incident=incident, asset=asset, now=context.clock.now())
    return await surfaces_out(session, incident.id)


@router.post("/incidents/{ref}/tasks/{task_id}/assets", response_model=SurfacesOut, tags=["incidents"])
async def link_task_asset(
    ref: str, task_id: int, body: AssetLink, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> SurfacesOut:
    """A task acts on an asset (which joins the incident's assets too)."""
    incident = await _incident(session, context, user, ref, lock=True)
    task = await collaboration.get_task(session=session, incident=incident, task_id=task_id)
    asset = await _linked_asset(session, body, context)
    await assets.link_task(session=session, task=task, asset=asset)
    await assets.link(session=session, actor=user, incident=incident, asset=asset, now=context.clock.now())
    return await surfaces_out(session, incident.id)
