"""An alert's acknowledgement or resolution, written on the timeline of the incident it is attached to.

One acknowledgement (PagerDuty's model: an incident is acknowledged when someone owns it): acknowledging an
alert of an active incident nobody has acknowledged acknowledges the incident, which stops its response
clock; the other way round, wiring.AlertsFollowIncident acknowledges an incident's alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert
from warroom.incidents.models import Incident
from warroom.incidents.service import acknowledge
from warroom.timeline.kinds import alert_kind
from warroom.timeline.service import record


async def note_on_incident(
    *, session: AsyncSession, alert_id: int, action: str, actor: str | None, now: datetime
) -> None:
    row = (await session.execute(select(Alert.incident_id, Alert.title).where(Alert.id == alert_id))).first()
    if row is None or row[0] is None:
        return
    incident = await session.get(Incident, row[0], with_for_update=True)
    if incident is not None:
        await record(
            session, incident, actor or "sender", alert_kind(action), now, alert_id=alert_id, title=row[1]
        )
        if action == "acknowledged" and incident.status == "active":
            await acknowledge(
                session=session, actor=actor or "sender", incident=incident, now=now, via=f"alert #{alert_id}"
            )
