"""Response shapes for alerts and integrations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.integrations import IntegrationRow, KeyAccess, intake_url
from warroom.alerts.models import Alert
from warroom.alerts.schemas import AlertOut, IntegrationOut
from warroom.catalog.models import Service


async def alerts_out(session: AsyncSession, alerts: Sequence[Alert]) -> list[AlertOut]:
    ids = {a.service_id for a in alerts if a.service_id is not None}
    slugs = dict((await session.execute(select(Service.id, Service.slug).where(Service.id.in_(ids)))).all())
    return [
        AlertOut(
            id=a.id,
            uid=a.uid,
            integration_id=a.integration_id,
            service=slugs.get(a.service_id or 0),
            incident=f"INC-{a.incident_id}" if a.incident_id else None,
            dedup_key=a.dedup_key,
            group_key=a.group_key,
            status=a.status,
            severity=a.severity,
            raw_severity=a.raw_severity,
            title=a.title,
            description=a.description,
            source=a.source,
            labels=a.labels,
            links=a.links,
            details=a.details,
            first_seen_at=a.first_seen_at,
            last_seen_at=a.last_seen_at,
            count=a.count,
            acknowledged_at=a.acknowledged_at,
            acknowledged_by=a.acknowledged_by,
            resolved_at=a.resolved_at,
            resolved_by=a.resolved_by,
            suppressed=a.suppressed,
        )
        for a in alerts
    ]


def integration_out(row: IntegrationRow, base_url: str, access: KeyAccess) -> IntegrationOut:
    """The integration as this person may see it: without its key (None) unless `access` allows it."""
    integration, key = row.integration, access.key(row)
    url, how_to = intake_url(base_url, integration.kind, key)
    return IntegrationOut(
        id=integration.id,
        kind=integration.kind,
        name=integration.name,
        service=row.service,
        key=key,
        intake_url=url,
        how_to=how_to,
        signing_secret_set=bool(integration.signing_secret),
        config=integration.config,
        rate_limit_per_minute=integration.rate_limit_per_minute,
        created_at=integration.created_at,
        key_rotated_at=integration.key_rotated_at,
        last_event_at=row.last_event_at,
    )
