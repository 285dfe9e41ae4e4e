"""`warroom alerts replay`: re-derive alerts from the stored raw requests (after an adapter fix, say).

Alerts of the chosen integrations are rebuilt in arrival order. What triage decided about an alert (its routed
service, incident, suppression) is carried over to the rebuilt alert with the same key and first-seen time;
triage does not run again, so replay never declares incidents twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.domain import IntakeRejected
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.dispatch import decode
from warroom.alerts.intake.store import apply_work
from warroom.alerts.intake.work import IntakeWork
from warroom.alerts.models import Alert, Integration, RawEvent, ServiceChange


@dataclass(frozen=True)
class ReplayReport:
    requests: int
    rejected: int
    alerts: int


async def _triage_memory(
    session: AsyncSession, integration_ids: list[int]
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    rows = await session.execute(
        select(
            Alert.integration_id,
            Alert.dedup_key,
            Alert.first_seen_at,
            Alert.service_id,
            Alert.incident_id,
            Alert.suppressed,
        ).where(Alert.integration_id.in_(integration_ids))
    )
    return {(i, k, f): (s, inc, sup) for i, k, f, s, inc, sup in rows.all()}


async def _restore(
    session: AsyncSession, integration_ids: list[int], memory: dict[tuple[Any, ...], tuple[Any, ...]]
) -> int:
    alerts = (await session.scalars(select(Alert).where(Alert.integration_id.in_(integration_ids)))).all()
    for alert in alerts:
        remembered = memory.get((alert.integration_id, alert.dedup_key, alert.first_seen_at))
        if remembered:
            alert.service_id, alert.incident_id, alert.suppressed = remembered
        alert.triaged = True
    await session.flush()
    return len(alerts)


async def replay(*, session: AsyncSession, integration_ids: list[int] | None = None) -> ReplayReport:
    chosen = integration_ids or list((await session.scalars(select(Integration.id))).all())
    integrations = {
        i.id: i for i in (await session.scalars(select(Integration).where(Integration.id.in_(chosen))))
    }
    memory = await _triage_memory(session, chosen)
    await session.execute(delete(Alert).where(Alert.integration_id.in_(chosen)))
    await session.execute(delete(ServiceChange).where(ServiceChange.integration_id.in_(chosen)))
    raws = await session.scalars(
        select(RawEvent)
        .where(RawEvent.integration_id.in_(chosen))
        .order_by(RawEvent.received_at, RawEvent.id)
    )
    requests = rejected = 0
    for raw in raws.all():
        requests += 1
        integration = integrations[raw.integration_id]
        request = IntakeRequest(raw.body, raw.content_type, raw.received_at, raw.headers, integration.config)
        try:
            decoded = decode(raw.route, request)
        except IntakeRejected:
            rejected += 1
            continue
        work = IntakeWork(
            integration_id=integration.id,
            service_id=integration.service_id,
            request_id=raw.request_id,
            received_at=raw.received_at,
            content_type=raw.content_type,
            headers=raw.headers,
            body=raw.body,
            route=raw.route,
            events=decoded.events,
            lookup=decoded.lookup,
            change=decoded.change,
            raw_id=raw.id,
        )
        await apply_work(session=session, work=work, replay=True)
    alerts = await _restore(session, chosen, memory)
    return ReplayReport(requests=requests, rejected=rejected, alerts=alerts)
