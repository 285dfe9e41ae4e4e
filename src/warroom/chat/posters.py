"""Opening a war room and posting one timeline event to it, per chat tool.

Every step writes its progress down at once (channel made, topic set, card posted), so a retry after a
failure halfway picks up where it stopped instead of making a second channel or a second card.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
import structlog
from sqlalchemy import select

from warroom.auth.models import User
from warroom.chat import slack
from warroom.chat.cards import mattermost_message, slack_card, teams_message
from warroom.chat.domain import RESTRICTED_CHANNEL_TEMPLATE, channel_name, topic
from warroom.chat.identity import slack_id_for
from warroom.chat.rooms import RoomState, record_opened, save_room
from warroom.context import AppContext
from warroom.inbound import is_digits
from warroom.incidents.service import held_roles
from warroom.jobs.domain import RetryLater
from warroom.timeline.describe import chat_line, names_of
from warroom.timeline.models import TimelineEvent

NAME_ATTEMPTS = 5
INVITE_IGNORED = frozenset({"already_in_channel", "cant_invite_self"})
CARD_GONE = frozenset({"message_not_found", "cant_update_message"})  # chat.update's lasting refusals
log = structlog.get_logger("warroom.chat")


class Poster(Protocol):
    async def open(self, context: AppContext, state: RoomState) -> None: ...
    async def post(self, context: AppContext, state: RoomState, event: TimelineEvent) -> None: ...
    async def settle(self, context: AppContext, state: RoomState) -> None: ...


def slack_text(text: str) -> str:
    """Slack reads &, < and > as markup: escaped, someone's note cannot ping @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def line_for(context: AppContext, event: TimelineEvent) -> str:
    return chat_line(event, names_of(context.procedure.procedure))


class SlackPoster:
    async def open(self, context: AppContext, state: RoomState) -> None:
        room, web = state.room, slack.client(context.settings)
        channel = room.channel_id or await self._create(context, state)
        if room.purpose == "war_room":
            if room.topic is None:
                await self._set_topic(context, state, channel)
            if room.card_posted_at is None:
                await self._invite(context, channel, await _responders(context, state))
        if room.card_posted_at is None:
            card = slack_card(state.view, responders=room.purpose == "war_room")
            data = await slack.call("chat.postMessage", web.chat_postMessage, channel=channel,
                                    text=slack_text(card.text), blocks=card.blocks)  # fmt: skip
            room.card_ts, room.card_hash = str(data.get("ts") or "") or None, card.digest
            await save_room(context=context, room_id=room.id, card_posted_at=context.clock.now(),
                            card_ts=room.card_ts, card_hash=room.card_hash)  # fmt: skip
        if room.purpose == "war_room":
            await record_opened(context=context, room_id=room.id, title="Slack channel")
        else:
            await save_room(context=context, room_id=room.id, opened_at=context.clock.now())

    async def _create(self, context: AppContext, state: RoomState) -> str:
        web, incident = slack.client(context.settings), state.incident
        # A restricted incident's channel is private and named for nothing but its number.
        template = (
            RESTRICTED_CHANNEL_TEMPLATE if incident.restricted else context.settings.slack_channel_template
        )
        for attempt in range(1, NAME_ATTEMPTS + 1):
            name = channel_name(
                template,
                number=incident.id,
                title=incident.title,
                severity=incident.severity,
                attempt=attempt,
            )
            try:
                data = await slack.call(
                    "conversations.create",
                    web.conversations_create,
                    name=name,
                    is_private=incident.restricted,
                )
            except slack.ChatCallFailed as error:
                if error.code == "name_taken" and attempt < NAME_ATTEMPTS:
                    continue
                raise
            channel_id = str(data["channel"]["id"])
            await save_room(context=context, room_id=state.room.id, channel_id=channel_id,
                            channel_name=name, url=slack.channel_url(channel_id))  # fmt: skip
            state.room.channel_id = channel_id
            return channel_id
        raise slack.ChatCallFailed("conversations.create: no free channel name")  # unreachable

    async def _set_topic(self, context: AppContext, state: RoomState, channel: str) -> None:
        text = topic(state.view)
        web = slack.client(context.settings)
        await slack.call("conversations.setTopic", web.conversations_setTopic, channel=channel, topic=text)
        await save_room(context=context, room_id=state.room.id, topic=text)
        state.room.topic = text

    async def _invite(self, context: AppContext, channel: str, people: list[User]) -> None:
        ids = [found for user in people if (found := await slack_id_for(context, user))]
        if not ids:
            return
        web = slack.client(context.settings)
        try:
            await slack.call("conversations.invite", web.conversations_invite, channel=channel,
                             users=",".join(dict.fromkeys(ids)), force=True)  # fmt: skip
        except slack.ChatCallFailed as error:
            if error.code not in INVITE_IGNORED:
                raise

    async def post(self, context: AppContext, state: RoomState, event: TimelineEvent) -> None:
        channel = state.room.channel_id
        if channel is None:
            raise slack.ChatCallFailed("the room has no channel yet")
        if event.kind == "role_assigned" and state.room.purpose == "war_room":
            user = await _user_by_email(context, str(event.data.get("user", "")))
            await self._invite(context, channel, [user] if user else [])
        web = slack.client(context.settings)
        text = slack_text(line_for(context, event))
        await slack.call("chat.postMessage", web.chat_postMessage, channel=channel, text=text)

    async def settle(self, context: AppContext, state: RoomState) -> None:
        """The topic follows severity, phase and commander; the card follows the incident. The topic
        first: each is written down once done, so a retry repeats only what failed."""
        if (
            state.room.purpose == "war_room"
            and state.room.channel_id
            and state.room.topic != topic(state.view)
        ):
            await self._set_topic(context, state, state.room.channel_id)
        await self._update_card(context, state)

    async def _update_card(self, context: AppContext, state: RoomState) -> None:
        room = state.room
        card = slack_card(state.view, responders=room.purpose == "war_room")
        if room.channel_id is None or room.card_ts is None or room.card_hash == card.digest:
            return
        web = slack.client(context.settings)
        try:
            await slack.call("chat.update", web.chat_update, channel=room.channel_id, ts=room.card_ts,
                             text=slack_text(card.text), blocks=card.blocks)  # fmt: skip
        except slack.ChatCallFailed as error:
            if error.code not in CARD_GONE:
                raise
            # Someone deleted the card (or it is not ours to edit): retrying cannot help, and the posts
            # must go on, so the room stops editing it, as rooms from before card_ts were kept.
            log.warning("the Slack card can no longer be edited", room=room.id, error=error.code)
            await save_room(context=context, room_id=room.id, card_ts=None)
            room.card_ts = None
            return
        await save_room(context=context, room_id=room.id, card_hash=card.digest)
        room.card_hash = card.digest


