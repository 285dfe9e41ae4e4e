"""Slack war rooms: a channel per marked incident, its timeline mirrored in order, retries that honour
Slack's rate limits, and a chat outage that never holds up paging."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.slack import FakeSlack
from tests.integration.chat_helpers import chat_jobs, declare, fake_slack, rooms, run_jobs, slack, texts
from tests.integration.conftest import Api
from warroom.jobs.domain import backoff
from warroom.notify.models import OutgoingMessage
from warroom.notify.service import queue_to_address
from warroom.wiring import new_worker, timeline_observers

__all__ = ["fake_slack", "slack"]  # fixtures


async def test_a_p1_opens_a_channel_with_topic_invites_and_card_then_mirrors_in_order(
    api: Api, slack: FakeSlack
) -> None:
    ref = await declare(api, "P1", "Checkout down!")
    number = int(ref.split("-")[1])
    assigned = await api.responder.post(
        f"/api/v1/incidents/{ref}/roles", json={"role": "incident_commander", "user": api.emails["admin"]}
    )
    assert assigned.status_code == 200
    await run_jobs(api)

    channel = slack.channel_named(f"inc-{number}-checkout-down")
    assert channel["topic"]["value"] == "P1 Critical | Triage | Commander: Admin"
    responder, admin = (slack.calls_to("users.lookupByEmail")[i]["email"] for i in (0, 1))
    assert (responder, admin) == (api.emails["responder"], api.emails["admin"])
    assert len(channel["members"]) == 3  # the bot, who declared it, and the commander
    card = channel["messages"][0]
    assert card["blocks"][0]["text"]["text"] == f"{ref}: Checkout down!"
    actions = [e["action_id"] for e in card["blocks"][2]["elements"]]
    assert actions == ["warroom_resolve", "warroom_open"]  # the role taken acknowledged it already
    assert card["blocks"][2]["elements"][-1]["url"] == f"http://127.0.0.1:8080/incidents/{ref}"
    assert texts(slack, channel["id"])[1:] == [
        f"{api.emails['admin']} is now Incident commander (by {api.emails['responder']})",
        f"Acknowledged by {api.emails['responder']}",  # a role taken acknowledges
    ]

    incident = (await api.responder.get(f"/api/v1/incidents/{ref}")).json()
    assert [(link["title"], link["url"]) for link in incident["links"]] == [
        ("Slack channel", f"https://slack.com/app_redirect?channel={channel['id']}")
    ]
    timeline = (await api.responder.get(f"/api/v1/incidents/{ref}/timeline")).json()
    opened = [e for e in timeline if e["kind"] == "chat_channel_opened"]
    assert opened[0]["data"]["channel_id"] == channel["id"] and opened[0]["actor"] == "slack"

    for path, body in [
        ("", {"severity": "P2", "severity_reason": "only EU affected"}),
        ("/phase", {"phase": "containment", "reason": "rolling back <deploy 4812>"}),
        ("/updates", {"audience": "stakeholder", "body": "Rollback in progress"}),
        ("/updates", {"audience": "internal", "body": "db primary is at 95% cpu"}),
    ]:
        method = api.responder.patch if path == "" else api.responder.post
        assert (await method(f"/api/v1/incidents/{ref}{path}", json=body)).status_code in (200, 201)
    await run_jobs(api)

    assert texts(slack, channel["id"])[3:] == [
        f"Severity P1 → P2 by {api.emails['responder']}: only EU affected",
        f"Phase Triage → Containment by {api.emails['responder']}: rolling back &lt;deploy 4812&gt;",
        f"Stakeholder update from {api.emails['responder']}:\nRollback in progress",
        f"Note from {api.emails['responder']}:\ndb primary is at 95% cpu",
    ]
    assert channel["topic"]["value"] == "P2 High | Containment | Commander: Admin"
    assert len(slack.calls_to("conversations.create")) == 1
    assert {j.state for j in await chat_jobs(api)} == {"done"}


async def test_a_p4_or_no_chat_tool_stages_nothing(api: Api, slack: FakeSlack) -> None:
    await declare(api, "P4", "Typo on the pricing page")
    assert await chat_jobs(api) == [] and await rooms(api) == []
    api.context.settings.slack_bot_token = None  # no chat tool at all: even a P1 stages nothing
    await declare(api, "P1", "Checkout down")
    await run_jobs(api)
    assert await chat_jobs(api) == [] and await rooms(api) == [] and slack.calls == []


def test_the_timeline_observers_are_listed(api: Api) -> None:
    """What runs in the transaction of every timeline event: a new one must be added here on purpose."""
    observers = timeline_observers(api.context.settings, api.context.procedure, api.clock)
    names = [type(observer).__name__ for observer in observers]
    assert names == [
        "ChatOutbox",
        "ReviewDrafter",
        "DeclarationPager",
        "AlertsFollowIncident",
        "ObservablesFromAlerts",
        "StatusPageDrafts",
        "DrillFindings",
        "IntelOnObservables",
        "JiraOutbox",
        "CrmOutbox",
    ]


def test_the_fake_answers_slack_sdk_the_way_slack_does(fake_slack: FakeSlack) -> None:
    client = WebClient(token=fake_slack.token, base_url=fake_slack.url)
    created = client.conversations_create(name="inc-1-checkout")
    assert created["ok"] is True and created["channel"]["name"] == "inc-1-checkout"
    with pytest.raises(SlackApiError) as taken:
        client.conversations_create(name="inc-1-checkout")
    assert taken.value.response["error"] == "name_taken"
    with pytest.raises(SlackApiError) as refused:
        WebClient(token="xoxb-wrong", base_url=fake_slack.url).auth_test()
    assert refused.value.response["error"] == "invalid_auth"
    fake_slack.fail("auth.test", 429, retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        client.auth_test()
    assert (limited.value.response.status_code, limited.value.response.headers["Retry-After"]) == (429, "7")
    assert fake_slack.methods() == ["conversations.create"] * 2 + ["auth.test"] * 2


def page_nobody(api: Api) -> None:
    """The procedure with no `page:` targets: a declaration then adds no paging notes to the timeline,
    each of which would stage a mirror job of its own while the room's job waits out a 429."""
    procedure = api.context.procedure.procedure
    quiet = [severity.model_copy(update={"page": []}) for severity in procedure.severities]
    loaded = replace(api.context.procedure, procedure=procedure.model_copy(update={"severities": quiet}))
    api.context.procedure = loaded


