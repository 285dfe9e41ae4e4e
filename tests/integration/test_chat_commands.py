"""`/warroom` and the card's buttons from Slack: signed requests run as the linked warroom user; forged,
replayed or unsigned ones are refused and change nothing; a role without the permission is refused."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

from tests.fakes.slack import FakeSlack
from tests.integration.chat_helpers import (
    SIGNING_SECRET,
    chat_jobs,
    command_body,
    declare,
    fake_slack,
    run_jobs,
    slack,
    slack_headers,
    slack_id,
    slash,
    texts,
)
from tests.integration.conftest import Api

__all__ = ["fake_slack", "slack"]  # fixtures


async def test_signed_slash_commands_run_as_the_linked_user(api: Api, slack: FakeSlack) -> None:
    responder, admin = api.emails["responder"], api.emails["admin"]
    declared = await slash(api, slack, responder, "declare P2 Search returns nothing")
    assert declared["response_type"] == "in_channel"
    ref = declared["text"].split(" declared ")[1].split(" ")[0]
    assert declared["text"] == f"Responder ({responder}) declared {ref} (P2): Search returns nothing"
    acked = await slash(api, slack, responder, f"ack {ref}")
    assert acked["text"] == f"Responder ({responder}) acknowledged {ref}."
    assert len(slack.calls_to("users.info")) == 1  # looked up once, then kept
    await run_jobs(api)

    (channel,) = slack.channels.values()  # a P2 opens a war room; inside it the incident is implied
    inside = channel["id"]
    raised = await slash(api, slack, responder, "severity P1 spreading to EU", inside)
    assert raised["text"] == f"Responder ({responder}) changed the severity of {ref}: P2 → P1."
    took = await slash(api, slack, responder, "role commander me", inside)
    assert took["text"] == f"Responder ({responder}) took Incident commander on {ref}."
    gave = await slash(api, slack, responder, f"role technical <@{slack_id(slack, admin)}|admin>", inside)
    assert gave["text"] == f"Responder ({responder}) made {admin} Technical lead on {ref}."
    update = await slash(api, slack, responder, "update Rollback started", inside)
    assert update["response_type"] == "in_channel"

    incident = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()
    assert (incident["severity"], incident["acknowledged_at"] is not None) == ("P1", True)
    holders = {(r["role"], r["user"]["email"]) for r in (await api.viewer.get(
        f"/api/v1/incidents/{ref}/roles")).json()["current"]}  # fmt: skip
    assert holders == {("incident_commander", responder), ("technical_lead", admin)}
    updates = (await api.stakeholder.get(f"/api/v1/incidents/{ref}/updates")).json()
    assert [(u["audience"], u["body"]) for u in updates] == [("stakeholder", "Rollback started")]
    await run_jobs(api)
    assert texts(slack, inside)[-1] == f"Stakeholder update from {responder}:\nRollback started"
    help_text = await slash(api, slack, responder, "help")
    assert help_text["response_type"] == "ephemeral" and "/warroom declare" in help_text["text"]


async def test_refusals_change_nothing(api: Api, slack: FakeSlack) -> None:
    ref = await declare(api, "P3")
    before = (await api.viewer.get(f"/api/v1/incidents/{ref}/timeline")).json()
    denied = await slash(api, slack, api.emails["stakeholder"], f"resolve {ref}")
    assert denied == {
        "response_type": "ephemeral",
        "text": "Your warroom role (stakeholder) may not change incidents; nothing was changed.",
    }
    slack.add_user("stranger@elsewhere.example", "Stranger")
    unlinked = await slash(api, slack, "stranger@elsewhere.example", f"ack {ref}")
    assert unlinked["response_type"] == "ephemeral"
    assert "(stranger@elsewhere.example) is not linked to a warroom user" in unlinked["text"]
    broken = await slash(api, slack, api.emails["responder"], f"severity {ref} P9")
    assert broken["response_type"] == "ephemeral" and broken["text"].startswith("Nothing was changed")
    outside = await slash(api, slack, api.emails["responder"], "ack")
    assert (
        outside["text"]
        == "Nothing was changed: this channel is not an incident's: name the incident (INC-42)"
    )
    after = (await api.viewer.get(f"/api/v1/incidents/{ref}/timeline")).json()
    assert after == before
    assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["status"] == "active"


async def test_forged_replayed_and_unsigned_requests_get_401(api: Api, slack: FakeSlack) -> None:
    now = api.clock.now().timestamp()
    bodies = {
        "/chat/slack/commands": command_body(
            slack_id(slack, api.emails["admin"]), "declare P1 Forged outage"
        ),
        "/chat/slack/interactions": urlencode(
            {"payload": json.dumps({"type": "block_actions", "actions": []})}
        ),
        "/chat/slack/events": json.dumps({"type": "url_verification", "challenge": "c4llenge"}),
    }
    for path, body in bodies.items():
        attempts = {
            "forged": slack_headers(body, at=now, secret="not-the-signing-secret"),
            "replayed": slack_headers(body, at=now - timedelta(minutes=5, seconds=1).total_seconds()),
            "from the future": slack_headers(body, at=now + 301),
            "unsigned": {"content-type": "application/x-www-form-urlencoded"},
            "bad timestamp": {**slack_headers(body, at=now), "x-slack-request-timestamp": "soon"},
        }
        for case, headers in attempts.items():
            answer = await api.anonymous.post(path, content=body, headers=headers)
            assert answer.status_code == 401, (path, case)
        tampered = slack_headers(body, at=now)
        assert (await api.anonymous.post(path, content=body + " ", headers=tampered)).status_code == 401
    assert (await api.viewer.get("/api/v1/incidents")).json()["total"] == 0
    assert slack.calls == [] and await chat_jobs(api) == []
    for path, body in bodies.items():  # the same requests, signed the way Slack signs, 299 s old
        answer = await api.anonymous.post(path, content=body, headers=slack_headers(body, at=now - 299))
        assert answer.status_code == 200, path
    assert (await api.viewer.get("/api/v1/incidents")).json()["total"] == 1


async def test_buttons_act_and_answer_through_the_response_url(api: Api, slack: FakeSlack) -> None:
    ref = await declare(api, "P1")
    await run_jobs(api)
    (channel,) = slack.channels.values()

    async def press(email: str, action: str) -> None:
        payload = {
            "type": "block_actions", "user": {"id": slack_id(slack, email), "username": "x"},
            "channel": {"id": channel["id"]}, "response_url": f"{slack.origin}/response/{action}",
            "actions": [{"action_id": action, "block_id": "b", "value": ref, "type": "button"}],
        }  # fmt: skip
        body = urlencode({"payload": json.dumps(payload)})
        headers = slack_headers(body, at=api.clock.now().timestamp(), secret=SIGNING_SECRET)
        assert (
            await api.anonymous.post("/chat/slack/interactions", content=body, headers=headers)
        ).is_success

    await press(api.emails["stakeholder"], "warroom_resolve")
    await press(api.emails["responder"], "warroom_ack")
    await run_jobs(api)
    refusal = "Your warroom role (stakeholder) may not change incidents; nothing was changed."
    assert {r["path"]: r["text"] for r in slack.responses} == {  # two jobs: either may answer first
        "/response/warroom_resolve": refusal,
        "/response/warroom_ack": f"Responder ({api.emails['responder']}) acknowledged {ref}.",
    }
    incident = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()
    assert incident["acknowledged_at"] is not None and incident["status"] == "active"
    assert texts(slack, channel["id"])[-1] == f"Acknowledged by {api.emails['responder']}"


async def test_page_someone_in_or_escalate_to_the_commander_from_chat(api: Api, slack: FakeSlack) -> None:
    responder, admin = api.emails["responder"], api.emails["admin"]
    declared = await slash(api, slack, responder, "declare P3 Search is slow")
    ref = declared["text"].split(" declared ")[1].split(" ")[0]
    nobody = await slash(api, slack, responder, f"escalate {ref} need a decision on failover")
    assert nobody["text"] == "Nothing was changed: incident: this incident has no commander to escalate to"
    await slash(api, slack, responder, f"role {ref} commander <@{slack_id(slack, admin)}|admin>")
    escalated = await slash(api, slack, responder, f"escalate {ref} need a decision on failover")
    assert escalated["response_type"] == "in_channel"
    assert (
        escalated["text"]
        == f"Responder ({responder}) escalated {ref} to its commander (user:{admin}): "
        + "need a decision on failover"
    )
    paged = await slash(
        api, slack, responder, f"page {ref} <@{slack_id(slack, admin)}|admin> check the replicas"
    )
    assert paged["text"] == f"Responder ({responder}) paged user:{admin} into {ref}: check the replicas"
    unknown = await slash(api, slack, responder, f"page {ref} schedule:nope please")
    assert unknown["text"] == "Nothing was changed: target: no schedule 'nope'"
    bare = await slash(api, slack, responder, f"page {ref} someone")
    assert bare["text"].startswith("Nothing was changed: say whom and why")
    timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    requested = [e["data"]["reason"] for e in timeline if e["kind"] == "page_requested"]
    assert requested == ["need a decision on failover", "check the replicas"]
