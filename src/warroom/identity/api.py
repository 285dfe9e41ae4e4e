"""Single sign-on's admin API: providers (beside the one the environment may set) and the group rules that
give people their role and teams. Admins only; a provider's secret is never shown back."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import ValidationError
from sqlalchemy import select

from warroom.auth.service import create_token
from warroom.deps import ContextDep, ReadSession, UserManager, WriteSession
from warroom.errors import Conflict, FieldProblem, NotFound, PermissionDenied
from warroom.identity import service
from warroom.identity.domain import ClaimsRefused, person_from_claims
from warroom.identity.models import GroupRule, SsoProvider
from warroom.identity.oidc import ProviderConfig, SignInFailed, poll_device, start_device
from warroom.identity.schemas import (
    DevicePoll,
    DeviceStart,
    DeviceToken,
    ProviderIn,
    ProviderOut,
    RuleIn,
    RuleOut,
)

router = APIRouter(prefix="/api/v1/sso", tags=["identity"])
# Signing in needs no token (it is how a terminal gets one): beside the web sign-in, not under /api/v1.
device_router = APIRouter(prefix="/auth/sso", tags=["identity"])
DEVICE_INTERVAL = 5  # seconds between polls, as RFC 8628 suggests


def _out(config: ProviderConfig, source: Literal["environment", "database"], base_url: str) -> ProviderOut:
    return ProviderOut(
        slug=config.slug, name=config.name, issuer=config.issuer, client_id=config.client_id,
        scopes=config.scopes, source=source, sign_in_url=f"{base_url}/auth/sso/{config.slug}",
    )  # fmt: skip


@router.get("/providers", response_model=list[ProviderOut])
async def providers(_admin: UserManager, session: ReadSession, context: ContextDep) -> list[ProviderOut]:
    from_env = service.configured_from_settings(context.settings)
    base = context.settings.resolved_base_url()
    return [
        _out(p, "environment" if from_env and p.slug == from_env.slug else "database", base)
        for p in await service.providers(session=session, settings=context.settings)
    ]


@router.post("/providers", status_code=201, response_model=ProviderOut)
async def add_provider(
    body: ProviderIn, _admin: UserManager, session: WriteSession, context: ContextDep
) -> ProviderOut:
    taken = {p.slug for p in await service.providers(session=session, settings=context.settings)}
    if body.slug in taken:
        raise Conflict(f"a provider {body.slug!r} exists already", [FieldProblem("slug", "is taken")])
    row = SsoProvider(**body.model_dump(), created_at=context.clock.now())
    session.add(row)
    await session.flush()
    return _out(service.config_of(row), "database", context.settings.resolved_base_url())


@router.delete("/providers/{slug}", status_code=204)
async def remove_provider(slug: str, _admin: UserManager, session: WriteSession) -> Response:
    row = await session.scalar(select(SsoProvider).where(SsoProvider.slug == slug))
    if row is None:
        raise NotFound(f"no provider {slug!r} in the database (one set by the environment stays)")
    await session.delete(row)
    return Response(status_code=204)


def _rule_out(rule: GroupRule, team: str | None) -> RuleOut:
    return RuleOut(id=rule.id, group=rule.group_name, role=rule.role, team=team)


@router.get("/rules", response_model=list[RuleOut])
async def rules(_admin: UserManager, session: ReadSession) -> list[RuleOut]:
    return [_rule_out(rule, team) for rule, team in await service.rule_views(session=session)]


@router.post("/rules", status_code=201, response_model=RuleOut)
async def add_rule(body: RuleIn, _admin: UserManager, session: WriteSession, context: ContextDep) -> RuleOut:
    rule = await service.add_rule(
        session=session, group=body.group, role=body.role, team=body.team, now=context.clock.now()
    )
    return _rule_out(rule, body.team)


@router.delete("/rules/{rule_id}", status_code=204)
async def remove_rule(rule_id: int, _admin: UserManager, session: WriteSession) -> Response:
    await service.remove_rule(session=session, rule_id=rule_id)
    return Response(status_code=204)


@device_router.post("/{slug}/device", response_model=DeviceStart)
async def start_device_sign_in(slug: str, session: ReadSession, context: ContextDep) -> DeviceStart:
    """The CLI's sign-in (RFC 8628): no warroom token needed; the person approves at the provider."""
    config = await service.provider(session=session, settings=context.settings, slug=slug)
    try:
        return DeviceStart.model_validate(await start_device(config))
    except (SignInFailed, ValidationError) as failure:
        raise Conflict(f"device sign-in with {config.name} is not possible: {failure}") from None


@device_router.post("/{slug}/device/token", response_model=DeviceToken)
async def finish_device_sign_in(
    slug: str, body: DevicePoll, response: Response, context: ContextDep
) -> DeviceToken:
    """202 and `pending` until the person approves; then a new API token for them (the same group rules
    as the browser's sign-in); 403 when refused. The provider is asked outside any transaction."""
    async with context.db.read() as session:
        config = await service.provider(session=session, settings=context.settings, slug=slug)
    now = context.clock.now()
    try:
        claims = await poll_device(config, body.device_code, now)
        if isinstance(claims, str):
            response.status_code = 202
            return DeviceToken(
                state="pending", interval=DEVICE_INTERVAL * (2 if claims == "slow_down" else 1)
            )
        person = person_from_claims(claims, email_claim=config.email_claim, name_claim=config.name_claim,
                                    groups_claim=config.groups_claim)  # fmt: skip
    except (SignInFailed, ClaimsRefused) as failure:
        raise PermissionDenied(f"device sign-in refused: {failure}") from None
    async with context.db.write_turn, context.db.write() as session:
        outcome = await service.sign_in_person(session=session, slug=slug, person=person, now=now)
        issued = None
        if outcome.user is not None:
            issued = await create_token(session=session, user=outcome.user, name=f"cli via {slug}", now=now)
        await session.commit()  # a refusal may have let someone go: that stands too
    if outcome.user is None or issued is None:
        raise PermissionDenied(outcome.refused)
    return DeviceToken(
        state="signed_in", token=issued.secret, email=outcome.user.email, role=outcome.user.role
    )
