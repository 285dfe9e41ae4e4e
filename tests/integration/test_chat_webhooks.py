"""Microsoft Teams (an Adaptive Card to a webhook / Workflows URL) and Mattermost (incoming webhook posts
and its slash command, verified by the command's token) as war rooms, mirrored through their own queues."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr

from tests.fakes.mattermost import BOT_TOKEN, FakeMattermost, running_mattermost
from tests.fakes.sink import Sink, running_sink
from tests.integration.chat_helpers import chat_jobs, declare, run_jobs
from tests.integration.conftest import Api

COMMAND_TOKEN = "xr8ssqkkdif3pn9zrggsu5xzsh"


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as found:
        yield found


def posts(sink: Sink, path: str) -> list[dict[str, object]]:
    return [
        body for request, body in zip(sink.received, sink.bodies(), strict=True) if request["path"] == path
    ]


async def test_teams_and_mattermost_get_the_card_then_what_they_may_see(api: Api, sink: Sink) -> None:
    settings = api.context.settings
    settings.teams_webhook_url = SecretStr(f"{sink.url}/teams")
    settings.mattermost_webhook_url = SecretStr(f"{sink.url}/mattermost")
    settings.mattermost_internal = True  # the Mattermost channel is the responders' own; Teams is shared
    ref = await declare(api, "P2", "Search returns nothing")
    for audience, body in (("stakeholder", "Fix deploying"), ("internal", "index rebuilt on node 3")):
        posted = await api.responder.post(
            f"/api/v1/incidents/{ref}/updates", json={"audience": audience, "body": body}
        )
        assert posted.status_code == 201
    await run_jobs(api)

    teams = posts(sink, "/teams")
    (card, update) = (item["attachments"][0] for item in teams)  # type: ignore[index]
    assert {item["type"] for item in teams} == {"message"}  # type: ignore[index]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = card["content"]
    assert (content["type"], content["version"]) == ("AdaptiveCard", "1.4")
    assert content["body"][0]["text"] == f"{ref}: Search returns nothing"
    assert {f["title"]: f["value"] for f in content["body"][1]["facts"]} == {
        "Severity": "P2 High", "Phase": "Triage", "Commander": "no commander yet",
    }  # fmt: skip
    assert content["actions"][0]["url"] == f"http://127.0.0.1:8080/incidents/{ref}"
    assert (
        update["content"]["body"][1]["text"]
        == f"Stakeholder update from {api.emails['responder']}:\nFix deploying"
    )

    mattermost = posts(sink, "/mattermost")
    assert mattermost[0]["attachments"][0]["title"] == f"{ref}: Search returns nothing"  # type: ignore[index]
    assert [m["text"].split(": ", 1)[1] for m in mattermost[1:]] == [  # type: ignore[union-attr]
        f"Stakeholder update from {api.emails['responder']}:\nFix deploying",
        f"Note from {api.emails['responder']}:\nindex rebuilt on node 3",
    ]
    assert {(j.queue, j.state) for j in await chat_jobs(api)} == {
        ("chat.teams", "done"),
        ("chat.mattermost", "done"),
    }


@pytest.fixture
def mattermost(api: Api) -> Iterator[FakeMattermost]:
    with running_mattermost() as fake:
        settings = api.context.settings
        settings.mattermost_command_token = SecretStr(COMMAND_TOKEN)
        settings.mattermost_api_url, settings.mattermost_bot_token = fake.url, SecretStr(BOT_TOKEN)
        fake.add_user("mmresponder1", api.emails["responder"], "responder")
        yield fake


def mattermost_form(text: str, token: str) -> str:
    """What Mattermost posts for a slash command (application/x-www-form-urlencoded)."""
    return urlencode({
        "channel_id": "fukoxg9mbbfaj8b1ekfy1mxqzr", "channel_name": "incidents", "command": "/warroom",
        "response_url": "https://mattermost.example/hooks/commands/abc", "team_domain": "acme",
        "team_id": "r0ijk7tbxjgrtgfh3de4w6yh8e", "text": text, "token": token,
        "trigger_id": "b2djeGRjNWJmdGJy", "user_id": "mmresponder1", "user_name": "responder",
    })  # fmt: skip


async def command(api: Api, text: str, token: str) -> httpx.Response:
    headers = {"content-type": "application/x-www-form-urlencoded", "authorization": f"Token {token}"}
    return await api.anonymous.post(
        "/chat/mattermost/commands", content=mattermost_form(text, token), headers=headers
    )


async def test_a_mattermost_command_needs_its_token(api: Api, mattermost: FakeMattermost) -> None:
    ref = await declare(api, "P3")
    for token in ("wrong-token", ""):
        assert (await command(api, f"ack {ref}", token)).status_code == 401
    assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["acknowledged_at"] is None
    assert mattermost.lookups == []

    for _ in range(2):
        answer = await command(api, f"ack {ref}", COMMAND_TOKEN)
        assert answer.status_code == 200
    assert answer.json() == {"response_type": "ephemeral", "text": f"{ref} was already acknowledged."}
    assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["acknowledged_at"] is not None
    assert mattermost.lookups == ["mmresponder1"]  # once, then kept
