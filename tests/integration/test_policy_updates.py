"""Reading and changing escalation policies, and what an edit does to alerts already being paged: they walk
the new steps from where they were, and a policy now shorter than that pages its last step. Time moves by
the clock; the worker runs what is due."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from warroom.wiring import new_worker


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


def step(delay: int, *people: str) -> dict[str, Any]:
    return {"delay_seconds": delay, "targets": [{"type": "user", "ref": f"{p}@test.warroom"} for p in people]}


async def make_policy(api: Api, steps: list[dict[str, Any]], **extra: Any) -> Any:
    body = {"slug": "checkout", "name": "Checkout", "steps": steps, **extra}
    created = await api.admin.post("/api/v1/escalation-policies", json=body)
    assert created.status_code == 201, created.text
    return created.json()


async def paging_setup(api: Api, sink: Sink) -> None:
    """Service `checkout` on three steps (responder now, viewer +5 min, admin +5 min), and one alert."""
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    for role in ("admin", "responder", "viewer"):
        method = await api.clients[role].post(
            "/api/v1/me/contact-methods", json={"kind": "webhook", "address": f"{sink.url}/{role}"}
        )
        assert method.status_code == 201, method.text
    await make_policy(
        api, [step(0, "responder"), step(300, "viewer"), step(300, "admin")], services=["checkout"]
    )
    integration = await api.admin.post(
        "/api/v1/integrations", json={"kind": "webhook", "service": "checkout"}
    )
    key = integration.json()["key"]
    sent = await api.anonymous.post(f"/intake/webhook/{key}", json={"id": "db-down", "title": "DB down"})
    assert sent.status_code == 202, sent.text


def paged(sink: Sink) -> list[str]:
    return [r["path"].lstrip("/") for r in sink.received]


async def test_reading_and_changing_a_policy(api: Api) -> None:
    for slug in ("checkout", "search"):
        await api.admin.post("/api/v1/services", json={"slug": slug, "name": slug.title()})
    created = await make_policy(api, [step(0, "responder")], services=["checkout"], unack_timeout_seconds=600)
    assert (await api.viewer.get("/api/v1/escalation-policies/checkout")).json() == created
    body = {
        "name": "Checkout and search",
        "repeat": 2,
        "unack_timeout_seconds": None,
        "steps": [step(0, "viewer"), step(120, "admin", "responder")],
        "services": ["search"],
    }
    changed = await api.admin.patch("/api/v1/escalation-policies/checkout", json=body)
    assert changed.status_code == 200, changed.text
    policy = changed.json()
    assert (policy["name"], policy["repeat"], policy["unack_timeout_seconds"], policy["services"]) == (
        "Checkout and search",
        2,
        None,
        ["search"],
    )
    assert [(s["delay_seconds"], len(s["targets"])) for s in policy["steps"]] == [(0, 1), (120, 2)]
    renamed = await api.admin.patch("/api/v1/escalation-policies/checkout", json={"name": "Only the name"})
    assert renamed.json() == {**policy, "name": "Only the name"}  # what was not sent stays
    assert (await api.viewer.get("/api/v1/escalation-policies/nope")).status_code == 404
    assert (await api.admin.patch("/api/v1/escalation-policies/nope", json={"repeat": 1})).status_code == 404


async def test_a_refused_policy_change_changes_nothing(api: Api) -> None:
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    await make_policy(api, [step(0, "responder"), step(60, "viewer")], services=["checkout"])
    path = "/api/v1/escalation-policies/checkout"
    before = (await api.viewer.get(path)).json()
    refused = [
        {"steps": [step(0, "viewer"), step(60, "nobody")]},  # the second step's target is unknown
        {"steps": [{"delay_seconds": 0, "targets": [{"type": "rota", "ref": "x"}]}]},
        {"steps": []},
        {"steps": None},
        {"name": "ok", "services": ["checkout", "no-such-service"]},
        {"repeat": 99},
        {"unack_timeout_seconds": 5},
        {"name": None},
        {"slug": "renamed"},
    ]
    for body in refused:
        response = await api.admin.patch(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    for role in ("responder", "viewer", "stakeholder"):
        assert (await api.clients[role].patch(path, json={"name": "mine"})).status_code == 403, role
    assert (await api.stakeholder.get(path)).status_code == 403
    assert (await api.viewer.get(path)).json() == before  # steps, services and all


async def test_a_running_escalation_walks_the_new_steps_from_where_it_was(api: Api, sink: Sink) -> None:
    await paging_setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await worker.run_once()
    assert paged(sink) == ["responder"]  # step 0 done; step 1 (viewer) is due in 5 minutes
    new_steps = [step(0, "viewer"), step(60, "admin"), step(600, "viewer")]
    changed = await api.admin.patch("/api/v1/escalation-policies/checkout", json={"steps": new_steps})
    assert changed.status_code == 200, changed.text
    api.clock.advance(timedelta(minutes=4))
    await worker.run_once()
    assert paged(sink) == ["responder"]  # the step already scheduled keeps its time...
    api.clock.advance(timedelta(minutes=1))
    await worker.run_once()
    assert paged(sink) == ["responder", "admin"]  # ...and is the new policy's step 1
    api.clock.advance(timedelta(minutes=9))
    await worker.run_once()
    assert paged(sink) == ["responder", "admin"]  # the new step 2 waits its own 10 minutes
    api.clock.advance(timedelta(minutes=1))
    await worker.run_once()
    assert paged(sink) == ["responder", "admin", "viewer"]
    api.clock.advance(timedelta(hours=2))
    await worker.run_once()
    assert len(sink.received) == 3  # done: no repeat


async def test_a_policy_shortened_under_a_running_escalation_pages_its_last_step(
    api: Api, sink: Sink
) -> None:
    await paging_setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await worker.run_once()
    api.clock.advance(timedelta(minutes=5))
    await worker.run_once()
    assert paged(sink) == ["responder", "viewer"]  # next: step 2, in 5 minutes
    shorter = {"steps": [step(0, "responder")]}
    assert (await api.admin.patch("/api/v1/escalation-policies/checkout", json=shorter)).status_code == 200
    api.clock.advance(timedelta(minutes=5))
    assert await worker.run_once() >= 1
    assert paged(sink) == ["responder", "viewer", "responder"]  # step 2 is gone: the last step pages
    api.clock.advance(timedelta(hours=2))
    await worker.run_once()
    assert len(sink.received) == 3
    (alert,) = (await api.viewer.get("/api/v1/alerts")).json()["items"]
    events = (await api.viewer.get(f"/api/v1/alerts/{alert['id']}/events")).json()
    assert [(e["action"], e["data"].get("user")) for e in events if e["action"] == "paged"] == [
        ("paged", "responder@test.warroom"),
        ("paged", "viewer@test.warroom"),
        ("paged", "responder@test.warroom"),
    ]
    still = await api.responder.post(f"/api/v1/alerts/{alert['id']}/acknowledge")
    assert still.status_code == 200 and still.json()["status"] == "acknowledged"
