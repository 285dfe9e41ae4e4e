"""The Slack card is edited in place (chat.update on the message it was posted as) whenever what it shows
changes, in the war room and in the broadcast channel, through the same retried chat.mirror job."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.slack import FakeSlack
from tests.integration.chat_helpers import chat_jobs, declare, fake_slack, rooms, run_jobs, slack, texts
from tests.integration.conftest import Api, fill_required_roles
from warroom.chat.cards import ACK_ACTION, OPEN_ACTION
from warroom.chat.rooms import save_room
from warroom.jobs.domain import backoff

__all__ = ["fake_slack", "slack"]  # fixtures


def blocks_of(call: dict[str, Any]) -> list[dict[str, Any]]:
    found = call["blocks"]
    return json.loads(found) if isinstance(found, str) else list(found)


def fields(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """The card's facts as {name: value} ('*Severity*\\nP1 Critical' -> {'Severity': 'P1 Critical'})."""
    pairs = (f["text"].split("\n", 1) for f in blocks[1]["fields"])
    return {name.strip("*"): value for name, value in pairs}


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for e in blocks[2]["elements"]]


async def change(api: Api, ref: str, path: str, body: dict[str, Any]) -> None:
    method = api.responder.patch if path == "" else api.responder.post
    answer = await method(f"/api/v1/incidents/{ref}{path}", json=body)
    assert answer.status_code in (200, 201), answer.text


async def test_the_card_follows_the_incident_and_loses_its_buttons_when_resolved(
    api: Api, slack: FakeSlack
) -> None:
    ref = await declare(api, "P1", "Checkout down")
    await run_jobs(api)
    (channel,) = slack.channels.values()
    (posted,) = slack.calls_to("chat.postMessage")
    card = channel["messages"][0]
    assert fields(card["blocks"]) == {
        "Severity": "P1 Critical", "Phase": "Triage", "Commander": "no commander yet",
        "Status": "Active, not acknowledged",
    }  # fmt: skip
    assert buttons(card["blocks"]) == ["warroom_ack", "warroom_resolve", "warroom_open"]
    (room,) = await rooms(api)
    assert room.card_ts == card["ts"] and room.card_hash is not None
    assert slack.calls_to("chat.update") == []  # just posted: nothing to edit

    steps: list[tuple[str, dict[str, Any], dict[str, str], list[str]]] = [
        ("", {"severity": "P2", "severity_reason": "only EU"}, {"Severity": "P2 High"},
         ["warroom_ack", "warroom_resolve", "warroom_open"]),
        ("/roles", {"role": "incident_commander", "user": api.emails["admin"]},
         {"Commander": "Admin", "Status": "Active, acknowledged"}, ["warroom_resolve", "warroom_open"]),
        ("/phase", {"phase": "containment", "reason": "scoped"}, {"Phase": "Containment"},
         ["warroom_resolve", "warroom_open"]),
        ("/resolve", {"reason": "fixed"}, {"Phase": "Review", "Status": "Resolved"}, ["warroom_open"]),
    ]  # fmt: skip
    for number, (path, body, shown, actions) in enumerate(steps, start=1):
        if path == "/resolve":
            await fill_required_roles(api, ref)  # a technical lead, which the card does not show
            await run_jobs(api)
        await change(api, ref, path, body)
        await run_jobs(api)
        updates = slack.calls_to("chat.update")
        assert len(updates) == number, path  # one edit per change, none repeated
        assert (updates[-1]["channel"], updates[-1]["ts"]) == (channel["id"], card["ts"])
        assert fields(blocks_of(updates[-1])).items() >= shown.items()
        assert buttons(blocks_of(updates[-1])) == actions
        assert updates[-1]["text"].startswith(f"{ref}: Checkout down (")  # the fallback follows too
        assert all(f"{name}: {value}" in updates[-1]["text"] for name, value in shown.items())
    assert channel["messages"][0]["blocks"] == blocks_of(slack.calls_to("chat.update")[-1])
    assert len(slack.calls_to("chat.postMessage")) == len(texts(slack, channel["id"]))  # edited, not reposted
    assert posted["channel"] == channel["id"]
    assert {j.state for j in await chat_jobs(api)} == {"done"}


