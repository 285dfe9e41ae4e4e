"""Heartbeat monitors: a service pings; when the pings stop, an alert opens; the next ping resolves it."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.domain import AlertEventIn
from warroom.alerts.intake.store import apply_work
from warroom.alerts.intake.work import IntakeWork
from warroom.alerts.integrations import new_key
from warroom.alerts.models import Integration
from warroom.alerts.rules.models import Heartbeat
from warroom.catalog.service import get_service
from warroom.context import AppContext
from warroom.errors import NotFound, invalid

DEDUP_KEY = "heartbeat-missed"


async def create_heartbeat(
    *, session: AsyncSession, service_slug: str, name: str, interval_seconds: int, now: datetime
) -> tuple[Heartbeat, Integration]:
    try:
        service = await get_service(session=session, slug=service_slug)
    except NotFound as error:
        raise invalid("service", error.detail) from None
    integration = Integration(
        kind="heartbeat",
        name=f"heartbeat: {name}",
        service_id=service.id,
        key=new_key(),
        signing_secret=None,
        config={},
        rate_limit_per_minute=600,
        created_at=now,
    )
    session.add(integration)
    await session.flush()
    heartbeat = Heartbeat(
        integration_id=integration.id,
        name=name,
        interval_seconds=interval_seconds,
        missing=False,
        created_at=now,
    )
    session.add(heartbeat)
    await session.flush()
    return heartbeat, integration


def _work(integration: Integration, heartbeat: Heartbeat, event: AlertEventIn, now: datetime) -> IntakeWork:
    body = {"heartbeat": heartbeat.name, "action": event.action, "last_ping_at": str(heartbeat.last_ping_at)}
    return IntakeWork(
        integration_id=integration.id,
        service_id=integration.service_id,
        request_id=str(uuid.uuid4()),
        received_at=now,
        content_type="application/json",
        headers={},
        body=json.dumps(body).encode(),
        route={"kind": "heartbeat", "op": event.action},
        events=[event],
    )


async def record_ping(*, session: AsyncSession, integration: Integration, now: datetime) -> bool:
    """Note the ping; if the heartbeat was missing, resolve its alert. Returns whether it had been missing."""
    heartbeat = await session.scalar(
        select(Heartbeat).where(Heartbeat.integration_id == integration.id).with_for_update()
    )
    if heartbeat is None:
        raise NotFound("no heartbeat for this key")
    was_missing, heartbeat.last_ping_at, heartbeat.missing = heartbeat.missing, now, False
    if was_missing:
        event = AlertEventIn(action="resolve", dedup_key=DEDUP_KEY, actor="heartbeat")
        await apply_work(session=session, work=_work(integration, heartbeat, event, now))
    await session.flush()
    return was_missing


def overdue(heartbeat: Heartbeat, now: datetime) -> bool:
    since = heartbeat.last_ping_at or heartbeat.created_at
    return not heartbeat.missing and since + timedelta(seconds=heartbeat.interval_seconds) < now


async def check_heartbeats(context: AppContext) -> None:
    """Periodic (on the worker loop): open an alert for each heartbeat whose pings stopped."""
    now = context.clock.now()
    async with context.db.write_turn, context.db.write() as session:
        rows = await session.execute(
            select(Heartbeat, Integration)
            .join(Integration, Integration.id == Heartbeat.integration_id)
            .where(Heartbeat.missing.is_(False))
            .with_for_update(of=Heartbeat, skip_locked=True)
        )
        for heartbeat, integration in rows.all():
            if not overdue(heartbeat, now):
                continue
            heartbeat.missing = True
            title = f"Heartbeat '{heartbeat.name}' missed: no ping for {heartbeat.interval_seconds} s"
            event = AlertEventIn(
                action="trigger", dedup_key=DEDUP_KEY, title=title, source="warroom heartbeat"
            )
            await apply_work(session=session, work=_work(integration, heartbeat, event, now))
        await session.commit()
