"""The timeline observer for HubSpot: a stakeholder update or the resolution of an incident with linked
tickets stages a write-back to each (a note, and the status property), and a drafted review gets the
customer impact of its tickets. Nothing is staged while HubSpot is not configured."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.config import Settings
from warroom.crm.service import customer_impact, impact_line, tickets_of
from warroom.incidents.models import Incident
from warroom.jobs.service import JobSpec, stage
from warroom.reviews.models import Review
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent

QUEUE = "crm.hubspot"
FETCH_KIND, WRITE_BACK_KIND = "hubspot.fetch_ticket", "hubspot.write_back"
ATTEMPTS = 8


async def stage_call(session: AsyncSession, kind: str, payload: dict[str, object], now: datetime) -> None:
    await stage(session=session, spec=JobSpec(kind, payload, queue=QUEUE, max_attempts=ATTEMPTS), now=now)


@dataclass(frozen=True)
class CrmOutbox:
    settings: Settings

    async def __call__(self, session: AsyncSession, incident: Incident, added: TimelineEvent) -> None:
        if self.settings.hubspot_token is None:
            return
        if added.kind == EventKind.review_drafted:
            await self._into_review(session, incident)
            return
        if added.kind == EventKind.stakeholder_update:
            text, status = str((added.data or {}).get("body", "")), incident.phase
        elif added.kind == EventKind.resolved:
            text, status = "Resolved.", "resolved"
        else:
            return
        for row in await tickets_of(session, incident.id):
            payload = {"ticket_row_id": row.id, "text": text[:20_000], "status": status}
            await stage_call(session, WRITE_BACK_KIND, payload, added.at)

    async def _into_review(self, session: AsyncSession, incident: Incident) -> None:
        found = await customer_impact(session, incident.id, self.settings.hubspot_value_property)
        review = await session.scalar(select(Review).where(Review.incident_id == incident.id))
        if review is None or not found.tickets:
            return
        if review.customers_affected is None:
            review.customers_affected = found.customers
        line = impact_line(found, self.settings.hubspot_value_property)
        review.impact = f"{review.impact}\n\n{line}".strip()
