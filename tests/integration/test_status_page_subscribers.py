"""Subscribers on both databases: the public form (double opt-in, mailed through a local aiosmtpd server by
the real worker), the confirm and unsubscribe links, a webhook subscriber's Statuspage-shaped notice in the
local sink, components limits, and bad or too frequent requests refused without changing anything."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.fakes.sink import Sink, running_sink
from tests.fakes.smtp import Mailbox, running_mailbox
from tests.integration.conftest import Api
from tests.integration.status_helpers import board, ok, publish
from warroom.jobs.models import Job
from warroom.notify.models import OutgoingMessage
from warroom.statuspage.models import StatusSubscriber, StatusSubscriberComponent
from warroom.statuspage.notices import CHUNK
from warroom.wiring import new_worker

LINK = re.compile(
    r"http://127\.0\.0\.1:8080(/status/subscriptions/\d+/(?:confirm|unsubscribe)\?token=[\w-]+)"
)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


def link(body: str, action: str) -> str:
    found = [m for m in LINK.findall(body) if f"/{action}?" in m]
    assert found, body
    return found[0]


async def follow(api: Api, path: str, button: str) -> str:
    """Open a mailed link (a page with one button, so link scanners change nothing), then press it."""
    shown = await api.anonymous.get(path)
    assert shown.status_code == 200 and button in shown.text, shown.text
    token = re.search(r'name="token" value="([^"]+)"', shown.text)
    assert token
    pressed = await api.anonymous.post(path.split("?")[0], data={"token": token.group(1)})
    assert pressed.status_code == 200, pressed.text
    return pressed.text


async def count(api: Api) -> int:
    async with api.context.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(StatusSubscriber)) or 0)


async def test_email_double_opt_in_notice_and_unsubscribe(api: Api, mailbox: Mailbox) -> None:
    box = mailbox
    api.context.settings.smtp_port = box.port
    b = await board(api)
    worker = new_worker(api.context, periodic=())
    answer = await api.anonymous.post("/status", data={"email": "reader@example.com"})
    assert answer.status_code == 200 and "we sent a link to confirm" in answer.text
    await worker.run_once()
    [confirmation] = box.bodies("reader@example.com")
    confirmation_mail = box.messages[-1].mail
    await publish(api, "Ignored before confirming", [])
    await worker.run_once()
    assert len(box.bodies("reader@example.com")) == 1  # not confirmed yet: no notice
    assert "You are subscribed" in await follow(api, link(confirmation, "confirm"), "Confirm subscription")
    again = await api.anonymous.get(link(confirmation, "confirm"))
    assert again.status_code == 404  # a confirmation link works once
    await publish(api, "Login failures", [{"id": b.web_component, "status": "major_outage"}])
    await worker.run_once()
    notice = box.bodies("reader@example.com")[-1]
    subject = [m.mail["Subject"] for m in box.messages][-1]
    assert subject == "[Service status] Investigating: Login failures"
    assert "We are looking into Login failures." in notice and "Web: Major outage" in notice
    assert "/status/incidents/" in notice
    mail = box.messages[-1].mail
    assert mail["List-Unsubscribe"] == f"<http://127.0.0.1:8080{link(notice, 'unsubscribe')}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Id"] == "Service status <status.127.0.0.1>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert confirmation_mail["List-Unsubscribe"] is None  # not on the list yet: nothing to leave
    assert "You are unsubscribed" in await follow(api, link(notice, "unsubscribe"), "Unsubscribe")
    assert await count(api) == 0
    await publish(api, "After leaving", [])
    await worker.run_once()
    assert len(box.bodies("reader@example.com")) == 2  # the confirmation and one notice, nothing after


async def test_webhook_subscriber_gets_statuspage_json(api: Api, sink: Sink) -> None:
    b = await board(api)
    hooks = [
        {"kind": "webhook", "address": f"{sink.url}/all"},
        {"kind": "webhook", "address": f"{sink.url}/search-only", "components": [b.search_component]},
    ]
    for hook in hooks:
        made = await ok(await api.responder.post("/api/v1/status-page/subscribers", json=hook), 201)
        assert made["confirmed"] is True
    created = await publish(api, "API errors", [{"id": b.api_component, "status": "degraded_performance"}])
    await new_worker(api.context, periodic=()).run_once()
    assert [r["path"] for r in sink.received] == ["/all"]  # the other is limited to Search
    document = sink.bodies()[0]
    assert set(document) == {"meta", "page", "incident"}
    assert document["page"]["status_indicator"] == "minor"
    assert document["page"]["status_description"] == "Minor Service Outage"
    assert document["incident"]["id"] == str(created["id"]) and document["incident"]["name"] == "API errors"
    assert document["incident"]["incident_updates"][0]["body"] == "We are looking into API errors."
    assert sink.received[0]["headers"]["Idempotency-Key"].startswith("statuspage:")
    # RFC 8058: a mail client's one-click POST to the unsubscribe URL, token in the URL.
    path = document["meta"]["unsubscribe"].removeprefix("http://127.0.0.1:8080")
    one_click = await api.anonymous.post(path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and await count(api) == 1
    listed = await ok(await api.viewer.get("/api/v1/status-page/subscribers"))
    assert [s["address"] for s in listed] == [f"{sink.url}/search-only"]


async def test_bad_or_too_many_subscriptions_change_nothing(api: Api) -> None:
    await board(api)
    for bad in (
        {"email": "not an address"},
        {"email": "x@example.com", "components": "abc"},
        {"email": "x@example.com", "components": "999"},
    ):
        refused = await api.anonymous.post("/status", data=bad)
        assert refused.status_code == 422 and 'role="alert"' in refused.text, refused.text
    assert "Enter an email address" in (await api.anonymous.post("/status", data={"email": "nope"})).text
    assert await count(api) == 0
    for number in range(5):
        assert (
            await api.anonymous.post("/status", data={"email": f"r{number}@example.com"})
        ).status_code == 200
    again = await api.anonymous.post("/status", data={"email": "r0@example.com"})
    assert again.status_code == 200  # the same address within ten minutes: no second mail, same answer
    limited = await api.anonymous.post("/status", data={"email": "r9@example.com"})
    assert limited.status_code == 429 and "Too many subscriptions" in limited.text
    assert await count(api) == 5
    forged = await api.anonymous.get("/status/subscriptions/1/confirm?token=guess")
    assert forged.status_code == 404 and "not valid" in forged.text


async def test_a_notice_to_many_subscribers_is_written_by_the_worker_in_chunks(api: Api, sink: Sink) -> None:
    """1,001 webhook subscribers, one in ten limited to Search: publishing writes one job and no message;
    the worker writes the notices in chunks of CHUNK and each reaches its subscriber once."""
    b = await board(api)
    async with api.context.db.write() as session:
        session.add_all(
            StatusSubscriber(
                kind="webhook", address=f"{sink.url}/s{n}", unsubscribe_token=f"token-{n}",
                confirmed_at=api.clock.now(), created_at=api.clock.now(),
            )
            for n in range(1, 1002)
        )  # fmt: skip
        await session.flush()
        session.add_all(
            StatusSubscriberComponent(subscriber_id=n, component_id=b.search_component)
            for n in range(10, 1002, 10)
        )
        await session.commit()
    await publish(api, "API errors", [{"id": b.api_component, "status": "major_outage"}])
    assert await _rows(api, OutgoingMessage) == 0  # the request wrote none of the 1,001 notices
    assert await _rows(api, Job, Job.kind == "statuspage.notify") == 1
    await new_worker(api.context, periodic=()).run_once()
    expected = {f"/s{n}" for n in range(1, 1002) if n % 10}
    assert len(sink.received) == len(expected) == 901
    assert {r["path"] for r in sink.received} == expected  # each once, the Search-only ones not at all
    chunks = -(-1001 // CHUNK) + 1  # and one that finds no one left
    assert await _rows(api, Job, Job.kind == "statuspage.notify", Job.state == "done") == chunks


async def _rows(api: Api, model: Any, *where: Any) -> int:
    async with api.context.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
