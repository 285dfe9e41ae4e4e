"""My contact methods and notification rules (each person manages their own: another person's are 404)."""

from __future__ import annotations

from fastapi import APIRouter

from warroom.deps import ContextDep, CurrentUser, ReadSession, WriteSession
from warroom.notify import service
from warroom.notify.models import ContactMethod, NotificationRule
from warroom.notify.schemas import MethodIn, MethodOut, MethodPatch, RuleIn, RuleOut, RulePatch

router = APIRouter(prefix="/api/v1/me", tags=["notifications"])


def method_out(m: ContactMethod) -> MethodOut:
    return MethodOut(id=m.id, kind=m.kind, address=m.address, label=m.label)


def rule_out(r: NotificationRule) -> RuleOut:
    return RuleOut(
        id=r.id, contact_method=r.contact_method_id, delay_seconds=r.delay_seconds, urgency=r.urgency
    )


@router.get("/contact-methods", response_model=list[MethodOut])
async def my_methods(user: CurrentUser, session: ReadSession) -> list[MethodOut]:
    return [method_out(m) for m in await service.list_methods(session=session, user_id=user.id)]


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
    return method_out(m)


@router.patch("/contact-methods/{method_id}", response_model=MethodOut)
async def update_method(
    method_id: int, body: MethodPatch, user: CurrentUser, session: WriteSession
) -> MethodOut:
    method = await service.get_method(session=session, user_id=user.id, method_id=method_id)
    return method_out(await service.update_method(session=session, method=method, patch=body))


@router.delete("/contact-methods/{method_id}", status_code=204)
async def delete_method(method_id: int, user: CurrentUser, session: WriteSession) -> None:
    await service.delete_method(session=session, user_id=user.id, method_id=method_id)


@router.get("/notification-rules", response_model=list[RuleOut])
async def my_rules(user: CurrentUser, session: ReadSession) -> list[RuleOut]:
    return [rule_out(r) for r in await service.list_rules(session=session, user_id=user.id)]


@router.post("/notification-rules", status_code=201, response_model=RuleOut)
async def add_rule(body: RuleIn, user: CurrentUser, session: WriteSession) -> RuleOut:
    r = await service.add_rule(
        session=session,
        user_id=user.id,
        contact_method_id=body.contact_method,
        delay_seconds=body.delay_seconds,
        urgency=body.urgency,
    )
    return rule_out(r)


@router.patch("/notification-rules/{rule_id}", response_model=RuleOut)
async def update_rule(rule_id: int, body: RulePatch, user: CurrentUser, session: WriteSession) -> RuleOut:
    rule = await service.get_rule(session=session, user_id=user.id, rule_id=rule_id)
    return rule_out(await service.update_rule(session=session, rule=rule, patch=body))


@router.delete("/notification-rules/{rule_id}", status_code=204)
async def delete_rule(rule_id: int, user: CurrentUser, session: WriteSession) -> None:
    rule = await service.get_rule(session=session, user_id=user.id, rule_id=rule_id)
    await service.delete_rule(session=session, rule=rule)
