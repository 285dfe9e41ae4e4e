"""My notifications page on both databases: contact methods and rules added, refused with the typed values
kept, deleted; and "send me a test" queues a real message that the worker delivers to a local webhook sink."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select

from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from tests.integration.web_helpers import Web, field_error, field_value, open_web, text_of
from warroom.notify.models import OutgoingMessage
from warroom.wiring import new_worker


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Web]:
    async with open_web(api) as found:
        yield found


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


async def test_contact_methods_and_rules_are_added_refused_and_deleted(web: Web) -> None:
    me = web["viewer"]
    bad = await me.post(
        "/me/notifications/methods", {"kind": "webhook", "address": "ftp://x", "label": "mine"}
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "method-address") == "a webhook address is an http(s) URL"
    assert (
        field_value(bad.text, "method-address") == "ftp://x"
        and field_value(bad.text, "method-label") == "mine"
    )
    done = await me.post(
        "/me/notifications/methods", {"kind": "email", "address": "v@example.com", "label": "Mail"}
    )
    assert done.status_code == 303
    methods = (await web.api.viewer.get("/api/v1/me/contact-methods")).json()
    assert [(m["kind"], m["address"], m["label"]) for m in methods] == [("email", "v@example.com", "Mail")]
    method_id = methods[0]["id"]

    refused = await me.post(
        "/me/notifications/rules",
        {"contact_method": str(method_id), "delay_minutes": "soon", "urgency": "high"},
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "rule-delay_minutes") == "give whole minutes from 0 to 1440"
    assert field_value(refused.text, "rule-delay_minutes") == "soon"
    rule = {"contact_method": str(method_id), "delay_minutes": "5", "urgency": "low"}
    assert (await me.post("/me/notifications/rules", rule)).status_code == 303
    page = text_of((await me.client.get("/me/notifications")).text)
    assert "low urgency after 5 min by Mail" in page
    rules = (await web.api.viewer.get("/api/v1/me/notification-rules")).json()
    assert [(r["delay_seconds"], r["urgency"]) for r in rules] == [(300, "low")]

    # Someone else's method is not mine to delete or test.
    assert (
        await web["responder"].post(f"/me/notifications/methods/{method_id}/delete", {})
    ).status_code == 303
    assert len((await web.api.viewer.get("/api/v1/me/contact-methods")).json()) == 1
    assert (await me.post(f"/me/notifications/rules/{rules[0]['id']}/delete", {})).status_code == 303
    assert (await me.post(f"/me/notifications/methods/{method_id}/delete", {})).status_code == 303
    assert (await web.api.viewer.get("/api/v1/me/contact-methods")).json() == []


async def test_send_me_a_test_is_delivered_by_the_worker(web: Web, sink: Sink) -> None:
    me = web["stakeholder"]
    form = {"kind": "webhook", "address": f"{sink.url}/me", "label": "Hook"}
    assert (await me.post("/me/notifications/methods", form)).status_code == 303
    method_id = (await web.api.stakeholder.get("/api/v1/me/contact-methods")).json()[0]["id"]
    sent = await me.post(f"/me/notifications/methods/{method_id}/test", {})
    assert sent.status_code == 303 and sent.headers["location"] == "/me/notifications#recent"
    assert "pending" in text_of((await me.client.get("/me/notifications")).text)
    await new_worker(web.api.context, periodic=()).run_once()
    assert [r["path"] for r in sink.received] == ["/me"]
    body = sink.bodies()[0]
    assert body["subject"] == "warroom test message" and "Nothing is wrong" in body["body"]
    assert body["ack_url"] == "" and body["alert_url"] == ""
    async with web.api.context.db.read() as session:
        message = await session.scalar(select(OutgoingMessage))
    assert message is not None and message.state == "sent" and message.alert_id is None
    page = text_of((await me.client.get("/me/notifications")).text)
    assert "sent warroom test message" in page
    assert (await web["viewer"].post(f"/me/notifications/methods/{method_id}/test", {})).status_code == 303
    assert len(sink.received) == 1  # another person cannot send to my method
