"""Tickets to incidents: which incident a ticket concerns (the incident it names in `warroom_incident`,
else the open incident of the service its category or pipeline maps to, else the one a responder picked),
and the customer context an incident shows. Rules and the property never link a ticket to a restricted
incident: only someone who can see it links one, by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.crm.client import Ticket
from warroom.crm.domain import Impact, impact
from warroom.crm.models import CrmRule, CrmTicket
from warroom.incidents.domain import parse_ref
from warroom.incidents.models import Incident, IncidentService

RULE_FIELDS = {"category": "hs_ticket_category", "pipeline": "hs_pipeline"}


async def _named(session: AsyncSession, ticket: Ticket) -> Incident | None:
    number = parse_ref(str(ticket.properties.get("warroom_incident") or ""))
    found = await session.get(Incident, number) if number else None
    return found if found is not None and not found.restricted and not found.drill else None


async def _by_rule(session: AsyncSession, ticket: Ticket) -> Incident | None:
    for rule in await session.scalars(select(CrmRule).order_by(CrmRule.id)):
        if ticket.properties.get(rule.field) != rule.value:
            continue
        found = await session.scalar(
            select(Incident)
            .join(IncidentService, IncidentService.incident_id == Incident.id)
            .where(
                IncidentService.service_id == rule.service_id, Incident.status == "active",
                Incident.restricted.is_(False), Incident.drill.is_(False),
            )
            .order_by(Incident.declared_at.desc())
            .limit(1)
        )  # fmt: skip
        if found is not None:
            return found
    return None


async def take_ticket(
    session: AsyncSession, ticket: Ticket, now: datetime, *, by_hand: int | None = None
) -> tuple[CrmTicket, bool]:
    """Store what the ticket says now and link it; answers the row and whether it was newly linked."""
    row = await session.scalar(select(CrmTicket).where(CrmTicket.ticket_id == ticket.ticket_id))
    if row is None:
        row = CrmTicket(ticket_id=ticket.ticket_id, created_at=now)
        session.add(row)
    row.subject = str(ticket.properties.get("subject") or "")[:500]
    row.companies, row.contacts, row.fetched_at = ticket.companies, ticket.contacts, now
    before = row.incident_id
    if by_hand is not None:
        row.incident_id, row.linked_by = by_hand, "hand"
    elif (named := await _named(session, ticket)) is not None:
        row.incident_id, row.linked_by = named.id, "property"
    elif row.incident_id is None and (ruled := await _by_rule(session, ticket)) is not None:
        row.incident_id, row.linked_by = ruled.id, "rule"
    if row.incident_id is not None and row.incident_id != before:
        # The incident's row lock first: writing the ticket's reference takes a share lock on the incident,
        # and two tickets' jobs each holding one while waiting to lock it for the timeline note deadlocked.
        await session.execute(select(Incident.id).where(Incident.id == row.incident_id).with_for_update())
    await session.flush()
    return row, row.incident_id is not None and row.incident_id != before


async def tickets_of(session: AsyncSession, incident_id: int) -> list[CrmTicket]:
    return list(
        await session.scalars(
            select(CrmTicket).where(CrmTicket.incident_id == incident_id).order_by(CrmTicket.id)
        )
    )


async def customer_impact(session: AsyncSession, incident_id: int, value_property: str) -> Impact:
    tickets = await tickets_of(session, incident_id)
    return impact([(t.companies, t.contacts) for t in tickets], value_property)


def impact_line(found: Impact, value_property: str) -> str:
    names = ", ".join(str(c.get("name")) for c in found.companies[:10])
    more = f" and {found.customers - 10} more" if found.customers > 10 else ""
    companies = f"{found.customers} compan{'y' if found.customers == 1 else 'ies'} ({names}{more})"
    people = f"{found.contacts} contact(s) on {found.tickets} ticket(s)"
    return f"Customers (HubSpot): {companies}, {people}; {value_property} summed: {found.value:,.2f}."


def ticket_view(row: CrmTicket) -> dict[str, Any]:
    return {
        "ticket_id": row.ticket_id, "subject": row.subject, "linked_by": row.linked_by,
        "companies": row.companies, "contacts": row.contacts, "fetched_at": row.fetched_at,
    }  # fmt: skip
