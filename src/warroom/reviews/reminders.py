"""Overdue action items remind their owner through the owner's contact methods, at most once a day each."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.context import AppContext
from warroom.incidents.domain import incident_ref
from warroom.notify.models import ContactMethod
from warroom.notify.service import queue_message
from warroom.reviews.actions import OPEN_STATUSES
from warroom.reviews.models import ActionItem


def _due_for_reminder(today: date) -> Select[ActionItem]:
    return select(ActionItem).where(
        ActionItem.status.in_(OPEN_STATUSES),
        ActionItem.due_on < today,
        ActionItem.owner_id.is_not(None),
        or_(ActionItem.last_reminded_on.is_(None), ActionItem.last_reminded_on < today),
    )


async def _remind(session: AsyncSession, context: AppContext, item: ActionItem, today: date) -> None:
    methods = await session.scalars(select(ContactMethod).where(ContactMethod.user_id == item.owner_id))
    ref = incident_ref(item.incident_id)
    link = f"{context.settings.resolved_base_url()}/incidents/{ref}"
    body = f"Action item overdue since {item.due_on}: {item.title} ({ref}, {item.type}). {link}"
    for method in methods.all():
        await queue_message(
            session=session, method=method, key=f"reminder:{item.id}:{today}:{method.id}",
            subject=f"Overdue follow-up from {ref}: {item.title}", body=body, now=context.clock.now(),
        )  # fmt: skip
    item.last_reminded_on = today


async def remind_overdue_action_items(context: AppContext) -> None:
    """Periodic (on the worker loop). A cheap read first, so a quiet day costs no write turn."""
    today = context.clock.now().date()
    async with context.db.read() as session:
        pending = await session.scalar(_due_for_reminder(today).with_only_columns(ActionItem.id).limit(1))
    if pending is None:
        return
    async with context.db.write_turn, context.db.write() as session:
        locked = _due_for_reminder(today).with_for_update(skip_locked=True).order_by(ActionItem.id)
        for item in (await session.scalars(locked)).all():
            await _remind(session, context, item, today)
        await session.commit()
