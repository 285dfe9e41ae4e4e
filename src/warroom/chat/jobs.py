"""The chat jobs. Each takes ids, opens its own short sessions, and never holds SQLite's write turn while a
chat tool thinks (their queues are network queues, see jobs/worker.py).

- `chat.mirror` {room_id}: opens the room if it is not yet, then posts every timeline event after the
  room's cursor, in order, moving the cursor after each post, and last brings the Slack topic and card
  up to date (chat.update, only when what the card shows changed). One job at a time per room (a lease on
  the room row), so retries and concurrent workers never reorder or repeat a channel's posts.
- `chat.capture` {channel_id, ts, via, marked_by[, message]}: a pinned or marked Slack message onto the
  timeline at its own time (the text fetched with conversations.history when the event did not carry it).
- `chat.slack.respond` {response_url, text}: the answer to a button press, posted to its response_url.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import structlog

from warroom.chat import slack
from warroom.chat.domain import message_time, mirrored, shared_room
from warroom.chat.identity import slack_account, warroom_user
from warroom.chat.posters import POSTERS, Poster
from warroom.chat.rooms import RoomState, release_lease, room_state, save_room, take_lease
from warroom.chat.service import CapturedMessage, capture, is_captured, room_for_channel
from warroom.context import AppContext
from warroom.jobs.domain import RetryLater
from warroom.jobs.kinds import JobRun

log = structlog.get_logger("warroom.chat")
LEASE_WAIT_SECONDS = 3.0  # a job finding its room busy waits this long, then comes back later


async def _hold(context: AppContext, room_id: int) -> None:
    lease = timedelta(seconds=context.settings.job_lease_seconds)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LEASE_WAIT_SECONDS
    while not await take_lease(context=context, room_id=room_id, lease=lease):
        if loop.time() > deadline:
            raise RetryLater(5, "another job is posting to this room")
        await asyncio.sleep(0.1)


async def mirror_room(run: JobRun, payload: dict[str, Any]) -> None:
    context, room_id = run.context, int(payload["room_id"])
    await _hold(context, room_id)
    try:
        state = await room_state(context=context, room_id=room_id)
        if state is None:
            return  # the incident was deleted
        if state.incident.restricted and shared_room(
            provider=state.room.provider, purpose=state.room.purpose
        ):
            await _silence(context, state)  # restricted after this shared room opened: it hears no more
            return
        poster = POSTERS[state.room.provider]
        if state.room.opened_at is None:
            await poster.open(context, state)
        while state is not None and state.pending:
            await _post_batch(context, poster, state)
            state = await room_state(context=context, room_id=room_id)
        if state is not None:
            await poster.settle(context, state)
    finally:
        await release_lease(context=context, room_id=room_id)


async def _silence(context: AppContext, state: RoomState) -> None:
    if state.pending:
        await save_room(context=context, room_id=state.room.id, cursor_seq=state.pending[-1].seq)


async def _post_batch(context: AppContext, poster: Poster, state: RoomState) -> None:
    """Post what this room shows of each event; the cursor moves after every post, so a failure resumes
    at the event that failed."""
    for event in state.pending:
        if mirrored(event.kind, internal=state.room.internal):
            await poster.post(context, state, event)
            await save_room(context=context, room_id=state.room.id, cursor_seq=event.seq)
    await save_room(context=context, room_id=state.room.id, cursor_seq=state.pending[-1].seq)


async def _fetch_message(context: AppContext, channel_id: str, ts: str) -> dict[str, Any] | None:
    web = slack.client(context.settings)
    data = await slack.call("conversations.history", web.conversations_history, channel=channel_id,
                            latest=ts, inclusive=True, limit=1)  # fmt: skip
    messages = [m for m in data.get("messages") or [] if m.get("ts") == ts]
    return messages[0] if messages else None


async def _author(context: AppContext, message: dict[str, Any]) -> str:
    """The warroom user's email when the Slack user is linked, else their Slack name."""
    slack_user = message.get("user")
    if not slack_user:
        return str(message.get("username") or "slack")
    account = await slack_account(context, str(slack_user))
    async with context.db.read() as session:
        user = await warroom_user(session, account)
    return user.email if user else f"slack:{account.name}"


async def capture_message(run: JobRun, payload: dict[str, Any]) -> None:
    context, channel_id, ts = run.context, str(payload["channel_id"]), str(payload["ts"])
    async with context.db.read() as session:
        room = await room_for_channel(session=session, provider="slack", channel_id=channel_id)
        seen = await is_captured(session=session, provider="slack", channel_id=channel_id, ts=ts)
    if room is None or seen:
        return  # not an incident's channel, or on the timeline already (capture() checks again)
    message = payload.get("message") or await _fetch_message(context, channel_id, ts)
    if message is None:
        log.info("marked message not found (deleted?)", channel=channel_id, ts=ts)
        return
    marker = str(payload.get("marked_by") or "")
    captured = CapturedMessage(
        provider="slack",
        channel_id=channel_id,
        ts=ts,
        at=message_time(ts),
        text=str(message.get("text", "")),
        author=await _author(context, message),
        via=str(payload.get("via", "")),
        marked_by=await _author(context, {"user": marker}) if marker else "",
    )
    await run.take_turn()
    await capture(session=run.session, room=room, message=captured, now=run.now)


async def respond(run: JobRun, payload: dict[str, Any]) -> None:
    body = {"response_type": "ephemeral", "replace_original": False, "text": str(payload["text"])}
    try:
        async with httpx.AsyncClient(timeout=run.context.settings.chat_timeout_seconds) as http:
            response = await http.post(str(payload["response_url"]), json=body)
    except httpx.HTTPError as error:
        raise slack.ChatCallFailed(f"response_url: {type(error).__name__}") from None
    if response.status_code == 429:
        raise RetryLater(float(response.headers.get("retry-after", "30") or 30), "response_url: 429")
    if response.status_code >= 300:
        raise slack.ChatCallFailed(f"response_url: HTTP {response.status_code}")
