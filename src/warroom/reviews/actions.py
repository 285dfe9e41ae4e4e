"""Action items: the owned follow-ups of a review. They stay editable after publication, and never rot
silently: overdue ones are listed (`warroom actions --overdue`)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.auth.service import resolve_user
from warroom.errors import NotFound
from warroom.incidents.models import Incident
from warroom.incidents.visibility import Viewer, visible_to
from warroom.reviews.models import ActionItem, Review
from warroom.reviews.schemas import ActionItemCreate, ActionItemPatch
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

OPEN_STATUSES = ("open", "in_progress")


def is_overdue(item: ActionItem, today: date) -> bool:
    return item.status in OPEN_STATUSES and item.due_on is not None and item.due_on < today


async def _owner_id(session: AsyncSession, ref: str | None) -> int | None:
    return None if not ref else (await resolve_user(session=session, ref=ref)).id


async def add_action_item(
    *,
    session: AsyncSession,
    incident: Incident,
    review: Review,
    data: ActionItemCreate,
    actor: User,
    now: datetime,
) -> ActionItem:
    item = ActionItem(
        review_id=review.id,
        incident_id=incident.id,
        title=data.title,
        type=data.type,
        owner_id=await _owner_id(session, data.owner),
        due_on=data.due_on,
        status="open",
        tracker_url=data.tracker_url,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    await session.flush()
    await record(session, incident, actor, EventKind.action_item_added, now, id=item.id, title=item.title)
    return item


async def get_action_item(*, session: AsyncSession, item_id: int) -> ActionItem:
    item = await session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"no action item {item_id}")
    return item


async def update_action_item(
    *,
    session: AsyncSession,
    incident: Incident,
    item: ActionItem,
    patch: ActionItemPatch,
    actor: User,
    now: datetime,
) -> ActionItem:
    changes = patch.changes()
    if "owner" in changes:
        item.owner_id = await _owner_id(session, changes.pop("owner"))
    for name, value in changes.items():
        setattr(item, name, value)
    if "status" in changes:
        item.done_at = now if item.status == "done" else None
    item.updated_at = now
    await record(
        session,
        incident,
        actor,
        EventKind.action_item_changed,
        now,
        id=item.id,
        fields=sorted(patch.changes()),
    )
    await session.flush()
    return item


async def list_action_items(
    *,
    session: AsyncSession,
    viewer: Viewer,
    today: date,
    overdue: bool = False,
    owner_id: int | None = None,
    incident_id: int | None = None,
    status: str | None = None,
) -> list[ActionItem]:
    seen = select(Incident.id).where(visible_to(viewer))
    query = select(ActionItem).where(ActionItem.incident_id.in_(seen))
    if overdue:
        query = query.where(ActionItem.status.in_(OPEN_STATUSES), ActionItem.due_on < today)
    if owner_id is not None:
        query = query.where(ActionItem.owner_id == owner_id)
    if incident_id is not None:
        query = query.where(ActionItem.incident_id == incident_id)
    if status is not None:
        query = query.where(ActionItem.status == status)
    ordered = query.order_by(ActionItem.due_on.is_(None), ActionItem.due_on, ActionItem.id)
    return list((await session.scalars(ordered)).all())
