"""`warroom audit verify`: every incident's timeline checked against the head its incident row recorded."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.incidents.models import Incident
from warroom.timeline.service import AuditReport, verify_chains


async def verify_all(*, session: AsyncSession) -> AuditReport:
    incidents = (await session.scalars(select(Incident).order_by(Incident.id))).all()
    return await verify_chains(session=session, owners=list(incidents))
