"""Shared by the chat tests: a fake Slack wired into the app's settings, and the worker run once."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from tests.fakes.slack import FakeSlack, running_slack
from tests.integration.conftest import Api
from warroom.chat.models import ChatRoom
from warroom.jobs import service as jobs
from warroom.jobs.models import Job
from warroom.wiring import new_worker

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the example secret of Slack's documentation


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with running_slack() as fake:
        yield fake


@pytest.fixture
def slack(api: Api, fake_slack: FakeSlack) -> FakeSlack:
    """Slack configured on the app, pointed at the fake; the test users have Slack accounts."""
    settings = api.context.settings
    settings.slack_bot_token = SecretStr(fake_slack.token)
    settings.slack_signing_secret = SecretStr(SIGNING_SECRET)
    settings.slack_api_url = fake_slack.url
    settings.chat_timeout_seconds = 1.0
    for role, email in api.emails.items():
        fake_slack.add_user(email, role.title())
    return fake_slack


async def run_jobs(api: Api) -> int:
    return await new_worker(api.context, periodic=()).run_once()


async def chat_jobs(api: Api) -> list[Job]:
    async with api.context.db.read() as session:
        found = await jobs.list_jobs(session=session, limit=500)
    return sorted((j for j in found if j.kind.startswith("chat.")), key=lambda j: j.id)


async def rooms(api: Api) -> list[ChatRoom]:
    async with api.context.db.read() as session:
        return list((await session.scalars(select(ChatRoom).order_by(ChatRoom.id))).all())


async def declare(api: Api, severity: str = "P1", title: str = "Checkout down", **extra: Any) -> str:
    answer = await api.responder.post(
        "/api/v1/incidents", json={"title": title, "severity": severity, **extra}
    )
    assert answer.status_code == 201, answer.text
    ref: str = answer.json()["ref"]
    return ref


def texts(fake: FakeSlack, channel_id: str) -> list[str]:
    """What the channel shows, oldest first (the card's fallback text first)."""
    return [m["text"] for m in fake.channels[channel_id]["messages"]]


def slack_headers(
    body: str, *, at: float, secret: str = SIGNING_SECRET, kind: str = "form"
) -> dict[str, str]:
    """Headers as Slack sends them: v0=HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    timestamp = str(int(at))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    content_type = "application/json" if kind == "json" else "application/x-www-form-urlencoded"
    return {"x-slack-request-timestamp": timestamp, "x-slack-signature": f"v0={digest}",
            "content-type": content_type}  # fmt: skip


def command_body(user_id: str, text: str, channel_id: str = "CGENERAL") -> str:
    return urlencode({
        "token": "verification-token-unused", "team_id": "T0001", "team_domain": "example",
        "channel_id": channel_id, "channel_name": "general", "user_id": user_id, "user_name": "someone",
        "command": "/warroom", "text": text, "api_app_id": "A0001", "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T0001/1/abc", "trigger_id": "1.2.3",
    })  # fmt: skip


async def slash(
    api: Api, fake: FakeSlack, email: str, text: str, channel_id: str = "CGENERAL"
) -> dict[str, Any]:
    """`/warroom <text>` from the Slack user with this email, signed now."""
    body = command_body(slack_id(fake, email), text, channel_id)
    headers = slack_headers(body, at=api.clock.now().timestamp())
    answer = await api.anonymous.post("/chat/slack/commands", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    reply: dict[str, Any] = answer.json()
    return reply


def slack_id(fake: FakeSlack, email: str) -> str:
    return next(u for u, found in fake.users.items() if found["profile"]["email"] == email)
