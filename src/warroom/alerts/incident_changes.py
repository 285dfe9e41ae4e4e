"""Change events (deploys, config changes) beside incidents (issue #14, item 9): the changes to an incident's
services shortly before its impact began, for the incident page, the API and the review; and a change that
arrives while an incident on its service is open, written on that incident's timeline.

The window before impact is WARROOM_RECENT_CHANGES_HOURS (default 4): a deploy minutes before an outage is
the first suspect; one from last week rarely is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import ServiceChange
from warroom.catalog.models import Service
from warroom.incidents.models import Incident, IncidentService
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

DEFAULT_WINDOW = timedelta(hours=4)  # the review's draft, which has no settings at hand


async def recent_changes(
    *, session: AsyncSession, incident: Incident, window: timedelta, now: datetime
) -> list[tuple[ServiceChange, str]]:
    """The changes to the incident's services from `window` before its impact (or detection, or
    declaration) until it resolved (or now), newest first, each with its service's slug."""
    start = (incident.impact_started_at or incident.detected_at or incident.declared_at) - window
    end = incident.resolved_at or now
    rows = await session.execute(
        select(ServiceChange, Service.slug)
        .join(Service, Service.id == ServiceChange.service_id)
        .join(IncidentService, IncidentService.service_id == ServiceChange.service_id)
        .where(IncidentService.incident_id == incident.id, ServiceChange.at >= start, ServiceChange.at <= end)
        .order_by(ServiceChange.at.desc(), ServiceChange.id.desc())
        .limit(100)
    )
    return [(change, slug) for change, slug in rows.all()]


async def note_changes_on_open_incidents(*, session: AsyncSession, changes: Sequence[dict[str, Any]]) -> None:
    """Each change (a service_changes row's columns) lands on the timeline of every active incident of its
    service. Changes are rare beside alerts, so this runs per change."""
    for change in changes:
        found = await session.scalars(
            select(Incident)
            .join(IncidentService, IncidentService.incident_id == Incident.id)
            .where(IncidentService.service_id == change["service_id"], Incident.status == "active")
            .order_by(Incident.id)
            .with_for_update()
        )
        for incident in found.all():
            await record(
                session, incident, change.get("source") or "sender", EventKind.change_arrived, change["at"],
                summary=change["summary"], source=change.get("source") or "",
            )  # fmt: skip