async def test_no_edit_when_nothing_on_the_card_changed(api: Api, slack: FakeSlack) -> None:
    ref = await declare(api, "P1")
    await run_jobs(api)
    await change(api, ref, "/updates", {"audience": "internal", "body": "db primary at 95% cpu"})
    await change(api, ref, "/updates", {"audience": "stakeholder", "body": "Looking into it"})
    await change(api, ref, "/roles", {"role": "scribe", "user": api.emails["viewer"]})
    await run_jobs(api)
    (channel,) = slack.channels.values()
    assert [t.split(":")[0] for t in texts(slack, channel["id"])[1:]] == [
        f"Note from {api.emails['responder']}",
        f"Stakeholder update from {api.emails['responder']}",
        f"{api.emails['viewer']} is now Scribe (by {api.emails['responder']})",
        f"Acknowledged by {api.emails['responder']}",  # a role taken acknowledges
    ]
    (update,) = slack.calls_to("chat.update")  # the acknowledgement alone shows on the card
    assert fields(blocks_of(update))["Status"] == "Active, acknowledged"


async def test_the_broadcast_card_is_edited_too(api: Api, slack: FakeSlack) -> None:
    broadcast = WebClient(token=slack.token, base_url=slack.url).conversations_create(name="incidents")
    api.context.settings.slack_broadcast_channel = broadcast["channel"]["id"]
    ref = await declare(api, "P1")
    await run_jobs(api)
    await change(api, ref, "", {"severity": "P2", "severity_reason": "only EU"})
    await run_jobs(api)
    card_ts = {room.purpose: (room.channel_id, room.card_ts) for room in await rooms(api)}
    edited = {(u["channel"], u["ts"]): fields(blocks_of(u)) for u in slack.calls_to("chat.update")}
    assert set(edited) == set(card_ts.values()) and len(edited) == 2
    assert {shown["Severity"] for shown in edited.values()} == {"P2 High"}
    assert slack.channels[broadcast["channel"]["id"]]["messages"][0]["text"].startswith(f"{ref}: ")
    by_channel = {u["channel"]: buttons(blocks_of(u)) for u in slack.calls_to("chat.update")}
    assert by_channel[card_ts["broadcast"][0]] == [OPEN_ACTION]  # stakeholders read; responders act
    assert ACK_ACTION in by_channel[card_ts["war_room"][0]]


async def test_a_429_on_chat_update_waits_for_retry_after_and_posts_are_not_repeated(
    api: Api, slack: FakeSlack
) -> None:
    ref = await declare(api, "P1")
    await run_jobs(api)
    (channel,) = slack.channels.values()
    slack.fail("chat.update", 429, retry_after=20)
    await change(api, ref, "", {"severity": "P2", "severity_reason": "only EU"})
    await run_jobs(api)
    job = (await chat_jobs(api))[-1]
    assert (job.state, job.attempts, job.run_at) == ("pending", 0, api.clock.now() + timedelta(seconds=20))
    assert "chat.update: Slack rate limit (429)" in (job.last_error or "")
    assert channel["topic"]["value"].startswith("P2 High")  # the topic went before the card
    api.clock.advance(timedelta(seconds=19))
    assert await run_jobs(api) == 0
    api.clock.advance(timedelta(seconds=1))
    await run_jobs(api)
    first, second = slack.calls_to("chat.update")
    assert first == second and second["ts"] == channel["messages"][0]["ts"]
    assert fields(channel["messages"][0]["blocks"])["Severity"] == "P2 High"
    severity_lines = [t for t in texts(slack, channel["id"]) if t.startswith("Severity P1 → P2")]
    assert len(severity_lines) == 1 and len(slack.calls_to("conversations.setTopic")) == 2
    assert {j.state for j in await chat_jobs(api)} == {"done"}


