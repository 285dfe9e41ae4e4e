"""Thin routes: page someone into an incident, or escalate to its commander."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field

from warroom.deps import ContextDep, IncidentWriter, WriteSession
from warroom.incidents import service
from warroom.incidents.visibility import viewer_of
from warroom.paging import requested

router = APIRouter(prefix="/api/v1/incidents", tags=["paging"])


class PageRequest(BaseModel):
    kind: str = Field(max_length=20)
    ref: str = Field(max_length=200)
    reason: str = Field(max_length=1000)


class EscalateRequest(BaseModel):
    reason: str = Field(max_length=1000)


class PageOut(BaseModel):
    paged: str


@router.post("/{ref}/page", status_code=202, response_model=PageOut)
async def page(
    ref: str, body: PageRequest, user: IncidentWriter, session: WriteSession, context: ContextDep,
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> PageOut:  # fmt: skip
    incident = await service.get_incident(
        session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure), for_update=True
    )
    key = idempotency_key or uuid.uuid4().hex
    label = await requested.page_into(session=session, incident=incident, actor=user, kind=body.kind,
                                      ref=body.ref, reason=body.reason, key=key,
                                      now=context.clock.now())  # fmt: skip
    return PageOut(paged=label)


@router.post("/{ref}/escalate", status_code=202, response_model=PageOut)
async def escalate(
    ref: str, body: EscalateRequest, user: IncidentWriter, session: WriteSession, context: ContextDep,
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> PageOut:  # fmt: skip
    incident = await service.get_incident(
        session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure), for_update=True
    )
    key = idempotency_key or uuid.uuid4().hex
    label = await requested.escalate_to_commander(session=session, incident=incident, actor=user,
                                                  reason=body.reason, key=key,
                                                  now=context.clock.now())  # fmt: skip
    return PageOut(paged=label)
