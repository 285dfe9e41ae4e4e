""" "Why was I paged" (issue #14 item 10), on both databases: every page records the chain that chose the
person (the alert and the routing rule that sent it to its service, or the declaration; the service; the
policy and step; the schedule's layer or override, the team, or the user named; each notification rule's
channel and delay). The page itself links to it; the alert page and the incident's timeline show it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import START
from tests.fakes.sink import Sink
from tests.integration.conftest import Api
from tests.integration.web_helpers import open_web, text_of
from warroom.wiring import new_worker


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def on_call(api: Api, sink: Sink) -> None:
    """`checkout` escalates to the `primary` schedule (responder's rotation, the viewer's override now);
    the viewer is paged by webhook at once and again after 2 minutes."""
    for delay in (0, 120):
        hook = {"kind": "webhook", "address": f"{sink.url}/viewer-{delay}"}
        method = await ok(await api.viewer.post("/api/v1/me/contact-methods", json=hook), 201)
        rule = {"contact_method": method["id"], "delay_seconds": delay, "urgency": "high"}
        await ok(await api.viewer.post("/api/v1/me/notification-rules", json=rule), 201)
    for slug in ("catch-all", "checkout"):
        await ok(await api.admin.post("/api/v1/services", json={"slug": slug, "name": slug.title()}), 201)
    layer = {"name": "weekly", "participants": [api.emails["responder"]], "start": START.isoformat(),
             "shift_length": 1, "shift_unit": "weeks", "time_zone": "UTC"}  # fmt: skip
    schedule = {"slug": "primary", "name": "Primary", "layers": [layer]}
    await ok(await api.admin.post("/api/v1/schedules", json=schedule), 201)
    now = api.clock.now()
    cover = {"user": api.emails["viewer"], "starts_at": now.isoformat(),
             "ends_at": now.replace(hour=23).isoformat()}  # fmt: skip
    await ok(await api.admin.post("/api/v1/schedules/primary/overrides", json=cover), 201)
    step = {"delay_seconds": 0, "targets": [{"type": "schedule", "ref": "primary"}]}
    policy = {
        "slug": "checkout-oncall",
        "name": "Checkout on call",
        "services": ["checkout"],
        "steps": [step],
    }
    await ok(await api.admin.post("/api/v1/escalation-policies", json=policy), 201)
    route = {"name": "payments to checkout", "service": "checkout",
             "conditions": [{"field": "title", "op": "contains", "value": "payment"}]}  # fmt: skip
    await ok(await api.admin.post("/api/v1/routing-rules", json=route), 201)


async def test_an_alert_page_records_the_whole_chain_and_links_to_it(api: Api, sink: Sink) -> None:
    await on_call(api, sink)
    integration = {"kind": "webhook", "service": "catch-all"}
    key = (await ok(await api.admin.post("/api/v1/integrations", json=integration), 201))["key"]
    sent = {"id": "pay-1", "title": "payment errors above 5%"}
    await ok(await api.anonymous.post(f"/intake/webhook/{key}", json=sent), 202)
    worker = new_worker(api.context, periodic=())
    for _ in range(3):  # triage, the first step, the immediate delivery
        await worker.run_once()
    (alert,) = (await ok(await api.viewer.get("/api/v1/alerts")))["items"]
    events = await ok(await api.viewer.get(f"/api/v1/alerts/{alert['id']}/events"))
    (paged,) = [e["data"] for e in events if e["action"] == "paged"]
    assert paged == {
        "user": api.emails["viewer"], "channels": ["webhook", "webhook"], "step": 0, "round": 0,
        "via": "schedule primary, override", "policy": "checkout-oncall", "service": "checkout",
        "origin": f"alert #{alert['id']} to routing rule payments to checkout",
        "notified": [{"channel": "webhook", "after_seconds": 0, "rule": paged["notified"][0]["rule"]},
                     {"channel": "webhook", "after_seconds": 120, "rule": paged["notified"][1]["rule"]}],
    }  # fmt: skip
    (page,) = sink.bodies()
    assert page["body"].endswith(
        f"Why you were paged: {api.context.settings.resolved_base_url()}/alerts/{alert['id']}#paging"
    )
    async with open_web(api) as web:
        shown = text_of((await web["responder"].client.get(f"/alerts/{alert['id']}")).text)
    assert (
        f"{api.emails['viewer']}: alert #{alert['id']} to routing rule payments to checkout → service "
        "checkout → policy checkout-oncall step 1 → schedule primary, override"
    ) in shown


async def test_a_declared_incident_page_says_why_on_its_timeline(api: Api, sink: Sink) -> None:
    await on_call(api, sink)
    declared = {"title": "Checkout down", "severity": "P1", "services": ["checkout"]}
    ref = (await ok(await api.responder.post("/api/v1/incidents", json=declared), 201))["ref"]
    worker = new_worker(api.context, periodic=())
    for _ in range(3):
        await worker.run_once()
    timeline = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))
    (paged,) = [
        e["data"] for e in timeline if e["kind"] == "paged" and e["data"]["user"] == api.emails["viewer"]
    ]
    assert paged["reason"] == "declared P1: affected service checkout escalates by policy Checkout on call"
    assert (paged["via"], paged["policy"], paged["step"]) == (
        "schedule primary, override",
        "checkout-oncall",
        0,
    )
    assert "origin" not in paged and "service" not in paged  # the reason names the service
    (page,) = sink.bodies()
    assert page["body"].endswith(
        f"Why you were paged: {api.context.settings.resolved_base_url()}/incidents/{ref}#timeline"
    )
    async with open_web(api) as web:
        shown = text_of((await web["responder"].client.get(f"/incidents/{ref}")).text)
    assert (
        "Paged Viewer via webhook, webhook after 2 min warroom declared P1: affected service checkout "
        "escalates by policy Checkout on call → policy checkout-oncall step 1 → schedule primary, override"
    ) in shown  # names, not emails, on the page
