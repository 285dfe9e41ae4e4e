"""Slack's Events API: the URL check, and messages pinned or marked with the capture reaction in an
incident's channel landing on its timeline at their own time, once, with the chain intact."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tests.fakes.slack import FakeSlack
from tests.integration.chat_helpers import declare, fake_slack, run_jobs, slack, slack_headers, slack_id
from tests.integration.conftest import Api
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import SYSTEM
from warroom.timeline.service import verify_chain

__all__ = ["fake_slack", "slack"]  # fixtures


async def send_event(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    encoded = json.dumps(body)
    headers = slack_headers(encoded, at=api.clock.now().timestamp(), kind="json")
    answer = await api.anonymous.post("/chat/slack/events", content=encoded, headers=headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def callback(event: dict[str, Any]) -> dict[str, Any]:
    return {"token": "unused", "team_id": "T0001", "api_app_id": "A0001", "type": "event_callback",
            "event_id": "Ev0001", "event_time": 1, "event": event}  # fmt: skip


async def test_url_verification_echoes_the_challenge(api: Api, slack: FakeSlack) -> None:
    answer = await send_event(
        api, {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY", "type": "url_verification"}
    )
    assert answer == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY"}


async def test_pinned_and_marked_messages_land_once_at_their_own_time(api: Api, slack: FakeSlack) -> None:
    ref = await declare(api, "P1")
    await run_jobs(api)
    (channel,) = slack.channels.values()
    responder = slack_id(slack, api.emails["responder"])
    outsider = slack.add_user("sre@contractor.example", "Sam Contractor")  # in Slack, not in warroom
    said_at = api.clock.now() - timedelta(minutes=7)
    first_ts, second_ts = f"{said_at.timestamp():.0f}.000100", f"{said_at.timestamp() + 60:.0f}.000200"
    first = slack.say(channel["id"], responder, "Error rate back under 1% after the rollback", first_ts)
    slack.say(channel["id"], outsider, "Seeing <https://grafana/d/1|this spike> again", second_ts)

    pinned = {
        "type": "pin_added",
        "user": responder,
        "channel_id": channel["id"],
        "event_ts": "1.1",
        "item": {"type": "message", "channel": channel["id"], "created_by": responder, "message": first},
    }
    await send_event(api, callback(pinned))  # fmt: skip
    for reaction, ts in (("pushpin", second_ts), ("eyes", first_ts), ("pushpin", first_ts)):
        item = {"type": "message", "channel": channel["id"], "ts": ts}
        event = {"type": "reaction_added", "user": responder, "reaction": reaction, "item_user": outsider,
                 "item": item, "event_ts": "1.2"}  # fmt: skip
        await send_event(api, callback(event))
    await send_event(api, callback(pinned))  # Slack delivering the same event again
    await run_jobs(api)

    timeline = (await api.viewer.get(f"/api/v1/incidents/{ref}/timeline")).json()
    # Two capture jobs ran at once: their order on the timeline is theirs, their times are the messages'.
    captured = sorted((e for e in timeline if e["kind"] == "chat_message"), key=lambda e: e["at"])
    assert [(e["at"], e["actor"], e["data"]["text"]) for e in captured] == [
        (stamp(said_at + timedelta(microseconds=100)), api.emails["responder"],
         "Error rate back under 1% after the rollback"),
        (stamp(said_at + timedelta(minutes=1, microseconds=200)), "slack:Sam Contractor",
         "Seeing <https://grafana/d/1|this spike> again"),
    ]  # fmt: skip
    # The first message was both pinned and marked :pushpin:: whichever capture job ran first names it.
    assert captured[0]["data"]["via"] in ("pin", "reaction") and captured[1]["data"]["via"] == "reaction"
    history = slack.calls_to("conversations.history")  # the reaction names the message; its text is fetched
    assert (channel["id"], second_ts, "1", "1") in [
        (h["channel"], h["latest"], h["inclusive"], h["limit"]) for h in history
    ]
    async with api.context.db.read() as session:
        incident = await get_incident(session=session, ref=ref, viewer=SYSTEM)
        count, broken = await verify_chain(session=session, owner=incident)
    assert broken is None and count == len(timeline)


async def test_events_from_other_channels_stage_nothing(api: Api, slack: FakeSlack) -> None:
    event = {"type": "reaction_added", "user": "U1", "reaction": "pushpin",
             "item": {"type": "message", "channel": "CRANDOM", "ts": "1.000001"}}  # fmt: skip
    assert await send_event(api, callback(event)) == {"ok": True}
    assert await run_jobs(api) == 0 and slack.calls == []
