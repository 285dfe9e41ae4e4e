"""The status page management page in the signed-in UI on both databases: a responder publishes a status
incident with component statuses, posts an update, publishes a draft and schedules maintenance; a refused
form changes nothing; a viewer sees no forms; forms without the CSRF token are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.conftest import Api
from tests.integration.status_helpers import board, ok
from tests.integration.web_helpers import Web, open_web, text_of

V2 = "/status/api/v2"


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Web]:
    async with open_web(api) as found:
        yield found


async def test_a_responder_runs_the_status_page_from_the_ui(web: Web) -> None:
    api = web.api
    b = await board(api)
    responder = web["responder"]
    page = await responder.client.get("/status-page")
    assert page.status_code == 200 and "Publish a status incident" in page.text
    assert 'href="/status-page"' in (await responder.client.get("/services")).text
    form = {
        "name": "Checkout is failing",
        "status": "investigating",
        "impact": "major",
        "body": "Some payments fail.",
        f"component-{b.web_component}": "partial_outage",
        f"component-{b.api_component}": "",
    }
    made = await responder.post("/status-page/incidents", form)
    assert made.status_code == 303
    followed = await responder.client.get("/status-page")
    assert "Published: Checkout is failing" in followed.text
    components = {
        c["name"]: c["status"]
        for c in (await api.anonymous.get(f"{V2}/components.json")).json()["components"]
    }
    assert (components["Web"], components["API"]) == ("partial_outage", "operational")
    [incident] = (await api.anonymous.get(f"{V2}/incidents/unresolved.json")).json()["incidents"]
    update = {
        "status": "resolved",
        "body": "Payments work again.",
        f"component-{b.web_component}": "operational",
    }
    assert (
        await responder.post(f"/status-page/incidents/{incident['id']}/updates", update)
    ).status_code == 303
    assert (await api.anonymous.get(f"{V2}/incidents/unresolved.json")).json()["incidents"] == []

    draft = {
        "name": "Quiet draft",
        "status": "identified",
        "impact": "minor",
        "body": "Not yet.",
        "draft": "yes",
    }
    await responder.post("/status-page/incidents", draft)
    assert "Quiet draft" not in (await api.anonymous.get("/status")).text
    drafts = await ok(await api.viewer.get("/api/v1/status-page/incidents"))
    [quiet] = [d for d in drafts if d["name"] == "Quiet draft"]
    assert quiet["published"] is False
    await responder.post(f"/status-page/incidents/{quiet['id']}/publish", {})
    assert "Quiet draft" in (await api.anonymous.get("/status")).text

    window = {
        "name": "Network work",
        "body": "Swapping switches.",
        "scheduled_for": "2026-03-05T01:00",
        "scheduled_until": "2026-03-05T02:00",
        "components": str(b.search_component),
    }
    assert (await responder.post("/status-page/maintenances", window)).status_code == 303
    [planned] = (await api.anonymous.get(f"{V2}/scheduled-maintenances/upcoming.json")).json()[
        "scheduled_maintenances"
    ]
    assert planned["scheduled_for"] == "2026-03-05T01:00:00.000+00:00"
    assert [c["name"] for c in planned["components"]] == ["Search"]


async def test_refusals_change_nothing(web: Web) -> None:
    api = web.api
    await board(api)
    responder = web["responder"]
    blank = await responder.post(
        "/status-page/incidents", {"name": "", "status": "investigating", "body": ""}
    )
    assert blank.status_code == 303
    shown = text_of((await responder.client.get("/status-page")).text)
    assert "name:" in shown and "is required" in shown
    backwards = {
        "name": "W",
        "body": "x",
        "scheduled_for": "2026-03-05T02:00",
        "scheduled_until": "2026-03-05T01:00",
    }
    await responder.post("/status-page/maintenances", backwards)
    assert "must be after scheduled_for" in text_of((await responder.client.get("/status-page")).text)
    assert await ok(await api.viewer.get("/api/v1/status-page/incidents")) == []
    assert await ok(await api.viewer.get("/api/v1/status-page/maintenances")) == []
    forged = await responder.client.post("/status-page/incidents", data={"name": "x", "body": "y"})
    assert forged.status_code == 403
    viewer = await web["viewer"].client.get("/status-page")
    assert viewer.status_code == 200 and "Publish a status incident" not in viewer.text
    refused = await web["viewer"].post("/status-page/incidents", {"name": "x", "body": "y"})
    assert refused.status_code == 403
