"""Slack war rooms: a channel per marked incident, its timeline mirrored in order, retries that honour
Slack's rate limits, and a chat outage that never holds up paging."""

from __future__ import annotations

from tests.fakes.slack import FakeSlack
from tests.integration.chat_helpers import chat_jobs, declare, fake_slack, rooms, run_jobs, slack, texts
from tests.integration.conftest import Api

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
    assert actions == ["warroom_ack", "warroom_resolve", "warroom_open"]
    assert card["blocks"][2]["elements"][2]["url"] == f"http://127.0.0.1:8080/incidents/{ref}"
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
