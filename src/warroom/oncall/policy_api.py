"""/api/v1/escalation-policies: thin routes (what a policy change does to running escalations is in
`policy_service`)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.catalog.models import Service
from warroom.deps import CatalogWriter, ContextDep, InternalReader, ReadSession, WriteSession
from warroom.oncall import policy_service
from warroom.oncall.models import EscalationPolicy
from warroom.oncall.schemas import PolicyCreate, PolicyOut, PolicyPatch

router = APIRouter(prefix="/api/v1", tags=["on-call"])


async def policy_out(session: AsyncSession, policy: EscalationPolicy) -> PolicyOut:
    steps = await policy_service.policy_steps(session=session, policy_id=policy.id)
    slugs = (
        await session.scalars(
            select(Service.slug).where(Service.escalation_policy_id == policy.id).order_by(Service.slug)
        )
    ).all()
    return PolicyOut(
        id=policy.id,
        slug=policy.slug,
        name=policy.name,
        repeat=policy.repeat,
        unack_timeout_seconds=policy.unack_timeout_seconds,
        steps=[{"delay_seconds": s.delay_seconds, "targets": s.targets} for s in steps],
        services=list(slugs),
    )


@router.get("/escalation-policies", response_model=list[PolicyOut])
async def list_policies(_user: InternalReader, session: ReadSession) -> list[PolicyOut]:
    policies = (await session.scalars(select(EscalationPolicy).order_by(EscalationPolicy.slug))).all()
    return [await policy_out(session, p) for p in policies]


@router.post("/escalation-policies", status_code=201, response_model=PolicyOut)
async def create_policy(
    body: PolicyCreate, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> PolicyOut:
    policy = await policy_service.create_policy(session=session, data=body, now=context.clock.now())
    return await policy_out(session, policy)


@router.get("/escalation-policies/{slug}", response_model=PolicyOut)
async def read_policy(slug: str, _user: InternalReader, session: ReadSession) -> PolicyOut:
    return await policy_out(session, await policy_service.get_policy(session=session, slug=slug))


@router.patch("/escalation-policies/{slug}", response_model=PolicyOut)
async def update_policy(
    slug: str, body: PolicyPatch, _admin: CatalogWriter, session: WriteSession
) -> PolicyOut:
    """Change what is sent. `steps` replaces every step; alerts being paged walk the new steps from where
    they are (with fewer steps than that, the last step pages next)."""
    policy = await policy_service.get_policy(session=session, slug=slug)
    await policy_service.update_policy(session=session, policy=policy, patch=body)
    return await policy_out(session, policy)


@router.delete("/escalation-policies/{slug}", status_code=204)
async def delete_policy(slug: str, _admin: CatalogWriter, session: WriteSession) -> None:
    """Its services stop paging until they point at another policy; running escalations are cancelled."""
    await session.delete(await policy_service.get_policy(session=session, slug=slug))
