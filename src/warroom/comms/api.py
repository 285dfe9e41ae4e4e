"""Stakeholder lists (/api/v1/stakeholders), and an incident's updates: the preview, and posting one."""

from __future__ import annotations

from fastapi import APIRouter, Response

from warroom.comms import service
from warroom.comms.models import StakeholderRecipient
from warroom.comms.schemas import PreviewRequest, RecipientCreate, RecipientOut, RenderedOut
from warroom.deps import ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.incidents.schemas import UpdateCreate, UpdateOut
from warroom.incidents.service import get_incident
from warroom.incidents.views import updates_out
from warroom.incidents.visibility import viewer_of

router = APIRouter(prefix="/api/v1/stakeholders", tags=["communications"])
preview_router = APIRouter(prefix="/api/v1/incidents", tags=["communications"])


def recipient_out(row: StakeholderRecipient) -> RecipientOut:
    return RecipientOut(
        id=row.id, audience=row.audience, channel=row.channel, address=row.address, label=row.label,
        created_at=row.created_at,
    )  # fmt: skip


@router.get("", response_model=list[RecipientOut])
async def list_recipients(
    _user: InternalReader, session: ReadSession, audience: str | None = None
) -> list[RecipientOut]:
    return [recipient_out(r) for r in await service.list_recipients(session=session, audience=audience)]


@router.post("", status_code=201, response_model=RecipientOut)
async def add_recipient(
    body: RecipientCreate, _user: IncidentWriter, session: WriteSession, context: ContextDep
) -> RecipientOut:
    row = await service.add_recipient(
        session=session, loaded=context.procedure, audience=body.audience, channel=body.channel,
        address=body.address, label=body.label, now=context.clock.now(),
    )  # fmt: skip
    return recipient_out(row)


@router.delete("/{recipient_id}", status_code=204)
async def remove_recipient(recipient_id: int, _user: IncidentWriter, session: WriteSession) -> Response:
    await service.remove_recipient(session=session, recipient_id=recipient_id)
    return Response(status_code=204)


@preview_router.post("/{ref}/updates/preview", response_model=list[RenderedOut])
async def preview_update(
    ref: str, body: PreviewRequest, user: IncidentWriter, session: ReadSession, context: ContextDep
) -> list[RenderedOut]:
    """What each audience would receive if this stakeholder update were posted now; nothing is sent."""
    incident = await get_incident(
        session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure)
    )
    rendered = await service.render_update(
        session=session, loaded=context.procedure, base_url=context.settings.resolved_base_url(),
        incident=incident, body=body.body, author=user, audiences=body.audiences, now=context.clock.now(),
        next_update_at=service.next_due_after_posting(context.procedure, incident, context.clock.now()),
    )  # fmt: skip
    counts = {
        a: len(await service.list_recipients(session=session, audience=a))
        for a in {r.audience for r in rendered}
    }
    return [
        RenderedOut(audience=r.audience, subject=r.subject, body=r.body, recipients=counts[r.audience])
        for r in rendered
    ]


@preview_router.post("/{ref}/updates", status_code=201, response_model=UpdateOut)
async def post_update(
    ref: str, body: UpdateCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> UpdateOut:
    viewer = viewer_of(user, context.procedure.procedure)
    incident = await get_incident(session=session, ref=ref, viewer=viewer, for_update=True)
    update = await service.post_update(
        session=session, loaded=context.procedure, actor=user, incident=incident, data=body,
        now=context.clock.now(), base_url=context.settings.resolved_base_url(),
    )  # fmt: skip
    return (await updates_out(session, [update]))[0]
