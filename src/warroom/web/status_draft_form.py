"""The incident page's status-page panel: publish the draft the procedure staged, reworded first if need be
(the same as POST /api/v1/status-page/incidents/{id}/publish with a body)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.deps import ContextDep
from warroom.errors import NotFound, invalid
from warroom.incidents.models import Incident
from warroom.incidents.visibility import viewer_of
from warroom.statuspage import service
from warroom.statuspage.models import StatusIncident
from warroom.statuspage.schemas import DraftEdits
from warroom.statuspage.views import page_info
from warroom.web.deps import PageWriter, csrf_checked, form_data
from warroom.web.forms import text
from warroom.web.incident_actions import act

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)


async def _draft_of(session: AsyncSession, incident: Incident, draft_id: str) -> StatusIncident:
    try:
        item = await service.get_status_incident(
            session=session, status_incident_id=int(draft_id or "0"), kind="incident", for_update=True
        )
    except (NotFound, ValueError):
        item = None
    if item is None or item.incident_id != incident.id:
        raise invalid("draft", "no such status page draft on this incident")
    return item


@router.post("/incidents/{ref}/status-page/publish")
async def publish_draft(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        item = await _draft_of(session, incident, text(values, "draft"))
        now = context.clock.now()
        edits = DraftEdits(name=text(values, "name") or None, body=text(values, "body") or None)
        await service.edit_draft(session=session, item=item, data=edits, now=now)
        ctx = service.Ctx(actor=user, now=now, page=page_info(context.settings),
                          viewer=viewer_of(user, context.procedure.procedure))  # fmt: skip
        await service.publish(session=session, item=item, ctx=ctx)

    return await act(
        request, context, user, ref, "status-page", change, values=values, done="Published on the status page"
    )
