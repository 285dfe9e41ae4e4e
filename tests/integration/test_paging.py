"""The paging engine end to end on both databases: intake -> triage -> escalation steps -> deliveries to real
local servers (HTTP sink, SMTP) -> acknowledge by the signed link -> paging stops. Time moves by the clock."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.fakes.sink import Sink, running_sink
from tests.fakes.smtp import Mailbox, running_mailbox
from tests.integration.conftest import Api
from warroom.notify.models import OutgoingMessage
from warroom.wiring import new_worker


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


async def setup(api: Api, sink: Sink) -> str:
    """Service `checkout` paging responder (webhook, at once) then viewer after 5 minutes; returns the key."""
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    for role in ("responder", "viewer"):
        method = await api.clients[role].post(
            "/api/v1/me/contact-methods", json={"kind": "webhook", "address": f"{sink.url}/{role}"}
        )
        assert method.status_code == 201, method.text
    policy = {
        "slug": "checkout-oncall",
        "name": "Checkout",
        "services": ["checkout"],
        "steps": [
            {"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]},
            {"delay_seconds": 300, "targets": [{"type": "user", "ref": api.emails["viewer"]}]},
        ],
    }
    created = await api.admin.post("/api/v1/escalation-policies", json=policy)
    assert created.status_code == 201, created.text
    integration = await api.admin.post(
        "/api/v1/integrations", json={"kind": "webhook", "service": "checkout"}
    )
    return str(integration.json()["key"])


async def fire(api: Api, key: str, dedup: str = "db-down", severity: str = "critical") -> None:
    sent = await api.anonymous.post(
        f"/intake/webhook/{key}", json={"id": dedup, "title": f"{dedup} alarm", "severity": severity}
    )
    assert sent.status_code == 202, sent.text


async def test_pages_escalates_and_stops_on_the_ack_link(api: Api, sink: Sink) -> None:
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await fire(api, key)
    await worker.run_once()
    assert [r["path"] for r in sink.received] == ["/responder"]
    delivered = sink.received[0]
    secret = api.context.settings.ensure_secret_key().get_secret_value()
    expected = "sha256=" + hmac.new(secret.encode(), delivered["body"], hashlib.sha256).hexdigest()
    assert delivered["headers"]["X-Warroom-Signature"] == expected
    assert delivered["headers"]["Idempotency-Key"].startswith("msg:")
    api.clock.advance(timedelta(minutes=4))
    await worker.run_once()
    assert len(sink.received) == 1  # the second step is not due yet
    api.clock.advance(timedelta(minutes=1))
    await worker.run_once()
    assert [r["path"] for r in sink.received] == ["/responder", "/viewer"]
    ack_url = sink.bodies()[1]["ack_url"]
    path = ack_url.replace(api.context.settings.resolved_base_url(), "")
    preview = await api.anonymous.get(path)
    assert preview.status_code == 200 and "db-down alarm" in preview.text
    (alert,) = (await api.viewer.get("/api/v1/alerts")).json()["items"]
    assert alert["status"] == "triggered"  # looking at the link acknowledged nothing
    done = await api.anonymous.post(path)
    assert done.status_code == 200 and "Paging stopped" in done.text
    (alert,) = (await api.viewer.get("/api/v1/alerts")).json()["items"]
    assert (alert["status"], alert["acknowledged_by"]) == ("acknowledged", api.emails["viewer"])
    history = [
        (e["action"], e["data"].get("user"))
        for e in (await api.viewer.get(f"/api/v1/alerts/{alert['id']}/events")).json()
    ]
    assert history == [
        ("trigger", None),
        ("paged", api.emails["responder"]),
        ("paged", api.emails["viewer"]),
        ("acknowledged", None),
    ]


async def test_acknowledging_early_stops_the_next_step(api: Api, sink: Sink) -> None:
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await fire(api, key)
    await worker.run_once()
    ack = await api.responder.post("/api/v1/alerts/db-down/acknowledge")
    assert ack.status_code == 200
    api.clock.advance(timedelta(hours=1))
    await worker.run_once()
    assert [r["path"] for r in sink.received] == ["/responder"]


async def test_an_intake_acknowledge_stops_paging_too(api: Api, sink: Sink) -> None:
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await fire(api, key)
    await worker.run_once()
    incident = (await api.responder.post("/api/v1/incidents", json={"title": "DB", "severity": "P2"})).json()
    await api.responder.post("/api/v1/alerts/db-down/attach", json={"incident": incident["ref"]})
    body = {"id": "db-down", "title": "db-down alarm", "status": "acknowledged"}
    assert (await api.anonymous.post(f"/intake/webhook/{key}", json=body)).status_code == 202
    api.clock.advance(timedelta(hours=1))
    await worker.run_once()
    assert len(sink.received) == 1
    timeline = (await api.viewer.get(f"/api/v1/incidents/{incident['ref']}/timeline")).json()
    kinds = [e["kind"] for e in timeline if e["kind"] != "page_failed"]  # its P2 has nobody to page here
    assert kinds[-3:] == ["alert_attached", "alert_acknowledged", "acknowledged"]  # one acknowledgement


async def test_a_failing_channel_is_retried_with_the_error_visible(api: Api, sink: Sink) -> None:
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=())
    sink.status = 500
    await fire(api, key)
    await worker.run_once()
    async with api.context.db.read() as session:
        (message,) = (await session.scalars(select(OutgoingMessage))).all()
    assert (message.state, message.attempts) == ("pending", 1)
    assert "answered 500" in (message.last_error or "")
    (shown,) = (await api.viewer.get("/api/v1/alerts/db-down/messages")).json()
    assert (shown["user"], shown["channel"], shown["state"]) == (
        api.emails["responder"],
        "webhook",
        "pending",
    )
    failing = (await api.admin.get("/api/v1/jobs", params={"kind": "notify.send"})).json()
    assert failing[0]["state"] == "pending" and "answered 500" in failing[0]["last_error"]
    sink.status = 200
    api.clock.advance(timedelta(seconds=6))
    await worker.run_once()
    assert [r["path"] for r in sink.received] == ["/responder"]


async def test_low_urgency_and_email(api: Api, sink: Sink, mailbox: Mailbox) -> None:
    api.context.settings.smtp_port = mailbox.port
    key = await setup(api, sink)
    method = await api.responder.post(
        "/api/v1/me/contact-methods", json={"kind": "email", "address": "responder@example.org"}
    )
    rule = {"contact_method": method.json()["id"], "delay_seconds": 0, "urgency": "low"}
    assert (await api.responder.post("/api/v1/me/notification-rules", json=rule)).status_code == 201
    await fire(api, key, dedup="disk-80", severity="warning")
    await new_worker(api.context, periodic=()).run_once()
    assert sink.received == []  # low urgency: only the low-urgency rule (email) applies
    (received,) = mailbox.messages
    mail = received.mail
    assert mail["Subject"] == "[WARNING] disk-80 alarm" and mail["To"] == "responder@example.org"
    assert mail["Auto-Submitted"] == "auto-generated"  # RFC 3834: no out-of-office reply to a page
    text = received.body
    assert re.search(r"/ack/\d+\.\d+\.\d+\.[0-9a-f]{32}", text), text


async def test_escalating_by_hand_pages_the_next_step_now(api: Api, sink: Sink) -> None:
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await fire(api, key)
    await worker.run_once()
    escalated = await api.responder.post("/api/v1/alerts/db-down/escalate")
    assert escalated.status_code == 200, escalated.text
    await worker.run_once()
    assert [r["path"] for r in sink.received] == ["/responder", "/viewer"]
    api.clock.advance(timedelta(minutes=10))
    await worker.run_once()
    assert len(sink.received) == 2  # the scheduled second step found it already done
    again = await api.responder.post("/api/v1/alerts/db-down/escalate")
    assert again.status_code == 409  # both steps done: the policy is exhausted


async def test_an_acknowledged_alert_not_resolved_in_time_pages_again(api: Api, sink: Sink) -> None:
    await api.admin.post("/api/v1/services", json={"slug": "db", "name": "DB"})
    await api.responder.post(
        "/api/v1/me/contact-methods", json={"kind": "webhook", "address": f"{sink.url}/r"}
    )
    policy = {
        "slug": "db",
        "name": "DB",
        "services": ["db"],
        "unack_timeout_seconds": 1800,
        "steps": [{"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]}],
    }
    assert (await api.admin.post("/api/v1/escalation-policies", json=policy)).status_code == 201
    key = (await api.admin.post("/api/v1/integrations", json={"kind": "webhook", "service": "db"})).json()[
        "key"
    ]
    worker = new_worker(api.context, periodic=())
    await fire(api, key, dedup="slow-burn")
    await worker.run_once()
    await api.responder.post("/api/v1/alerts/slow-burn/acknowledge")
    api.clock.advance(timedelta(minutes=29))
    await worker.run_once()
    assert len(sink.received) == 1
    api.clock.advance(timedelta(minutes=2))
    await worker.run_once()
    assert len(sink.received) == 2
    (alert,) = (await api.viewer.get("/api/v1/alerts")).json()["items"]
    assert alert["status"] == "triggered"
    actions = [e["action"] for e in (await api.viewer.get(f"/api/v1/alerts/{alert['id']}/events")).json()]
    assert actions[-2:] == ["repaged", "paged"]


async def schedule_paged_service(api: Api, sink: Sink, roles: tuple[str, ...]) -> str:
    """Service `web`, paged at once through a weekly schedule of `roles` (from 2026-03-02, Berlin), each
    with a webhook to the sink at /<role>; returns the service's webhook integration key."""
    await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"})
    for role in roles:
        await api.clients[role].post(
            "/api/v1/me/contact-methods", json={"kind": "webhook", "address": f"{sink.url}/{role}"}
        )
    layer = {
        "name": "weekly",
        "participants": [api.emails[role] for role in roles],
        "start": "2026-03-02T09:00:00+01:00",
        "shift_length": 1,
        "shift_unit": "weeks",
        "time_zone": "Europe/Berlin",
    }
    await api.admin.post("/api/v1/schedules", json={"slug": "web", "name": "Web", "layers": [layer]})
    policy = {
        "slug": "web",
        "name": "Web",
        "services": ["web"],
        "steps": [{"delay_seconds": 0, "targets": [{"type": "schedule", "ref": "web"}]}],
    }
    assert (await api.admin.post("/api/v1/escalation-policies", json=policy)).status_code == 201
    made = await api.admin.post("/api/v1/integrations", json={"kind": "webhook", "service": "web"})
    return str(made.json()["key"])


