"""Stakeholder updates: rendered per audience by the procedure's templates, delivered to each audience's list
by the worker (a local webhook sink), and the update cadence enforced with reminders. Both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api, fill_required_roles
from warroom.wiring import new_worker


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def lists(api: Api, sink: Sink) -> None:
    for audience in ("internal", "executives", "customers"):
        row = {"audience": audience, "channel": "webhook", "address": f"{sink.url}/{audience}"}
        await ok(await api.responder.post("/api/v1/stakeholders", json=row), 201)


async def p1_with_roles(api: Api) -> str:
    made = {"title": "Checkout is down", "severity": "P1", "customer_impact": "Card payments fail."}
    ref: str = (await ok(await api.responder.post("/api/v1/incidents", json=made), 201))["ref"]
    roles = f"/api/v1/incidents/{ref}/roles"
    await ok(
        await api.responder.post(roles, json={"role": "incident_commander", "user": api.emails["admin"]})
    )
    lead = {"role": "communications_lead", "user": api.emails["responder"]}
    await ok(await api.responder.post(roles, json=lead))
    return ref


async def timeline(api: Api, ref: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = await ok(await api.responder.get(f"/api/v1/incidents/{ref}/timeline"))
    return events


async def test_an_update_goes_to_each_audience_in_its_own_words(api: Api, sink: Sink) -> None:
    await lists(api, sink)
    ref = await p1_with_roles(api)
    api.clock.advance(timedelta(minutes=10))
    update = {"audience": "stakeholder", "body": "We rolled back deploy 4812; errors are falling."}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/updates", json=update), 201)
    assert sink.received == []  # queued in the update's transaction, delivered by the worker
    await new_worker(api.context, periodic=()).run_once()
    got = {r["path"].strip("/"): body for r, body in zip(sink.received, sink.bodies(), strict=True)}
    assert sorted(got) == ["customers", "executives", "internal"]
    internal, customers = got["internal"], got["customers"]
    assert internal["subject"] == f"[P1] {ref} Checkout is down: update 1"
    assert "Commander: Admin." in internal["body"]
    assert "We rolled back deploy 4812" in internal["body"]
    assert f"Follow the incident: http://127.0.0.1:8080/incidents/{ref}" in internal["body"]
    assert "Next update by 2026-03-02 10:40 UTC." in internal["body"]  # posted 10:10, P1 cadence 30m
    assert customers["subject"] == "Service disruption: Checkout is down"
    assert "Current status: http://127.0.0.1:8080/status" in customers["body"]
    for secret in ("Admin", "Responder", "/incidents/", "@test.warroom"):  # no names, no internal links
        assert secret not in customers["body"] and secret not in customers["subject"]
    assert got["executives"]["subject"] == "P1 incident: Checkout is down (Triage)"
    event = [e for e in await timeline(api, ref) if e["kind"] != "page_failed"][-1]  # nobody on call here
    assert event["kind"] == "stakeholder_update"
    assert event["data"]["audiences"] == ["internal", "executives", "customers"]
    assert event["data"]["messages"] == 3
    incident = await ok(await api.responder.get(f"/api/v1/incidents/{ref}"))
    assert incident["next_update_due_at"].startswith("2026-03-02T10:40:00")
    assert incident["update_overdue"] is False


async def test_chosen_audiences_only_and_refusals_change_nothing(api: Api, sink: Sink) -> None:
    await lists(api, sink)
    ref = await p1_with_roles(api)
    path = f"/api/v1/incidents/{ref}/updates"
    only = {"audience": "stakeholder", "body": "Internal only for now.", "audiences": ["internal"]}
    await ok(await api.responder.post(path, json=only), 201)
    before = await timeline(api, ref)
    bad = {"audience": "stakeholder", "body": "x", "audiences": ["press"]}
    refused = await api.responder.post(path, json=bad)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "'press' does not hear about this severity" in refused.json()["detail"]
    note = {"audience": "internal", "body": "x", "audiences": ["internal"]}
    assert (await api.responder.post(path, json=note)).status_code == 422
    assert await timeline(api, ref) == before
    await new_worker(api.context, periodic=()).run_once()
    assert [r["path"] for r in sink.received] == ["/internal"]
    p3 = {"title": "Exports slow", "severity": "P3"}
    low = (await ok(await api.responder.post("/api/v1/incidents", json=p3), 201))["ref"]
    customers = {"audience": "stakeholder", "body": "x", "audiences": ["customers"]}
    refused = await api.responder.post(f"/api/v1/incidents/{low}/updates", json=customers)
    assert "choose from: internal" in refused.json()["detail"]  # customers hear of P1 and P2 only


async def test_the_preview_renders_without_sending(api: Api, sink: Sink) -> None:
    await lists(api, sink)
    ref = await p1_with_roles(api)
    preview = await ok(
        await api.responder.post(
            f"/api/v1/incidents/{ref}/updates/preview", json={"body": "Looking into it."}
        )
    )
    assert [(p["audience"], p["recipients"]) for p in preview] == [
        ("internal", 1),
        ("executives", 1),
        ("customers", 1),
    ]
    assert "Looking into it." in preview[0]["body"]
    assert preview[0]["subject"].endswith("update 1")
    assert (
        await api.viewer.post(f"/api/v1/incidents/{ref}/updates/preview", json={"body": "x"})
    ).status_code == 403
    await new_worker(api.context, periodic=()).run_once()
    assert sink.received == []
    assert [e["kind"] for e in await timeline(api, ref)].count("stakeholder_update") == 0


async def test_the_cadence_reminds_the_communications_lead_until_an_update_is_posted(
    api: Api, sink: Sink
) -> None:
    hook = {"kind": "webhook", "address": f"{sink.url}/lead", "label": "Hook"}
    await ok(await api.responder.post("/api/v1/me/contact-methods", json=hook), 201)
    ref = await p1_with_roles(api)  # declared at 10:00; a P1 wants an update every 30 minutes
    worker = new_worker(api.context)
    api.clock.advance(timedelta(minutes=29))
    await worker.run_once()
    assert sink.received == []
    assert (await ok(await api.responder.get(f"/api/v1/incidents/{ref}")))["update_overdue"] is False
    api.clock.advance(timedelta(minutes=2))
    await worker.run_once()
    await worker.run_once()
    assert [r["path"] for r in sink.received] == ["/lead"]
    reminder = sink.bodies()[0]
    assert reminder["subject"] == f"Stakeholder update due: {ref} Checkout is down"
    assert "was due at 2026-03-02 10:30 UTC" in reminder["body"]
    incident = await ok(await api.responder.get(f"/api/v1/incidents/{ref}"))
    assert incident["update_overdue"] is True
    last = (await timeline(api, ref))[-1]
    assert (last["kind"], last["actor"]) == ("update_reminder", "warroom: update cadence")
    assert last["data"]["reminded"] == api.emails["responder"]
    api.clock.advance(timedelta(minutes=29))
    await worker.run_once()
    assert len(sink.received) == 1  # once per cadence while it stays overdue
    api.clock.advance(timedelta(minutes=1))
    await worker.run_once()
    await worker.run_once()
    assert len(sink.received) == 2
    update = {"audience": "stakeholder", "body": "Rolled back.", "audiences": []}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/updates", json=update), 201)
    incident = await ok(await api.responder.get(f"/api/v1/incidents/{ref}"))
    assert incident["update_overdue"] is False
    assert incident["next_update_due_at"].startswith("2026-03-02T11:31:00")
    await fill_required_roles(api, ref)
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "fixed"}))
    api.clock.advance(timedelta(hours=3))
    await worker.run_once()
    assert len(sink.received) == 2  # a resolved incident owes no more updates
    assert (await ok(await api.responder.get(f"/api/v1/incidents/{ref}")))["next_update_due_at"] is None


async def test_a_severity_change_moves_the_due_time(api: Api) -> None:
    made = {"title": "Exports slow", "severity": "P3"}
    ref = (await ok(await api.responder.post("/api/v1/incidents", json=made), 201))["ref"]
    due = (await ok(await api.responder.get(f"/api/v1/incidents/{ref}")))["next_update_due_at"]
    assert due.startswith("2026-03-02T14:00:00")  # P3: every 4 hours
    raised = {"severity": "P1", "severity_reason": "all regions"}
    incident = await ok(await api.responder.patch(f"/api/v1/incidents/{ref}", json=raised))
    assert incident["next_update_due_at"].startswith("2026-03-02T10:30:00")


async def test_stakeholder_lists_refuse_bad_input(api: Api) -> None:
    path = "/api/v1/stakeholders"
    cases = [
        ({"audience": "press", "address": "a@b.co"}, 422, "unknown audience 'press'"),
        ({"audience": "internal", "address": "not-an-email"}, 422, "an email address"),
        ({"audience": "internal", "channel": "webhook", "address": "ftp://x"}, 422, "http:// or https://"),
        ({"audience": "internal", "channel": "sms", "address": "+1555"}, 422, "use one of"),
    ]
    for body, status, words in cases:
        response = await api.responder.post(path, json=body)
        assert response.status_code == status, body
        assert words in response.json()["detail"], response.json()
    assert (
        await api.viewer.post(path, json={"audience": "internal", "address": "a@b.co"})
    ).status_code == 403
    assert await ok(await api.viewer.get(path)) == []
    row = await ok(await api.responder.post(path, json={"audience": "internal", "address": "a@b.co"}), 201)
    duplicate = await api.responder.post(path, json={"audience": "internal", "address": "a@b.co"})
    assert duplicate.status_code == 409
    assert [r["address"] for r in await ok(await api.viewer.get(path, params={"audience": "internal"}))] == [
        "a@b.co"
    ]
    assert (await api.responder.delete(f"{path}/{row['id']}")).status_code == 204
    assert (await api.responder.delete(f"{path}/{row['id']}")).status_code == 404
    assert await ok(await api.viewer.get(path)) == []
