"""Scheduled maintenance run by the real worker's periodic check as the frozen clock crosses its window:
components go under maintenance when it opens and back to what they were when it closes; the public
page and JSON follow, and subscribers hear of each step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.conftest import START
from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from tests.integration.status_helpers import board, ok
from warroom.wiring import new_worker


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


async def statuses(api: Api) -> dict[str, str]:
    found = (await api.anonymous.get("/status/api/v2/components.json")).json()["components"]
    return {c["name"]: c["status"] for c in found}


async def test_the_window_moves_components_and_the_maintenance(api: Api, sink: Sink) -> None:
    b = await board(api)
    await ok(
        await api.responder.post(
            "/api/v1/status-page/subscribers", json={"kind": "webhook", "address": sink.url}
        ),
        201,
    )
    # Search is degraded before the window; it must come back degraded, not "operational".
    await ok(
        await api.admin.patch(
            f"/api/v1/status-page/components/{b.search_component}", json={"status": "degraded_performance"}
        )
    )
    window = {
        "name": "Database upgrade",
        "body": "Upgrading the primary database.",
        "components": [b.api_component, b.search_component],
        "scheduled_for": (START + timedelta(hours=1)).isoformat(),
        "scheduled_until": (START + timedelta(hours=2)).isoformat(),
    }
    made = await ok(await api.responder.post("/api/v1/status-page/maintenances", json=window), 201)
    worker = new_worker(api.context)
    await worker.run_once()
    assert (await statuses(api))["API"] == "operational"
    api.clock.advance(timedelta(minutes=59))
    await worker.run_once()
    assert (await statuses(api))["API"] == "operational"

    api.clock.advance(timedelta(minutes=1))
    await worker.run_once()
    now = await statuses(api)
    assert (now["API"], now["Search"], now["Web"]) == (
        "under_maintenance",
        "under_maintenance",
        "operational",
    )
    active = (await api.anonymous.get("/status/api/v2/scheduled-maintenances/active.json")).json()
    assert [m["id"] for m in active["scheduled_maintenances"]] == [str(made["id"])]
    page = await api.anonymous.get("/status")
    assert "Database upgrade" in page.text and "In progress" in page.text

    api.clock.advance(timedelta(hours=1))
    await worker.run_once()
    now = await statuses(api)
    assert (now["API"], now["Search"]) == ("operational", "degraded_performance")
    shown = await ok(await api.viewer.get("/api/v1/status-page/maintenances"))
    assert shown[0]["status"] == "completed"
    assert [u["status"] for u in shown[0]["updates"]] == ["completed", "in_progress", "scheduled"]
    assert shown[0]["resolved_at"] is not None
    assert [d["incident"]["status"] for d in sink.bodies()] == ["scheduled", "in_progress", "completed"]
    await worker.run_once()
    assert len(sink.received) == 3  # nothing more once completed


async def test_a_window_missed_whole_still_starts_and_completes(api: Api) -> None:
    b = await board(api)
    window = {
        "name": "Quick patch",
        "body": "Patching.",
        "components": [b.web_component],
        "scheduled_for": (START + timedelta(minutes=10)).isoformat(),
        "scheduled_until": (START + timedelta(minutes=20)).isoformat(),
    }
    await ok(await api.responder.post("/api/v1/status-page/maintenances", json=window), 201)
    bad = dict(window, scheduled_until=window["scheduled_for"])
    refused = await api.responder.post("/api/v1/status-page/maintenances", json=bad)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "scheduled_until"
    api.clock.advance(timedelta(hours=1))  # the worker was away for the whole window
    await new_worker(api.context).run_once()
    [shown] = await ok(await api.viewer.get("/api/v1/status-page/maintenances"))
    assert [u["status"] for u in shown["updates"]] == ["completed", "in_progress", "scheduled"]
    assert (await statuses(api))["Web"] == "operational"
