"""Slack's requests to warroom: the `/warroom` slash command, button presses and the Events API.

Slack signs each one (X-Slack-Signature: v0=HMAC-SHA256 of `v0:{timestamp}:{body}` with the app's signing
secret); a missing or wrong signature, or a timestamp more than 5 minutes off (a replay), gets 401 before
anything is read, checked in constant time by slack-sdk's SignatureVerifier on our clock.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from warroom.chat import slack
from warroom.chat.cards import ACK_ACTION, RESOLVE_ACTION
from warroom.chat.commands import Invocation, Reply, instant_reply, run_command
from warroom.chat.domain import ChatCommand, mentioned_user, parse_command, reaction_name
from warroom.chat.identity import slack_account, warroom_user
from warroom.chat.service import room_for_channel
from warroom.clock import Clock
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import InvalidInput, NotAuthenticated, NotFound
from warroom.inbound import is_digits
from warroom.jobs.service import JobSpec, stage

router = APIRouter(prefix="/chat/slack", tags=["chat"], include_in_schema=False)
BUTTONS = {ACK_ACTION: "ack", RESOLVE_ACTION: "resolve"}
RESPONSE_HOSTS = ("hooks.slack.com",)


class _OurClock(SlackClock):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now().timestamp()


async def verified_body(request: Request, context: AppContext) -> bytes:
    secret = context.settings.slack_signing_secret
    if secret is None:
        raise NotFound("Slack is not configured here (WARROOM_SLACK_SIGNING_SECRET)")
    body = await request.body()
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    if not timestamp or not signature:
        raise NotAuthenticated("a Slack request needs X-Slack-Signature and X-Slack-Request-Timestamp")
    verifier = SignatureVerifier(secret.get_secret_value(), clock=_OurClock(context.clock))
    try:
        valid = is_digits(timestamp) and verifier.is_valid(
            body=body, timestamp=timestamp, signature=signature
        )
    except UnicodeDecodeError:
        valid = False
    if not valid:
        raise NotAuthenticated(
            "the Slack signature does not match, or the request is more than 5 minutes old"
        )
    return body


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8")))


def _json(text: str | bytes) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    if not isinstance(found, dict):
        raise InvalidInput("the body is not a JSON object")
    return found


def _answer(reply: Reply) -> JSONResponse:
    return JSONResponse({"response_type": "in_channel" if reply.public else "ephemeral", "text": reply.text})


async def _named(context: AppContext, command: ChatCommand) -> dict[str, str]:
    """Emails of the Slack users a command mentions, asked of Slack before any transaction opens."""
    named = {}
    for word in command.args:
        if (user_id := mentioned_user(word)) is not None:
            account = await slack_account(context, user_id)
            async with context.db.read() as session:
                user = await warroom_user(session, account)
            named[word] = user.email if user else (account.email or word)
    return named


async def _invocation(
    context: AppContext, user_id: str, command: ChatCommand, channel: str | None
) -> Invocation:
    if not user_id:
        raise InvalidInput("the request names no Slack user")
    account = await slack_account(context, user_id)
    return Invocation("slack", account, command, channel, await _named(context, command))


@router.post("/commands")
async def slash_command(request: Request, context: ContextDep) -> JSONResponse:
    form = _form(await verified_body(request, context))
    command = parse_command(form.get("text", ""))
    if (instant := instant_reply(command)) is not None:
        return _answer(instant)
    try:
        call = await _invocation(context, form.get("user_id", ""), command, form.get("channel_id"))
    except slack.ChatCallFailed as error:
        return _answer(Reply(f"warroom could not ask Slack who you are ({error}); try again in a moment."))
    return _answer(await run_command(context, call))


def _response_url(context: AppContext, url: str) -> str | None:
    """Answers go to Slack's own hosts only (or the configured API's, where tests run a fake)."""
    host = urlsplit(url).hostname or ""
    allowed = {*RESPONSE_HOSTS, urlsplit(context.settings.slack_api_url).hostname or ""}
    return url if host in allowed else None


@router.post("/interactions")
async def interaction(request: Request, context: ContextDep) -> Response:
    form = _form(await verified_body(request, context))
    payload = _json(form.get("payload") or "{}")
    actions = [a for a in payload.get("actions") or [] if a.get("action_id") in BUTTONS]
    if payload.get("type") != "block_actions" or not actions:
        return Response(status_code=200)  # the link button, or something we did not ask for
    action = actions[0]
    command = ChatCommand(BUTTONS[action["action_id"]], action["action_id"], str(action.get("value")), ())
    url = _response_url(context, str(payload.get("response_url") or ""))

    async def stage_reply(session: Any, text: str) -> None:
        if url is not None:
            spec = JobSpec("chat.slack.respond", {"response_url": url, "text": text}, queue="chat.slack")
            await stage(session=session, spec=spec, now=context.clock.now())

    channel = (payload.get("channel") or {}).get("id")
    try:
        call = await _invocation(context, str((payload.get("user") or {}).get("id", "")), command, channel)
    except slack.ChatCallFailed as error:
        call, reply = None, Reply(f"warroom could not ask Slack who you are ({error}); try again.")
    if call is not None:
        reply = await run_command(context, call, stage_reply)
    if not reply.public:  # a refusal: nothing changed, so its answer is staged on its own
        async with context.db.write_turn, context.db.write() as session:
            await stage_reply(session, reply.text)
            await session.commit()
    return Response(status_code=200)


@router.post("/events")
async def events(request: Request, context: ContextDep) -> JSONResponse:
    body = _json(await verified_body(request, context) or b"{}")
    if body.get("type") == "url_verification":
        return JSONResponse({"challenge": body.get("challenge", "")})
    event = body.get("event") or {}
    spec = _capture_spec(context, event)
    if spec is not None:
        async with context.db.write_turn, context.db.write() as session:
            room = await room_for_channel(
                session=session, provider="slack", channel_id=spec.payload["channel_id"]
            )
            if room is not None:
                await stage(session=session, spec=spec, now=context.clock.now())
                await session.commit()
    return JSONResponse({"ok": True})


def _capture_spec(context: AppContext, event: dict[str, Any]) -> JobSpec | None:
    """A pinned message, or one marked with the capture reaction, as a `chat.capture` job."""
    item = event.get("item") or {}
    if event.get("type") == "pin_added" and item.get("type") == "message":
        message = item.get("message") or {}
        channel, ts = event.get("channel_id") or item.get("channel"), message.get("ts")
        kept = {"text": message["text"], "user": message.get("user")} if "text" in message else None
        via = "pin"
    elif event.get("type") == "reaction_added" and item.get("type") == "message":
        if event.get("reaction") != reaction_name(context.settings.slack_capture_reaction):
            return None
        channel, ts, kept, via = item.get("channel"), item.get("ts"), None, "reaction"
    else:
        return None
    if not channel or not ts:
        return None
    payload: dict[str, Any] = {
        "channel_id": str(channel), "ts": str(ts), "via": via, "marked_by": str(event.get("user", "")),
    }  # fmt: skip
    if kept is not None:
        payload["message"] = kept
    return JobSpec("chat.capture", payload, queue="chat.slack", max_attempts=8)
