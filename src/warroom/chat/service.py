"""War rooms in the database: their view of the incident, the mirroring lease and cursor, and messages
captured from a channel onto the timeline. Callers own the transaction unless a function says otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.chat.domain import COMMANDER_ROLE, RoomView
from warroom.chat.models import ChatCapture, ChatRoom
from warroom.context import AppContext
from warroom.errors import NotFound
from warroom.incidents.collaboration import add_link
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.incidents.service import get_incident, held_roles, record
from warroom.procedure.schemas import Procedure
from warroom.timeline.models import TimelineEvent


def names(procedure: Procedure) -> dict[str, str]:
    """Phase and role ids to their names, for mirrored lines."""
    found = {phase.id: phase.name for phase in procedure.phases}
    found.update({role.id: role.name for role in procedure.roles})
    return found


async def room_view(*, session: AsyncSession, context: AppContext, incident: Incident) -> RoomView:
    procedure = context.procedure.procedure
    commander = None
    for holding in await held_roles(session=session, incident_id=incident.id):
        if holding.role == COMMANDER_ROLE:
            user = await session.get(User, holding.user_id)
            commander = user.name if user else None
    try:
        severity_name = procedure.severity(incident.severity).name
    except KeyError:
        severity_name = ""
    try:
        phase = procedure.phase(incident.phase).name
    except KeyError:
        phase = incident.phase
    ref = incident_ref(incident.id)
    return RoomView(
        ref=ref, title=incident.title, severity=incident.severity, severity_name=severity_name, phase=phase,
        status=incident.status, commander=commander, acknowledged=incident.acknowledged_at is not None,
        url=f"{context.settings.resolved_base_url()}/incidents/{ref}",
    )  # fmt: skip


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
        incident = await get_incident(session=session, ref=str(room.incident_id), for_update=True)
        await add_link(session=session, incident=incident, title=title, url=room.url, actor=room.provider,
                       now=now)  # fmt: skip
        await record(
            session, incident, room.provider, "chat_channel_opened", now,
            provider=room.provider, channel_id=room.channel_id, name=room.channel_name, url=room.url,
        )  # fmt: skip
        room.opened_at = now
        await session.commit()


async def room_for_channel(*, session: AsyncSession, provider: str, channel_id: str) -> ChatRoom | None:
    """The incident war room a channel is (not the broadcast channel, which many incidents share)."""
    query = select(ChatRoom).where(
        ChatRoom.provider == provider, ChatRoom.channel_id == channel_id, ChatRoom.purpose == "war_room"
    )
    found: ChatRoom | None = await session.scalar(query.order_by(ChatRoom.id.desc()).limit(1))
    return found


async def incident_for_channel(*, session: AsyncSession, provider: str, channel_id: str) -> Incident:
    room = await room_for_channel(session=session, provider=provider, channel_id=channel_id)
    if room is None:
        raise NotFound("this channel is not an incident's: name the incident (INC-42)")
    return await get_incident(session=session, ref=str(room.incident_id), for_update=True)


@dataclass(frozen=True)
class CapturedMessage:
    provider: str
    channel_id: str
    ts: str
    at: datetime
    text: str
    author: str  # the warroom user's email when linked, else the chat name
    via: str  # pin, reaction
    marked_by: str


async def is_captured(*, session: AsyncSession, provider: str, channel_id: str, ts: str) -> bool:
    query = select(ChatCapture.id).where(
        ChatCapture.provider == provider, ChatCapture.channel_id == channel_id, ChatCapture.message_ts == ts
    )
    return await session.scalar(query) is not None


async def capture(*, session: AsyncSession, room: ChatRoom, message: CapturedMessage, now: datetime) -> bool:
    """Put a chat message on its incident's timeline at the message's own time; False if it already is
    (pinned and also marked with the reaction, or Slack delivering the event twice)."""
    incident = await get_incident(session=session, ref=str(room.incident_id), for_update=True)
    if await is_captured(
        session=session, provider=message.provider, channel_id=message.channel_id, ts=message.ts
    ):
        return False
    await record(
        session, incident, message.author, "chat_message", message.at,
        provider=message.provider, channel_id=message.channel_id, ts=message.ts, text=message.text,
        via=message.via, marked_by=message.marked_by,
    )  # fmt: skip
    session.add(
        ChatCapture(
            provider=message.provider, channel_id=message.channel_id, message_ts=message.ts,
            incident_id=incident.id, seq=incident.timeline_seq, captured_at=now,
        )
    )  # fmt: skip
    await session.flush()
    return True