async def test_a_failed_update_is_retried_with_backoff_after_the_posts_went_through(
    api: Api, slack: FakeSlack
) -> None:
    ref = await declare(api, "P1")
    await run_jobs(api)
    (channel,) = slack.channels.values()
    slack.fail("chat.update", 500)
    await change(api, ref, "/phase", {"phase": "recovery", "reason": "rolled back"})
    await run_jobs(api)
    job = (await chat_jobs(api))[-1]
    assert (job.state, job.attempts) == ("pending", 1)
    assert job.last_error == "ChatCallFailed: chat.update: HTTP 500 (internal_error)"
    assert fields(channel["messages"][0]["blocks"])["Phase"] == "Triage"
    api.clock.advance(backoff(1))
    await run_jobs(api)
    assert texts(slack, channel["id"])[1:] == [  # posted once, before the update failed, not again
        f"Phase Triage → Recovery by {api.emails['responder']}: rolled back"
    ]
    assert fields(channel["messages"][0]["blocks"])["Phase"] == "Recovery"
    assert len(slack.calls_to("chat.update")) == 2
    assert {j.state for j in await chat_jobs(api)} == {"done"}


async def test_a_deleted_card_or_one_from_before_card_ts_is_left_alone(api: Api, slack: FakeSlack) -> None:
    ref = await declare(api, "P1")
    await run_jobs(api)
    (channel,) = slack.channels.values()
    slack.delete_message(channel["id"], channel["messages"][0]["ts"])
    await change(api, ref, "", {"severity": "P2", "severity_reason": "only EU"})
    await run_jobs(api)
    (refused,) = slack.calls_to("chat.update")  # message_not_found: retrying cannot bring it back
    (room,) = await rooms(api)
    assert room.card_ts is None and {j.state for j in await chat_jobs(api)} == {"done"}
    await change(api, ref, "", {"severity": "P1", "severity_reason": "EU and US"})
    await run_jobs(api)
    assert slack.calls_to("chat.update") == [refused]  # no ts (as before 0010): never edited
    assert texts(slack, channel["id"])[-1].startswith("Severity P2 → P1")


async def test_a_card_that_is_not_ours_is_not_retried(api: Api, slack: FakeSlack) -> None:
    ref = await declare(api, "P1")
    await run_jobs(api)
    (channel,) = slack.channels.values()
    (room,) = await rooms(api)
    someone = slack.say(channel["id"], next(iter(slack.users)), "hello", "1767261600.000200")
    await save_room(context=api.context, room_id=room.id, card_ts=someone["ts"])
    await change(api, ref, "", {"severity": "P2", "severity_reason": "only EU"})
    await run_jobs(api)
    assert len(slack.calls_to("chat.update")) == 1 and someone["text"] == "hello"
    (room,) = await rooms(api)
    assert room.card_ts is None and {j.state for j in await chat_jobs(api)} == {"done"}


def test_the_fake_edits_messages_the_way_slack_does(fake_slack: FakeSlack) -> None:
    client = WebClient(token=fake_slack.token, base_url=fake_slack.url)
    channel = client.conversations_create(name="inc-1-checkout")["channel"]["id"]
    posted = client.chat_postMessage(channel=channel, text="before", blocks=[{"type": "divider"}])
    edited = client.chat_update(channel=channel, ts=posted["ts"], text="after")
    answer = (edited["ok"], edited["channel"], edited["ts"], edited["text"])
    assert answer == (True, channel, posted["ts"], "after")
    assert edited["message"]["text"] == "after" and edited["message"]["blocks"] == [{"type": "divider"}]
    assert fake_slack.channels[channel]["messages"][0]["text"] == "after"
    theirs = fake_slack.say(channel, fake_slack.add_user("a@x", "A"), "mine", "1767261600.000300")
    for arguments, error in [
        ({"channel": channel, "ts": "1.000000"}, "message_not_found"),
        ({"channel": channel, "ts": theirs["ts"]}, "cant_update_message"),
        ({"channel": "CMISSING", "ts": posted["ts"]}, "channel_not_found"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            client.chat_update(text="x", **arguments)
        assert refused.value.response["error"] == error
    assert fake_slack.methods().count("chat.update") == 4 and theirs["text"] == "mine"
