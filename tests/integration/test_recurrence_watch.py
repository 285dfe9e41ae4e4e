"""Watching for recurrence (issue #14 item 11), on both databases: within the procedure's recurrence_watch
(24 h by default) after an incident recovers, a new alert on its service links to it and pages its commander
(once), still pages the service's on-call, and opens no unrelated incident; the review lists it. After the
watch, the service's rule declares a new incident as before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.fakes.sink import Sink
from tests.integration.conftest import Api, fill_required_roles
from warroom.wiring import new_worker


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def setup(api: Api, sink: Sink) -> str:
    """`checkout` pages the responder and declares a P3 for every alert; returns its integration key."""
    for role in ("admin", "responder"):
        hook = {"kind": "webhook", "address": f"{sink.url}/{role}"}
        await ok(await api.clients[role].post("/api/v1/me/contact-methods", json=hook), 201)
    await ok(await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"}), 201)
    step = {"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]}
    policy = {"slug": "checkout", "name": "Checkout", "services": ["checkout"], "steps": [step]}
    await ok(await api.admin.post("/api/v1/escalation-policies", json=policy), 201)
    rule = {"name": "declare all", "action": "declare", "incident_severity": "P3"}
    await ok(await api.admin.post("/api/v1/services/checkout/alert-rules", json=rule), 201)
    made = await ok(
        await api.admin.post("/api/v1/integrations", json={"kind": "webhook", "service": "checkout"}), 201
    )
    return str(made["key"])


async def recovered_incident(api: Api) -> str:
    body = {"title": "Checkout down", "severity": "P3", "services": ["checkout"]}
    ref = str((await ok(await api.responder.post("/api/v1/incidents", json=body), 201))["ref"])
    commander = {"role": "incident_commander", "user": api.emails["admin"]}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/roles", json=commander))
    await fill_required_roles(api, ref)
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "rolled back"}))
    return ref


async def incidents(api: Api) -> list[str]:
    return sorted(i["ref"] for i in (await ok(await api.admin.get("/api/v1/incidents")))["items"])


async def test_an_alert_soon_after_recovery_links_to_it_and_pages_its_commander(api: Api, sink: Sink) -> None:
    key = await setup(api, sink)
    ref = await recovered_incident(api)
    worker = new_worker(api.context, periodic=())
    await worker.run_once()
    sink.received.clear()  # whatever the declaration paged
    api.clock.advance(timedelta(hours=2))
    for n in (1, 2):
        await ok(
            await api.anonymous.post(f"/intake/webhook/{key}", json={"id": f"again-{n}", "title": "500s"}),
            202,
        )
    for _ in range(3):  # triage, the steps, the deliveries
        await worker.run_once()
    assert await incidents(api) == [ref]  # no unrelated incident opened
    paths = sorted(r["path"] for r in sink.received)
    assert paths == ["/admin", "/responder", "/responder"]  # the commander once; the on-call per alert
    timeline = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))
    linked = [e["data"] for e in timeline if e["kind"] == "recurrence"]
    assert [(d["service"], d["minutes_after_recovery"], d["paged"]) for d in linked] == [
        ("checkout", 120, api.emails["admin"]),
        ("checkout", 120, api.emails["admin"]),
    ]
    alerts = (await ok(await api.admin.get("/api/v1/alerts")))["items"]
    for alert in alerts:
        events = await ok(await api.admin.get(f"/api/v1/alerts/{alert['id']}/events"))
        assert [e["data"] for e in events if e["action"] == "recurrence"] == [
            {"incident": ref, "minutes_after_recovery": 120}
        ]
    review = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/review"))
    recurred = [f for f in review["contributing_factors"] if f.startswith("Recurred?")]
    assert (
        len(recurred) == 2 and "on checkout" in recurred[0] and "120 min after recovery: 500s" in recurred[0]
    )


async def test_after_the_watch_the_rule_opens_a_new_incident(api: Api, sink: Sink) -> None:
    key = await setup(api, sink)
    ref = await recovered_incident(api)
    worker = new_worker(api.context, periodic=())
    api.clock.advance(timedelta(hours=25))
    await ok(await api.anonymous.post(f"/intake/webhook/{key}", json={"id": "later", "title": "500s"}), 202)
    await worker.run_once()
    refs = await incidents(api)
    assert len(refs) == 2 and ref in refs
    timeline = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))
    assert "recurrence" not in [e["kind"] for e in timeline]


async def test_a_recovery_after_the_worker_looked_is_seen_by_the_next_alert(api: Api, sink: Sink) -> None:
    """The worker keeps the last recovery on a service with its configuration: an incident that recovers
    after it looked changes the token, and the next alert links to it."""
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=())
    for dedup in ("first", "second"):  # the second's triage reads (and keeps) "no recovery" after the
        body = {"id": dedup, "title": "500s"}  # first's declaration changed the token
        await ok(await api.anonymous.post(f"/intake/webhook/{key}", json=body), 202)
        await worker.run_once()
    declared = await incidents(api)
    ref = await recovered_incident(api)
    api.clock.advance(timedelta(minutes=30))
    await ok(await api.anonymous.post(f"/intake/webhook/{key}", json={"id": "third", "title": "500s"}), 202)
    await worker.run_once()
    assert await incidents(api) == sorted([*declared, ref])  # linked, not declared anew
    timeline = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))
    assert [e["data"]["minutes_after_recovery"] for e in timeline if e["kind"] == "recurrence"] == [30]