async def test_a_429_waits_for_retry_after_without_spending_an_attempt(api: Api, slack: FakeSlack) -> None:
    page_nobody(api)
    await declare(api, "P1")
    slack.fail("conversations.create", 429, retry_after=30)
    await run_jobs(api)
    (job,) = await chat_jobs(api)
    assert (job.state, job.attempts, job.run_at) == ("pending", 0, api.clock.now() + timedelta(seconds=30))
    assert "Slack rate limit (429)" in (job.last_error or "")
    assert await run_jobs(api) == 0 and slack.methods() == ["conversations.create"]
    api.clock.advance(timedelta(seconds=30))
    await run_jobs(api)
    assert slack.methods()[:3] == ["conversations.create", "conversations.create", "conversations.setTopic"]
    assert len(slack.channels) == 1
    assert {j.state for j in await chat_jobs(api)} == {"done"}


async def test_a_500_is_retried_with_backoff_visibly_and_resumes_in_order(api: Api, slack: FakeSlack) -> None:
    ref = await declare(api, "P1")
    await run_jobs(api)
    (channel,) = slack.channels.values()
    for body in ("first", "second", "third"):
        posted = await api.responder.post(
            f"/api/v1/incidents/{ref}/updates", json={"audience": "stakeholder", "body": body}
        )
        assert posted.status_code == 201
    slack.fail("chat.postMessage", 500, after=1)  # "first" gets through, "second" meets a 500
    await run_jobs(api)
    failing = (await api.admin.get("/api/v1/jobs", params={"kind": "chat.mirror", "state": "pending"})).json()
    expected = "ChatCallFailed: chat.postMessage: HTTP 500 (internal_error)"
    assert [(j["attempts"], j["last_error"]) for j in failing] == [(1, expected)]
    assert failing[0]["run_at"] == (api.clock.now() + backoff(1)).isoformat().replace("+00:00", "Z")
    api.clock.advance(backoff(1))
    await run_jobs(api)
    updates = [t for t in texts(slack, channel["id"]) if t.startswith("Stakeholder update")]
    assert [u.rsplit("\n", 1)[1] for u in updates] == ["first", "second", "third"]  # once each, in order
    assert {j.state for j in await chat_jobs(api)} == {"done"}


async def test_a_hanging_slack_does_not_delay_a_page(api: Api, slack: FakeSlack) -> None:
    """The chat job waits on Slack in its own queue's slot; the page on notify.log goes out meanwhile."""
    await declare(api, "P1")
    slack.hang_seconds = 5.0
    async with api.context.db.write() as session:
        page = await queue_to_address(
            session=session, channel="log", address="oncall", key="page-1", subject="Checkout down",
            body="page", now=api.clock.now(),
        )  # fmt: skip
        await session.commit()
    stop = asyncio.Event()
    worker = asyncio.create_task(new_worker(api.context, periodic=(), poll_seconds=0.05).run_forever(stop))
    try:
        # Until the page is sent and the chat job's call has reached Slack (on a busy machine the page can
        # go out before that call is made); both well inside Slack's 5 s hang.
        for _ in range(150):
            async with api.context.db.read() as session:
                sent = (await session.get(OutgoingMessage, page.id, populate_existing=True)).state == "sent"
            if sent and slack.methods():
                break
            await asyncio.sleep(0.02)
        chat = (await chat_jobs(api))[0]  # the room's job (later ones mirror paging notes)
        assert sent and chat.state == "running" and slack.methods() == ["conversations.create"]
    finally:
        stop.set()
        await worker
    chat = (await chat_jobs(api))[0]  # Slack never answered: the call timed out and will be retried
    assert (
        chat.state == "pending" and chat.attempts == 1 and "conversations.create" in (chat.last_error or "")
    )