async def test_a_schedule_target_pages_whoever_is_on_call(api: Api, sink: Sink) -> None:
    key = await schedule_paged_service(api, sink, ("responder", "viewer"))
    oncall = (await api.viewer.get("/api/v1/oncall")).json()
    assert [(o["schedule"], o["user"]) for o in oncall] == [("web", api.emails["responder"])]
    api.clock.advance(timedelta(days=7))  # the next week: the viewer's turn
    await fire(api, key, dedup="week-two")
    await new_worker(api.context, periodic=()).run_once()
    assert [r["path"] for r in sink.received] == ["/viewer"]


async def test_ical_feeds_for_a_schedule_and_a_person(api: Api) -> None:
    layer = {
        "name": "weekly",
        "participants": [api.emails["responder"], api.emails["viewer"]],
        "start": "2026-03-02T09:00:00+01:00",
        "shift_length": 1,
        "shift_unit": "weeks",
        "time_zone": "Europe/Berlin",
    }
    created = await api.admin.post(
        "/api/v1/schedules", json={"slug": "web", "name": "Web", "layers": [layer]}
    )
    feed = created.json()["ical_url"].replace(api.context.settings.resolved_base_url(), "")
    calendar = await api.anonymous.get(feed)
    assert calendar.status_code == 200 and calendar.headers["content-type"].startswith("text/calendar")
    assert (
        f"On call: {api.emails['responder']}" in calendar.text and "DTSTART:20260302T080000Z" in calendar.text
    )
    assert (await api.anonymous.get("/ical/schedules/not-the-token.ics")).status_code == 404
    mine = (await api.viewer.get("/api/v1/me/ical")).json()["ical_url"]
    personal = await api.anonymous.get(mine.replace(api.context.settings.resolved_base_url(), ""))
    assert personal.status_code == 200
    assert api.emails["viewer"] in personal.text and api.emails["responder"] not in personal.text
    forged = mine.rsplit("/", 1)[0] + "/" + "0" * 40 + ".ics"
    assert (
        await api.anonymous.get(forged.replace(api.context.settings.resolved_base_url(), ""))
    ).status_code == 404
    final = (await api.viewer.get("/api/v1/schedules/web/final", params={"days": 14})).json()
    assert [s["user"] for s in final] == [
        api.emails["responder"],
        api.emails["viewer"],
        api.emails["responder"],
    ]
    assert final[1]["start"] == "2026-03-09T08:00:00Z"  # Monday 09:00 in Berlin
    override = {
        "user": api.emails["admin"],
        "starts_at": "2026-03-03T00:00:00Z",
        "ends_at": "2026-03-04T00:00:00Z",
    }
    assert (await api.responder.post("/api/v1/schedules/web/overrides", json=override)).status_code == 201
    final = (await api.viewer.get("/api/v1/schedules/web/final", params={"days": 2})).json()
    assert [(s["user"], s["source"]) for s in final] == [
        (api.emails["responder"], "weekly"),
        (api.emails["admin"], "override"),
        (api.emails["responder"], "weekly"),
    ]


