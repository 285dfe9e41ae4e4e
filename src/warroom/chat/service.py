"""War rooms in the database: their view of the incident, the room of a channel, and messages captured from
a channel onto the timeline. Callers own the transaction (the mirroring jobs' own short transactions are in
chat/rooms.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.chat.domain import COMMANDER_ROLE, RoomView
from warroom.chat.models import ChatCapture, ChatRoom
from warroom.context import AppContext
from warroom.errors import NotFound
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.incidents.service import get_incident, held_roles
from warroom.incidents.visibility import SYSTEM, Viewer
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record


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
    title = f"[DRILL] {incident.title}" if incident.drill else incident.title  # no one takes a drill for real
    return RoomView(
        ref=ref, title=title, severity=incident.severity, severity_name=severity_name, phase=phase,
        status=incident.status, commander=commander, acknowledged=incident.acknowledged_at is not None,
        url=f"{context.settings.resolved_base_url()}/incidents/{ref}",
    )  # fmt: skip


async def room_for_channel(*, session: AsyncSession, provider: str, channel_id: str) -> ChatRoom | None:
    """The incident war room a channel is (not the broadcast channel, which many incidents share)."""
    query = select(ChatRoom).where(
        ChatRoom.provider == provider, ChatRoom.channel_id == channel_id, ChatRoom.purpose == "war_room"
    )
    found: ChatRoom | None = await session.scalar(query.order_by(ChatRoom.id.desc()).limit(1))
    return found


async def incident_for_channel(
    *, session: AsyncSession, provider: str, channel_id: str, viewer: Viewer
) -> Incident:
    room = await room_for_channel(session=session, provider=provider, channel_id=channel_id)
    if room is None:
        raise NotFound("this channel is not an incident's: name the incident (INC-42)")
    return await get_incident(session=session, ref=str(room.incident_id), viewer=viewer, for_update=True)


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
    incident = await get_incident(session=session, ref=str(room.incident_id), viewer=SYSTEM, for_update=True)
    if await is_captured(
        session=session, provider=message.provider, channel_id=message.channel_id, ts=message.ts
    ):
        return False
    await record(
        session, incident, message.author, EventKind.chat_message, message.at,
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
