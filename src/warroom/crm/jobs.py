"""The HubSpot jobs (queue `crm.hubspot`): read a ticket with its companies and contacts and link it;
write an incident's update or resolution back to a linked ticket. Calls run in a thread."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.crm import client as hubspot
from warroom.crm.models import CrmTicket
from warroom.crm.service import take_ticket
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.jobs.kinds import JobRun
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

ACTOR = "hubspot"


async def _note_link(session: AsyncSession, row: CrmTicket, now: Any) -> None:
    """The incident's timeline says a customer ticket joined it (under the incident's row lock)."""
    query = select(Incident).where(Incident.id == row.incident_id).with_for_update()
    incident = await session.scalar(query.execution_options(populate_existing=True))
    if incident is None:
        return
    who = ", ".join(str(c.get("name")) for c in row.companies[:5]) or "no company"
    body = f"HubSpot ticket {row.ticket_id} linked ({row.linked_by}): {row.subject} [{who}]"
    await record(session, incident, ACTOR, EventKind.note, now, body=body[:2000])


async def fetch_ticket(run: JobRun, payload: dict[str, Any]) -> None:
    settings = run.context.settings
    ticket_id, by_hand = str(payload["ticket_id"]), payload.get("incident_id")
    ticket = await asyncio.to_thread(
        lambda: hubspot.fetch_ticket(
            hubspot.connect(settings),
            ticket_id,
            settings.hubspot_company_properties,
            settings.hubspot_timeout_seconds,
        )
    )
    row, linked = await take_ticket(run.session, ticket, run.now, by_hand=int(by_hand) if by_hand else None)
    if linked:
        await _note_link(run.session, row, run.now)


async def write_back(run: JobRun, payload: dict[str, Any]) -> None:
    settings = run.context.settings
    row = await run.session.get(CrmTicket, int(payload["ticket_row_id"]))
    if row is None or row.incident_id is None:
        return
    prop = settings.hubspot_status_property
    status = (prop, str(payload["status"])) if prop and payload.get("status") else None
    note = f"{incident_ref(row.incident_id)}: {payload['text']}"
    await asyncio.to_thread(
        lambda: hubspot.write_back(
            hubspot.connect(settings), row.ticket_id, note, status, run.now, settings.hubspot_timeout_seconds
        )
    )
