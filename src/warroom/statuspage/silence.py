"""A status page that says all is well during a P1: flagged once to the incident's communications lead (else
its commander), when an incident whose severity goes on the status page has been open longer than its
update cadence while every component standing for its services still shows operational and nothing about it
is published. A drill is never flagged (it never goes public)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.comms.reminders import tell, who_speaks
from warroom.context import AppContext
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.incidents.visibility import shown_title
from warroom.jobs.periodic import AtMostEvery
from warroom.procedure.domain import parse_duration
from warroom.procedure.schemas import Procedure
from warroom.statuspage.drafts import incident_components, linked_status_incidents
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import record

FLAGGER = "warroom: status page"
DEFAULT_GRACE = timedelta(minutes=30)  # a severity on the status page with no update cadence


def grace(procedure: Procedure, severity: str) -> timedelta:
    cadence = procedure.severity(severity).update_cadence
    return parse_duration(cadence) if cadence else DEFAULT_GRACE


async def _candidates(session: AsyncSession, procedure: Procedure, now: datetime) -> list[int]:
    """Open, not drills, on the status page by severity, past its grace, and never flagged before."""
    severities = [s.id for s in procedure.severities if s.status_page]
    if not severities:
        return []
    flagged = exists().where(
        TimelineEvent.incident_id == Incident.id, TimelineEvent.kind == EventKind.status_page_silent
    )
    rows = await session.execute(
        select(Incident.id, Incident.severity, Incident.declared_at).where(
            Incident.status == "active",
            Incident.drill.is_(False),
            Incident.severity.in_(severities),
            ~flagged,
        )
    )
    return [i for i, severity, declared in rows.all() if declared + grace(procedure, severity) <= now]


async def silent_components(session: AsyncSession, incident_id: int) -> list[str]:
    """The incident's components, if all still show operational and nothing about it is published."""
    components = await incident_components(session, incident_id)
    if not components or any(c.status != "operational" for c in components):
        return []
    published = [
        s for s in await linked_status_incidents(session, incident_id)
        if s.published_at is not None and s.resolved_at is None
    ]  # fmt: skip
    return [] if published else [c.name for c in components]


async def flag(session: AsyncSession, incident: Incident, base_url: str, now: datetime) -> None:
    names = await silent_components(session, incident.id)
    if not names:
        return
    ref = incident_ref(incident.id)
    person = await who_speaks(session, incident)
    if person is not None:
        body = (
            f"{ref} ({shown_title(incident)}, {incident.severity}) is open, but the status page still shows "
            f"{', '.join(names)} as operational. Publish the draft or post an incident: "
            f"{base_url}/incidents/{ref}"
        )
        await tell(
            session, person, key=f"status-page-silent:{incident.id}",
            subject=f"Status page says all is well during {ref}", body=body, now=now,
        )  # fmt: skip
    await record(
        session, incident, FLAGGER, EventKind.status_page_silent, now,
        components=names, reminded=person.email if person else None,
    )  # fmt: skip


class SilentStatusPage(AtMostEvery):
    """Periodic, every 30 s per worker."""

    __name__ = "flag_silent_status_page"  # as the worker's log and the tests name its periodic checks
    EVERY = timedelta(seconds=30)

    async def run(self, context: AppContext, now: datetime) -> None:
        procedure = context.procedure.procedure
        async with context.db.read() as session:
            due = await _candidates(session, procedure, now)
        base_url = context.settings.resolved_base_url()
        for incident_id in due:
            async with context.db.write_turn, context.db.write() as session:
                incident = await session.get(Incident, incident_id, with_for_update=True)
                flagged = await session.scalar(
                    select(TimelineEvent.id).where(
                        TimelineEvent.incident_id == incident_id,
                        TimelineEvent.kind == EventKind.status_page_silent,
                    )
                )  # another worker may have flagged it meanwhile
                if incident is not None and incident.status == "active" and flagged is None:
                    await flag(session, incident, base_url, now)
                await session.commit()