async def test_overrides_import_from_ical(api: Api) -> None:
    layer = {
        "name": "base",
        "participants": [api.emails["responder"]],
        "start": "2026-03-02T09:00:00Z",
        "shift_length": 1,
        "shift_unit": "weeks",
        "time_zone": "UTC",
    }
    await api.admin.post("/api/v1/schedules", json={"slug": "ops", "name": "Ops", "layers": [layer]})
    calendar = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260303T000000Z\r\n"
        f"DTEND:20260304T000000Z\r\nSUMMARY:{api.emails['viewer']}\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260305T000000Z\r\n"
        "DTEND:20260306T000000Z\r\nSUMMARY:someone unknown\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    answer = await api.responder.post("/api/v1/schedules/ops/overrides/import", content=calendar.encode())
    assert answer.status_code == 201, answer.text
    assert answer.json()["created"] == 1 and len(answer.json()["skipped"]) == 1
    at = await api.viewer.get("/api/v1/oncall", params={"at": "2026-03-03T12:00:00Z"})
    assert at.json()[0]["user"] == api.emails["viewer"] and at.json()[0]["source"] == "override"
    bad = await api.responder.post("/api/v1/schedules/ops/overrides/import", content=b"not a calendar")
    assert bad.status_code == 422


async def test_apprise_urls_deliver_json_and_form_posts(api: Api, sink: Sink) -> None:
    """Apprise's generic json:// and form:// notifiers, pointed at the local sink (its Slack, Teams... plugins
    post to the vendors' own hosts, which this machine cannot reach)."""
    await api.admin.post("/api/v1/services", json={"slug": "queue", "name": "Queue"})
    host = sink.url.removeprefix("http://")
    for address in (f"json://{host}/apprise-json", f"form://{host}/apprise-form"):
        method = await api.responder.post(
            "/api/v1/me/contact-methods", json={"kind": "apprise", "address": address}
        )
        assert method.status_code == 201, method.text
    policy = {
        "slug": "q",
        "name": "Q",
        "services": ["queue"],
        "steps": [{"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]}],
    }
    await api.admin.post("/api/v1/escalation-policies", json=policy)
    key = (await api.admin.post("/api/v1/integrations", json={"kind": "webhook", "service": "queue"})).json()[
        "key"
    ]
    await fire(api, key, dedup="backlog")
    await new_worker(api.context, periodic=()).run_once()
    paths = sorted(r["path"] for r in sink.received)
    json_post = json.loads(next(r["body"] for r in sink.received if r["path"] == "/apprise-json"))
    assert json_post["title"] == "[CRITICAL] backlog alarm" and "/ack/" in json_post["message"]
    assert paths == ["/apprise-form", "/apprise-json"]
    form = next(r["body"] for r in sink.received if r["path"] == "/apprise-form")
    assert b"backlog+alarm" in form or b"backlog%20alarm" in form


async def test_my_shifts_and_deleting_overrides_schedules_and_policies(api: Api) -> None:
    layer = {
        "name": "daily",
        "participants": [api.emails["responder"], api.emails["viewer"]],
        "start": "2026-03-02T09:00:00Z",
        "shift_length": 1,
        "shift_unit": "days",
        "time_zone": "UTC",
    }
    await api.admin.post("/api/v1/schedules", json={"slug": "ops", "name": "Ops", "layers": [layer]})
    shifts = (await api.viewer.get("/api/v1/me/shifts", params={"days": 4})).json()
    assert [(s["start"], s["source"]) for s in shifts] == [
        ("2026-03-03T09:00:00Z", "ops"),
        ("2026-03-05T09:00:00Z", "ops"),
    ]
    cover = {
        "user": api.emails["admin"],
        "starts_at": "2026-03-03T09:00:00Z",
        "ends_at": "2026-03-04T09:00:00Z",
    }
    await api.responder.post("/api/v1/schedules/ops/overrides", json=cover)
    assert len((await api.viewer.get("/api/v1/me/shifts", params={"days": 4})).json()) == 1
    async with api.context.db.read() as session:
        from warroom.oncall.models import ScheduleOverride

        (override,) = (await session.scalars(select(ScheduleOverride))).all()
    assert (await api.responder.delete(f"/api/v1/schedules/ops/overrides/{override.id}")).status_code == 204
    assert len((await api.viewer.get("/api/v1/me/shifts", params={"days": 4})).json()) == 2
    policy = {
        "slug": "ops",
        "name": "Ops",
        "steps": [{"delay_seconds": 0, "targets": [{"type": "schedule", "ref": "ops"}]}],
    }
    assert (await api.admin.post("/api/v1/escalation-policies", json=policy)).status_code == 201
    assert (await api.admin.delete("/api/v1/escalation-policies/ops")).status_code == 204
    assert (await api.admin.delete("/api/v1/schedules/ops")).status_code == 204
    assert (await api.viewer.get("/api/v1/schedules")).json() == []
    assert (await api.admin.delete("/api/v1/schedules/ops")).status_code == 404
