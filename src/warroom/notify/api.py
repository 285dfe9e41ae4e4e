"""My contact methods and notification rules (each person manages their own)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from warroom.deps import ContextDep, CurrentUser, ReadSession, WriteSession
from warroom.notify import service

router = APIRouter(prefix="/api/v1/me", tags=["notifications"])


class MethodIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: str = Field(description="email, webhook or apprise")
    address: str = Field(min_length=3, max_length=1000)
    label: str = Field(default="", max_length=200)


class MethodOut(BaseModel):
    id: int
    kind: str
    address: str
    label: str


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_method: int
    delay_seconds: int = Field(default=0, ge=0, le=86_400)
    urgency: str = Field(default="high", description="high (P1/P2, critical) or low")


class RuleOut(BaseModel):
    id: int
    contact_method: int
    delay_seconds: int
    urgency: str


@router.get("/contact-methods", response_model=list[MethodOut])
async def my_methods(user: CurrentUser, session: ReadSession) -> list[MethodOut]:
    return [
        MethodOut(id=m.id, kind=m.kind, address=m.address, label=m.label)
        for m in await service.list_methods(session=session, user_id=user.id)
    ]


@router.post("/contact-methods", status_code=201, response_model=MethodOut)
async def add_method(
    body: MethodIn, user: CurrentUser, session: WriteSession, context: ContextDep
) -> MethodOut:
    m = await service.add_contact_method(
        session=session,
        user_id=user.id,
        kind=body.kind,
        address=body.address,
        label=body.label,
        now=context.clock.now(),
    )
    return MethodOut(id=m.id, kind=m.kind, address=m.address, label=m.label)


@router.delete("/contact-methods/{method_id}", status_code=204)
async def delete_method(method_id: int, user: CurrentUser, session: WriteSession) -> None:
    await service.delete_method(session=session, user_id=user.id, method_id=method_id)


@router.get("/notification-rules", response_model=list[RuleOut])
async def my_rules(user: CurrentUser, session: ReadSession) -> list[RuleOut]:
    return [
        RuleOut(id=r.id, contact_method=r.contact_method_id, delay_seconds=r.delay_seconds, urgency=r.urgency)
        for r in await service.list_rules(session=session, user_id=user.id)
    ]


@router.post("/notification-rules", status_code=201, response_model=RuleOut)
async def add_rule(body: RuleIn, user: CurrentUser, session: WriteSession) -> RuleOut:
    r = await service.add_rule(
        session=session,
        user_id=user.id,
        contact_method_id=body.contact_method,
        delay_seconds=body.delay_seconds,
        urgency=body.urgency,
    )
    return RuleOut(
        id=r.id, contact_method=r.contact_method_id, delay_seconds=r.delay_seconds, urgency=r.urgency
    )
