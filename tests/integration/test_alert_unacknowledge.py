"""POST /api/v1/alerts/{ref}/unacknowledge: the alert is triggered again and paging restarts from the first
step; the old walk's jobs do nothing. Time moves by the clock."""

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


async def setup(api: Api, sink: Sink) -> None:
    """Service `checkout`: responder at once, viewer after 5 minutes; one alert, `db-down`."""
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    for role in ("responder", "viewer"):
        await api.clients[role].post(
            "/api/v1/me/contact-methods", json={"kind": "webhook", "address": f"{sink.url}/{role}"}
        )
    steps = [
        {"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]},
        {"delay_seconds": 300, "targets": [{"type": "user", "ref": api.emails["viewer"]}]},
    ]
    policy = {"slug": "checkout", "name": "Checkout", "services": ["checkout"], "steps": steps}
    assert (await api.admin.post("/api/v1/escalation-policies", json=policy)).status_code == 201
    key = (
        await api.admin.post("/api/v1/integrations", json={"kind": "webhook", "service": "checkout"})
    ).json()["key"]
    sent = await api.anonymous.post(f"/intake/webhook/{key}", json={"id": "db-down", "title": "DB down"})
    assert sent.status_code == 202, sent.text


def paged(sink: Sink) -> list[str]:
    return [r["path"].lstrip("/") for r in sink.received]


async def alert_state(api: Api) -> tuple[Any, list[str]]:
    (alert,) = (await api.viewer.get("/api/v1/alerts")).json()["items"]
    events = (await api.viewer.get(f"/api/v1/alerts/{alert['id']}/events")).json()
    return alert, [e["action"] for e in events]


async def test_unacknowledging_restarts_paging_from_the_first_step(api: Api, sink: Sink) -> None:
    await setup(api, sink)
    incident = (await api.responder.post("/api/v1/incidents", json={"title": "DB", "severity": "P2"})).json()
    await api.responder.post("/api/v1/alerts/db-down/attach", json={"incident": incident["ref"]})
    worker = new_worker(api.context, periodic=())
    await worker.run_once()
    assert paged(sink) == ["responder"]
    api.clock.advance(timedelta(minutes=1))
    assert (await api.responder.post("/api/v1/alerts/db-down/acknowledge")).status_code == 200
    api.clock.advance(timedelta(minutes=1))
    answer = await api.responder.post("/api/v1/alerts/db-down/unacknowledge")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["acknowledged_by"]) == ("triggered", None)
    await worker.run_once()
    assert paged(sink) == ["responder", "responder"]  # the first step again, at once
    api.clock.advance(timedelta(minutes=3))  # when the first walk's second step was due
    await worker.run_once()
    assert paged(sink) == ["responder", "responder"]  # that old job does nothing
    api.clock.advance(timedelta(minutes=2))  # five minutes after the restart
    await worker.run_once()
    assert paged(sink) == ["responder", "responder", "viewer"]
    alert, actions = await alert_state(api)
    assert alert["status"] == "triggered"
    assert actions[-5:] == ["acknowledged", "unacknowledged", "repaged", "paged", "paged"]
    timeline = (await api.viewer.get(f"/api/v1/incidents/{incident['ref']}/timeline")).json()
    unacked = [e for e in timeline if e["kind"] == "alert_unacknowledged"]
    assert len(unacked) == 1 and unacked[0]["actor"] == api.emails["responder"]
    assert (await api.responder.post("/api/v1/alerts/db-down/acknowledge")).json()["status"] == "acknowledged"
    api.clock.advance(timedelta(hours=1))
    await worker.run_once()
    assert len(sink.received) == 3  # acknowledged again: paging stopped again


async def test_what_cannot_be_unacknowledged(api: Api, sink: Sink) -> None:
    await setup(api, sink)
    await new_worker(api.context, periodic=()).run_once()
    before, actions = await alert_state(api)
    same = await api.responder.post("/api/v1/alerts/db-down/unacknowledge")  # triggered: nothing to do
    assert same.status_code == 200 and same.json() == before
    assert (await alert_state(api))[1] == actions
    await api.responder.post("/api/v1/alerts/db-down/acknowledge")
    acked, actions = await alert_state(api)
    for role in ("viewer", "stakeholder"):
        denied = await api.clients[role].post(f"/api/v1/alerts/{acked['id']}/unacknowledge")
        assert denied.status_code == 403, role
    assert (await api.responder.post("/api/v1/alerts/99999/unacknowledge")).status_code == 404
    assert await alert_state(api) == (acked, actions)
    await api.responder.post(f"/api/v1/alerts/{acked['id']}/resolve")
    resolved, actions = await alert_state(api)
    refused = await api.responder.post(f"/api/v1/alerts/{acked['id']}/unacknowledge")
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    assert await alert_state(api) == (resolved, actions)
    api.clock.advance(timedelta(hours=1))
    await new_worker(api.context, periodic=()).run_once()
    assert paged(sink) == ["responder"]
