"""Mattermost's slash command: `/warroom ...` posted form-encoded, carrying the command's own token
(in the `token` field and as `Authorization: Token ...`), compared in constant time."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from warroom.chat import slack
from warroom.chat.commands import Invocation, Reply, instant_reply, run_command
from warroom.chat.domain import parse_command
from warroom.chat.identity import mattermost_account
from warroom.deps import ContextDep
from warroom.errors import NotAuthenticated, NotFound

router = APIRouter(prefix="/chat/mattermost", tags=["chat"], include_in_schema=False)


def _answer(reply: Reply) -> JSONResponse:
    return JSONResponse({"response_type": "in_channel" if reply.public else "ephemeral", "text": reply.text})


@router.post("/commands")
async def slash_command(request: Request, context: ContextDep) -> JSONResponse:
    expected = context.settings.mattermost_command_token
    if expected is None:
        raise NotFound("Mattermost commands are not configured here (WARROOM_MATTERMOST_COMMAND_TOKEN)")
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    scheme, _, header_token = request.headers.get("authorization", "").partition(" ")
    given = form.get("token") or (header_token if scheme.lower() == "token" else "")
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise NotAuthenticated("the Mattermost command token does not match")
    command = parse_command(form.get("text", ""))
    if (instant := instant_reply(command)) is not None:
        return _answer(instant)
    try:
        account = await mattermost_account(context, form.get("user_id", ""))
    except slack.ChatCallFailed as error:
        return _answer(Reply(f"warroom could not ask Mattermost who you are ({error})."))
    # A Mattermost webhook channel is shared by every incident: commands always name theirs.
    return _answer(await run_command(context, Invocation("mattermost", account, command, None, {})))
