"""An overdue action item reminds its owner through their contact methods: delivered by the worker to a
local webhook sink, once a day, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.conftest import START
from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from warroom.wiring import new_worker


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


async def test_an_overdue_action_item_reminds_its_owner_once_a_day(api: Api, sink: Sink) -> None:
    hook = {"kind": "webhook", "address": f"{sink.url}/owner", "label": "Hook"}
    assert (await api.responder.post("/api/v1/me/contact-methods", json=hook)).status_code == 201
    incident = await api.responder.post("/api/v1/incidents", json={"title": "Search slow", "severity": "P3"})
    ref = incident.json()["ref"]
    item = {"title": "Add a search latency alert", "owner": api.emails["responder"],
            "due_on": (START + timedelta(days=2)).date().isoformat()}  # fmt: skip
    made = await api.responder.post(f"/api/v1/incidents/{ref}/review/action-items", json=item)
    assert made.status_code == 201, made.text
    worker = new_worker(api.context)
    await worker.run_once()
    assert sink.received == []  # not due yet
    api.clock.advance(timedelta(days=3))
    await worker.run_once()
    await worker.run_once()
    assert [r["path"] for r in sink.received] == ["/owner"]
    body = sink.bodies()[0]
    assert body["subject"] == f"Overdue follow-up from {ref}: Add a search latency alert"
    assert "overdue since 2026-03-04" in body["body"] and f"/incidents/{ref}" in body["body"]
    await worker.run_once()
    assert len(sink.received) == 1  # once a day
    api.clock.advance(timedelta(days=1))
    await worker.run_once()
    await worker.run_once()
    assert len(sink.received) == 2
    done = await api.responder.patch(f"/api/v1/action-items/{made.json()['id']}", json={"status": "done"})
    assert done.status_code == 200
    api.clock.advance(timedelta(days=1))
    await worker.run_once()
    await worker.run_once()
    assert len(sink.received) == 2  # done items rest
