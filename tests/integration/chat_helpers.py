"""Shared by the chat tests: a fake Slack wired into the app's settings, and the worker run once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from tests.fakes.slack import FakeSlack, running_slack
from tests.integration.conftest import Api
from warroom.chat.models import ChatRoom
from warroom.jobs import service as jobs
from warroom.jobs.models import Job
from warroom.jobs.worker import Worker

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
    return await Worker(api.context).run_once()


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
