"""An alert's acknowledgement or resolution, written on the timeline of the incident it is attached to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert
from warroom.incidents.models import Incident
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