class WebhookPoster:
    """Teams (an Adaptive Card to an incoming webhook or Workflows URL) and Mattermost (an incoming
    webhook): one URL each, no channel of its own per incident."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def _url(self, context: AppContext) -> str:
        secret = getattr(context.settings, f"{self.provider}_webhook_url")
        if secret is None:
            raise slack.ChatCallFailed(f"{self.provider} is no longer configured")
        return str(secret.get_secret_value())

    def _message(self, state: RoomState, line: str | None) -> dict[str, Any]:
        build = teams_message if self.provider == "teams" else mattermost_message
        return build(state.view, line)

    async def _send(self, context: AppContext, body: dict[str, Any]) -> None:
        try:
            async with httpx.AsyncClient(timeout=context.settings.chat_timeout_seconds) as http:
                response = await http.post(self._url(context), json=body)
        except httpx.HTTPError as error:
            raise slack.ChatCallFailed(f"{self.provider} webhook: {type(error).__name__}") from None
        if response.status_code == 429:
            wait = response.headers.get("retry-after", "")
            raise RetryLater(float(wait[:6]) if is_digits(wait) else 30.0, f"{self.provider} webhook: 429")
        if response.status_code >= 300:
            raise slack.ChatCallFailed(f"{self.provider} webhook: HTTP {response.status_code}")

    async def open(self, context: AppContext, state: RoomState) -> None:
        await self._send(context, self._message(state, None))
        now = context.clock.now()
        await save_room(context=context, room_id=state.room.id, card_posted_at=now, opened_at=now)

    async def post(self, context: AppContext, state: RoomState, event: TimelineEvent) -> None:
        await self._send(context, self._message(state, line_for(context, event)))

    async def settle(self, context: AppContext, state: RoomState) -> None:
        return None


POSTERS: dict[str, Poster] = {
    "slack": SlackPoster(),
    "teams": WebhookPoster("teams"),
    "mattermost": WebhookPoster("mattermost"),
}


async def _responders(context: AppContext, state: RoomState) -> list[User]:
    """Who is invited when the channel opens: whoever declared it and whoever holds a role."""
    async with context.db.read() as session:
        ids = [
            holding.user_id for holding in await held_roles(session=session, incident_id=state.incident.id)
        ]
        if state.incident.declared_by_id is not None:
            ids.insert(0, state.incident.declared_by_id)
        if not ids:
            return []
        found = (await session.scalars(select(User).where(User.id.in_(ids), User.is_active))).all()
    return sorted(found, key=lambda user: ids.index(user.id))


async def _user_by_email(context: AppContext, email: str) -> User | None:
    async with context.db.read() as session:
        found: User | None = await session.scalar(select(User).where(User.email == email))
    return found
