"""What the mirroring jobs write down at once, each in its own short transaction (committed here, so other
jobs see it and a retry never repeats outside work): the room's lease, its progress, the channel opened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from warroom.chat.domain import RoomView
from warroom.chat.models import ChatRoom
from warroom.chat.service import room_view
from warroom.context import AppContext
from warroom.incidents.collaboration import add_link
from warroom.incidents.models import Incident
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import SYSTEM
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import record


async def take_lease(*, context: AppContext, room_id: int, lease: timedelta) -> bool:
    """Hold the room for one mirroring job (committed at once, so other jobs see it); False when another
    job holds it. A lease whose job died lapses."""
    now = context.clock.now()
    async with context.db.write_turn, context.db.write() as session:
        taken = await session.execute(
            update(ChatRoom)
            .where(ChatRoom.id == room_id, or_(ChatRoom.locked_until.is_(None), ChatRoom.locked_until < now))
            .values(locked_until=now + lease)
        )
        await session.commit()
    return bool(getattr(taken, "rowcount", 0))


async def release_lease(*, context: AppContext, room_id: int) -> None:
    async with context.db.write_turn, context.db.write() as session:
        await session.execute(update(ChatRoom).where(ChatRoom.id == room_id).values(locked_until=None))
        await session.commit()


async def save_room(*, context: AppContext, room_id: int, **values: object) -> None:
    """Write down progress at once (a channel made, a post done), so a retry never does it twice."""
    async with context.db.write_turn, context.db.write() as session:
        await session.execute(update(ChatRoom).where(ChatRoom.id == room_id).values(**values))
        await session.commit()


@dataclass(frozen=True)
class RoomState:
    room: ChatRoom
    incident: Incident
    view: RoomView
    pending: list[TimelineEvent]


async def room_state(*, context: AppContext, room_id: int, limit: int = 50) -> RoomState | None:
    async with context.db.read() as session:
        room = await session.get(ChatRoom, room_id)
        if room is None:
            return None
        incident = await session.get(Incident, room.incident_id)
        if incident is None:
            return None
        query = (
            select(TimelineEvent)
            .where(TimelineEvent.incident_id == incident.id, TimelineEvent.seq > room.cursor_seq)
            .order_by(TimelineEvent.seq)
            .limit(limit)
        )
        pending = list((await session.scalars(query)).all())
        view = await room_view(session=session, context=context, incident=incident)
    return RoomState(room=room, incident=incident, view=view, pending=pending)


async def record_opened(*, context: AppContext, room_id: int, title: str) -> None:
    """The channel on the incident: a link (shown on its page) and a timeline event."""
    now = context.clock.now()
    async with context.db.write_turn, context.db.write() as session:
        room = await session.get(ChatRoom, room_id)
        if room is None or room.url is None:
            return
        incident = await get_incident(
            session=session, ref=str(room.incident_id), viewer=SYSTEM, for_update=True
        )
        await add_link(session=session, incident=incident, title=title, url=room.url, actor=room.provider,
                       now=now)  # fmt: skip
        await record(
            session, incident, room.provider, EventKind.chat_channel_opened, now,
            provider=room.provider, channel_id=room.channel_id, name=room.channel_name, url=room.url,
        )  # fmt: skip
        room.opened_at = now
        await session.commit()
