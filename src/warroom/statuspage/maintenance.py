"""The periodic check that runs maintenance windows: components go under maintenance when a window opens
and come back when it closes. A cheap read first, so a quiet minute costs no write turn."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, or_, select

from warroom.context import AppContext
from warroom.statuspage import domain
from warroom.statuspage.models import StatusIncident
from warroom.statuspage.service import Ctx, advance_maintenance
from warroom.statuspage.views import page_info

ACTOR = "warroom: maintenance window"


def _due(now: datetime) -> Select[StatusIncident]:
    return select(StatusIncident).where(
        StatusIncident.kind == "maintenance",
        StatusIncident.published_at.is_not(None),
        or_(
            and_(StatusIncident.status == "scheduled", StatusIncident.scheduled_for <= now),
            and_(StatusIncident.status.in_(domain.ACTIVE_MAINTENANCE), StatusIncident.scheduled_until <= now),
        ),
    )


async def run_maintenance_windows(context: AppContext) -> None:
    """Periodic (on the worker loop): start and complete the maintenances whose window says so."""
    now = context.clock.now()
    async with context.db.read() as session:
        pending = await session.scalar(_due(now).with_only_columns(StatusIncident.id).limit(1))
    if pending is None:
        return
    ctx = Ctx(actor=ACTOR, now=now, page=page_info(context.settings))
    async with context.db.write_turn, context.db.write() as session:
        locked = _due(now).with_for_update(skip_locked=True).order_by(StatusIncident.id)
        for item in (await session.scalars(locked)).all():
            assert item.scheduled_for is not None and item.scheduled_until is not None
            for target in domain.due_transitions(item.status, item.scheduled_for, item.scheduled_until, now):
                await advance_maintenance(session=session, item=item, target=target, body=None, ctx=ctx)
        await session.commit()
