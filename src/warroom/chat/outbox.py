"""The timeline observer that stages chat work in the transaction of the event that causes it.

A declaration (or a severity raised) at a severity whose procedure entry says `chat_channel: true` opens a
room per configured chat tool; every later event of an incident with rooms stages one `chat.mirror` job per
room and transaction. With no chat tool configured this costs nothing and stages nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from warroom.chat.domain import shared_room
from warroom.chat.models import ChatRoom
from warroom.clock import Clock
from warroom.config import Settings
from warroom.incidents.models import Incident
from warroom.jobs.service import JobSpec, stage
from warroom.procedure.loader import LoadedProcedure
from warroom.timeline.models import TimelineEvent

OPENING_KINDS = frozenset({"declared", "severity_changed"})
MIRROR_ATTEMPTS = 8
MEMO = "warroom.chat.outbox"


def configured_providers(settings: Settings) -> list[str]:
    """The chat tools with somewhere to post to."""
    found = []
    if settings.slack_bot_token is not None:
        found.append("slack")
    if settings.teams_webhook_url is not None:
        found.append("teams")
    if settings.mattermost_webhook_url is not None:
        found.append("mattermost")
    return found


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(MEMO, None)


def _memo(session: AsyncSession) -> dict[str, Any]:
    memo: dict[str, Any] = session.info.setdefault(MEMO, {"rooms": {}, "staged": set()})
    return memo


@dataclass(frozen=True)
class ChatOutbox:
    """The observer (registered by warroom.wiring): what the settings, procedure and clock are, it reads
    when an event lands (a test or an operator may change the settings of a running app)."""

    settings: Settings
    loaded: LoadedProcedure
    clock: Clock

    async def __call__(self, session: AsyncSession, incident: Incident, added: TimelineEvent) -> None:
        providers = configured_providers(self.settings)
        if not providers:
            return
        memo = _memo(session)
        rooms: list[ChatRoom] | None = memo["rooms"].get(incident.id)
        if rooms is None:
            query = select(ChatRoom).where(ChatRoom.incident_id == incident.id).order_by(ChatRoom.id)
            rooms = memo["rooms"][incident.id] = list((await session.scalars(query)).all())
        if added.kind in OPENING_KINDS and self._marked(incident.severity):
            opened = await _open_rooms(
                session, self.settings, self.clock.now(), incident, added, rooms, providers
            )
            rooms.extend(opened)
        for room in rooms:
            if room.id not in memo["staged"]:
                memo["staged"].add(room.id)
                await stage_mirror(session=session, room=room, now=self.clock.now())

    def _marked(self, severity: str) -> bool:
        try:
            return self.loaded.procedure.severity(severity).chat_channel
        except KeyError:  # a severity the current procedure no longer has
            return False


async def _open_rooms(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    incident: Incident,
    added: TimelineEvent,
    rooms: list[ChatRoom],
    providers: list[str],
) -> list[ChatRoom]:
    """The rooms this incident lacks. The card shows the incident as it is when posted, so mirroring
    starts after the event that opened the room."""
    have = {(room.provider, room.purpose) for room in rooms}
    wanted = [(provider, "war_room") for provider in providers]
    if "slack" in providers and settings.slack_broadcast_channel:
        wanted.append(("slack", "broadcast"))
    if incident.restricted:  # only its own private Slack channel: nothing in shared channels
        wanted = [(p, purpose) for p, purpose in wanted if not shared_room(provider=p, purpose=purpose)]
    if incident.drill:  # a drill has its war room, never a post in the channel everyone follows
        wanted = [(p, purpose) for p, purpose in wanted if purpose != "broadcast"]
    internal = {"slack": True, "teams": settings.teams_internal, "mattermost": settings.mattermost_internal}
    opened = [
        ChatRoom(
            incident_id=incident.id,
            provider=provider,
            purpose=purpose,
            internal=internal[provider] and purpose == "war_room",
            channel_id=settings.slack_broadcast_channel if purpose == "broadcast" else None,
            cursor_seq=added.seq,
            created_at=now,
        )
        for provider, purpose in wanted
        if (provider, purpose) not in have
    ]
    session.add_all(opened)
    await session.flush()
    return opened


async def stage_mirror(*, session: AsyncSession, room: ChatRoom, now: datetime) -> None:
    spec = JobSpec(
        "chat.mirror", {"room_id": room.id}, queue=f"chat.{room.provider}", max_attempts=MIRROR_ATTEMPTS
    )
    await stage(session=session, spec=spec, now=now)
