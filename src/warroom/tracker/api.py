"""Jira routes: the rules (admins), and the webhook Jira calls (`POST /hooks/jira`, outside /api/v1: it
carries no token). A delivery must carry Jira's `X-Hub-Signature` (HMAC-SHA256 of the body with the
webhook's secret), a `timestamp` within five minutes, and must not have been taken before (its
`X-Atlassian-Webhook-Identifier`, else the body's digest): anything else is refused before it is read."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.catalog.models import Service
from warroom.catalog.service import get_service
from warroom.db import SessionFactories
from warroom.deps import CatalogWriter, ContextDep, ReadSession, WriteSession
from warroom.errors import Conflict, FieldProblem, InvalidInput, NotAuthenticated, NotFound
from warroom.inbound import InboundRejected, parse_json
from warroom.procedure.schemas import Procedure
from warroom.tracker.domain import fresh, signature_ok
from warroom.tracker.inbound import take_delivery
from warroom.tracker.models import JiraDelivery, JiraRule
from warroom.tracker.schemas import JiraRuleIn, JiraRuleOut

router = APIRouter(prefix="/api/v1/jira", tags=["jira"])
hooks = APIRouter(prefix="/hooks", tags=["jira"], include_in_schema=False)  # signed by Jira, not a client API


def _check_rule(procedure: Procedure, body: JiraRuleIn) -> None:
    phases = {phase.id for phase in procedure.phases}
    severities = {severity.id for severity in procedure.severities}
    if body.incident_type is not None and body.incident_type not in {t.id for t in procedure.incident_types}:
        _refuse("incident_type", f"no incident type {body.incident_type!r} in the procedure")
    if unknown := sorted(set(body.statuses.values()) - phases):
        _refuse("statuses", f"no phase {unknown[0]!r} in the procedure")
    if unknown := sorted(set(body.priorities) - severities):
        _refuse("priorities", f"no severity {unknown[0]!r} in the procedure")


def _refuse(field: str, why: str) -> None:
    raise InvalidInput(why, [FieldProblem(field, why)])


async def _out(session: AsyncSession, rule: JiraRule) -> JiraRuleOut:
    service = await session.get(Service, rule.service_id) if rule.service_id else None
    return JiraRuleOut(
        id=rule.id, position=rule.position, service=service.slug if service else None,
        incident_type=rule.incident_type, restricted=rule.restricted, project=rule.project,
        issue_type=rule.issue_type, labels=rule.labels, components=rule.components,
        priorities=rule.priorities, statuses=rule.statuses,
    )  # fmt: skip


@router.get("/rules", response_model=list[JiraRuleOut])
async def rules(_admin: CatalogWriter, session: ReadSession) -> list[JiraRuleOut]:
    """Which project an incident's issue goes to, first match by position."""
    found = await session.scalars(select(JiraRule).order_by(JiraRule.position, JiraRule.id))
    return [await _out(session, rule) for rule in found]


@router.post("/rules", status_code=201, response_model=JiraRuleOut)
async def add_rule(
    body: JiraRuleIn, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> JiraRuleOut:
    _check_rule(context.procedure.procedure, body)
    service = await get_service(session=session, slug=body.service) if body.service else None
    fields = body.model_dump(exclude={"service"})
    rule = JiraRule(service_id=service.id if service else None, created_at=context.clock.now(), **fields)
    session.add(rule)
    await session.flush()
    return await _out(session, rule)


@router.delete("/rules/{rule_id}", status_code=204)
async def remove_rule(rule_id: int, _admin: CatalogWriter, session: WriteSession) -> None:
    rule = await session.get(JiraRule, rule_id)
    if rule is None:
        raise NotFound(f"no Jira rule {rule_id}")
    await session.delete(rule)


async def _verified(request: Request, secret: str, now_ms: int) -> tuple[dict[str, Any], str]:
    body = await request.body()
    if not signature_ok(secret, body, request.headers.get("x-hub-signature")):
        raise NotAuthenticated("the X-Hub-Signature does not match this webhook's secret")
    try:
        payload = parse_json(body)
    except InboundRejected as error:
        raise InvalidInput(f"the body {error}") from None
    if not isinstance(payload, dict):
        raise InvalidInput("the body is not a JSON object")
    if not fresh(payload.get("timestamp"), now_ms):
        raise NotAuthenticated("the delivery's timestamp is missing or more than 5 minutes off (a replay?)")
    identifier = request.headers.get("x-atlassian-webhook-identifier") or hashlib.sha256(body).hexdigest()
    return payload, identifier[:200]


@hooks.post("/jira")
async def jira_webhook(request: Request, context: ContextDep) -> dict[str, str]:
    """Jira's issue updates: status, priority and summary back into the incident; done action items."""
    secret = context.settings.jira_webhook_secret
    if secret is None:
        raise NotFound("Jira webhooks are not configured here (WARROOM_JIRA_WEBHOOK_SECRET)")
    now = context.clock.now()
    payload, identifier = await _verified(request, secret.get_secret_value(), int(now.timestamp() * 1000))
    db: SessionFactories = context.db
    async with db.write_turn, db.write() as session:
        session.add(JiraDelivery(identifier=identifier, received_at=now))
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict("this delivery was taken already (a replay)") from None
        outcome = await take_delivery(context, session, payload, now)
        await session.commit()
    return {"outcome": outcome}
