"""HubSpot routes: the webhook HubSpot calls (`POST /hooks/hubspot`: v3 signature over method, URI, body
and timestamp; a timestamp more than five minutes off, or events already taken, are refused), the rules
that link tickets to services (admins), and an incident's customers (its readers; linking a ticket by hand:
its responders)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from warroom.catalog.models import Service
from warroom.catalog.service import get_service
from warroom.crm.domain import signature_ok, ticket_events
from warroom.crm.models import CrmEvent, CrmRule
from warroom.crm.outbox import FETCH_KIND, stage_call
from warroom.crm.service import RULE_FIELDS, customer_impact, ticket_view, tickets_of
from warroom.deps import CatalogWriter, ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from warroom.inbound import InboundRejected, parse_json
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import viewer_of

router = APIRouter(prefix="/api/v1/hubspot", tags=["hubspot"])
incident_router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
hooks = APIRouter(prefix="/hooks", tags=["hubspot"], include_in_schema=False)  # signed by HubSpot


class CrmRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(pattern=r"^(category|pipeline)$", description="The ticket's category or pipeline.")
    value: str = Field(min_length=1, max_length=200)
    service: str = Field(max_length=64)


class CrmRuleOut(CrmRuleIn):
    id: int


class TicketLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket_id: str = Field(pattern=r"^[0-9]{1,20}$", description="HubSpot's ticket id.")


@router.get("/rules", response_model=list[CrmRuleOut])
async def rules(_admin: CatalogWriter, session: ReadSession) -> list[CrmRuleOut]:
    found = await session.execute(select(CrmRule, Service.slug).join(Service).order_by(CrmRule.id))
    fields = {v: k for k, v in RULE_FIELDS.items()}
    return [CrmRuleOut(id=r.id, field=fields[r.field], value=r.value, service=slug) for r, slug in found]


@router.post("/rules", status_code=201, response_model=CrmRuleOut)
async def add_rule(
    body: CrmRuleIn, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> CrmRuleOut:
    service = await get_service(session=session, slug=body.service)
    rule = CrmRule(
        field=RULE_FIELDS[body.field], value=body.value, service_id=service.id, created_at=context.clock.now()
    )
    session.add(rule)
    await session.flush()
    return CrmRuleOut(id=rule.id, **body.model_dump())


@router.delete("/rules/{rule_id}", status_code=204)
async def remove_rule(rule_id: int, _admin: CatalogWriter, session: WriteSession) -> None:
    rule = await session.get(CrmRule, rule_id)
    if rule is None:
        raise NotFound(f"no HubSpot rule {rule_id}")
    await session.delete(rule)


@incident_router.get("/{ref}/customers")
async def customers(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> dict[str, Any]:
    """The customers behind the incident's HubSpot tickets: companies (with the picked properties),
    contacts, and their count and value summed once per company."""
    incident = await get_incident(
        session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure)
    )
    value = context.settings.hubspot_value_property
    found = await customer_impact(session, incident.id, value)
    tickets = [ticket_view(row) for row in await tickets_of(session, incident.id)]
    return {"customers": found.customers, "contacts": found.contacts, "value": found.value,
            "value_property": value, "companies": found.companies, "tickets": tickets}  # fmt: skip


@incident_router.post("/{ref}/customers", status_code=202)
async def link_ticket(
    ref: str, body: TicketLink, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> dict[str, str]:
    """Link a HubSpot ticket to the incident by hand; it is read (companies, contacts) by a job."""
    incident = await get_incident(
        session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure), for_update=True
    )
    if context.settings.hubspot_token is None:
        raise Conflict("HubSpot is not configured here (WARROOM_HUBSPOT_TOKEN)")
    payload = {"ticket_id": body.ticket_id, "incident_id": incident.id}
    await stage_call(session, FETCH_KIND, payload, context.clock.now())
    return {"queued": body.ticket_id}


@hooks.post("/hubspot")
async def hubspot_webhook(request: Request, context: ContextDep) -> dict[str, int]:
    """Ticket creations and property changes: each ticket is read and linked by a job."""
    secret = context.settings.hubspot_client_secret
    if secret is None:
        raise NotFound("HubSpot webhooks are not configured here (WARROOM_HUBSPOT_CLIENT_SECRET)")
    body, now = await request.body(), context.clock.now()
    uri = f"{context.settings.resolved_base_url()}/hooks/hubspot"
    if not signature_ok(
        secret.get_secret_value(), "POST", uri, body, request.headers.get("x-hubspot-request-timestamp", ""),
        request.headers.get("x-hubspot-signature-v3", ""), int(now.timestamp() * 1000),
    ):  # fmt: skip
        raise NotAuthenticated(
            "the X-HubSpot-Signature-v3 does not match, or the request is over 5 minutes old"
        )
    try:
        events = ticket_events(parse_json(body))
    except InboundRejected as error:
        raise InvalidInput(f"the body {error}") from None
    async with context.db.write_turn, context.db.write() as session:
        seen = set(
            await session.scalars(
                select(CrmEvent.event_id).where(CrmEvent.event_id.in_([e.event_id for e in events]))
            )
        )
        fresh = list({e.event_id: e for e in events if e.event_id not in seen}.values())
        if events and not fresh:
            raise Conflict("these events were taken already (a replay)")
        session.add_all(CrmEvent(event_id=e.event_id, received_at=now) for e in fresh)
        for ticket_id in dict.fromkeys(e.ticket_id for e in fresh):
            await stage_call(session, FETCH_KIND, {"ticket_id": ticket_id}, now)
        await session.commit()
    return {"taken": len(fresh)}
