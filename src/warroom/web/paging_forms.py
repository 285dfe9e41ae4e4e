"""The incident page's chain of command and reach: page someone into the incident or escalate to its
commander (the same requests as POST /api/v1/incidents/{ref}/page and /escalate), and add a downstream
service its blast radius offers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.deps import ContextDep
from warroom.errors import Conflict
from warroom.incidents.models import Incident
from warroom.incidents.schemas import IncidentPatch
from warroom.incidents.service import service_slugs, update_incident
from warroom.paging.requested import escalate_to_commander, page_into
from warroom.web.deps import PageWriter, csrf_checked, form_data
from warroom.web.forms import text
from warroom.web.incident_actions import act

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)


@router.post("/incidents/{ref}/page")
async def page_someone(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        await page_into(session=session, incident=incident, actor=user, kind=text(values, "kind"),
                        ref=text(values, "target")[:320], reason=text(values, "reason")[:1000],
                        key=uuid.uuid4().hex, now=context.clock.now())  # fmt: skip

    return await act(request, context, user, ref, "page", change, values=values, done="Paged")


@router.post("/incidents/{ref}/escalate")
async def escalate(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        await escalate_to_commander(session=session, incident=incident, actor=user,
                                    reason=text(values, "reason")[:1000], key=uuid.uuid4().hex,
                                    now=context.clock.now())  # fmt: skip

    return await act(
        request, context, user, ref, "page", change, values=values, done="The commander was paged"
    )


@router.post("/incidents/{ref}/services/add")
async def add_service(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    """A downstream service the blast radius offered, added to the incident's affected services."""
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        current = (await service_slugs(session=session, incident_ids=[incident.id])).get(incident.id, [])
        wanted = text(values, "service")[:64]
        if wanted in current:
            raise Conflict(f"{wanted} is already an affected service")
        patch = IncidentPatch(services=[*current, wanted])
        await update_incident(session=session, loaded=context.procedure, actor=user, incident=incident,
                              patch=patch, now=context.clock.now())  # fmt: skip

    return await act(request, context, user, ref, "blast", change, values=values, done="Service added")
