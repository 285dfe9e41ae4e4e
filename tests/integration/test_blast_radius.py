"""Blast radius (issue #14 item 12) on both databases: services say what they depend on (no self, unknown or
cycle); an incident shows upstream services in trouble (the likely cause) and downstream ones (likely
affected), naming only incidents the viewer may see, and offers to add a downstream service."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Api
from tests.integration.web_helpers import open_web


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def declare(api: Api, role: str, **body: Any) -> Any:
    made = await api.clients[role].post("/api/v1/incidents", json={"severity": "P2", **body})
    return await ok(made, 201)


async def catalog(api: Api) -> None:
    for slug in ("web", "checkout", "payments", "db", "search"):
        await ok(await api.admin.post("/api/v1/services", json={"slug": slug, "name": slug.title()}), 201)
    for slug, needs in (("web", ["checkout", "search"]), ("checkout", ["payments"]), ("payments", ["db"])):
        answer = await ok(
            await api.admin.put(f"/api/v1/services/{slug}/dependencies", json={"depends_on": needs})
        )
        assert answer["depends_on"] == needs


async def test_dependencies_refuse_themselves_unknowns_and_cycles(api: Api) -> None:
    await catalog(api)
    path = "/api/v1/services/db/dependencies"
    cycle = await api.admin.put(path, json={"depends_on": ["web"]})
    assert cycle.status_code == 422 and "web already depends on db: that would be a cycle" in cycle.text
    assert (await api.admin.put(path, json={"depends_on": ["db"]})).status_code == 422
    unknown = await api.admin.put(path, json={"depends_on": ["nope"]})
    assert unknown.status_code == 422 and "no service nope" in unknown.text
    assert (await api.responder.put(path, json={"depends_on": []})).status_code == 403
    assert (await ok(await api.viewer.get("/api/v1/services/web/dependencies")))["depends_on"] == [
        "checkout",
        "search",
    ]
    assert (await ok(await api.viewer.get(path)))["depends_on"] == []


async def test_upstream_trouble_and_downstream_reach(api: Api) -> None:
    await catalog(api)
    key = (
        await ok(
            await api.admin.post("/api/v1/integrations", json={"kind": "pagerduty", "service": "db"}), 201
        )
    )["key"]
    payload = {"summary": "db down", "source": "db", "severity": "critical"}
    event = {"routing_key": key, "event_action": "trigger", "payload": payload}
    assert (await api.anonymous.post("/v2/enqueue", json=event)).status_code == 202
    on_db = await declare(api, "admin", title="DB", services=["db"])
    hidden = await declare(api, "admin", title="x", type="security", services=["payments"])
    assert hidden["restricted"] is True
    mine = await declare(api, "responder", title="Checkout errors", services=["checkout"])
    radius = await ok(await api.responder.get(f"/api/v1/incidents/{mine['ref']}/blast-radius"))
    up = {n["service"]: n for n in radius["upstream"]}
    assert set(up) == {"payments", "db"}
    assert (up["db"]["depth"], up["db"]["open_alerts"], up["db"]["incidents"]) == (2, 1, [on_db["ref"]])
    assert up["payments"]["incidents"] == [] and up["payments"]["hidden_incidents"] == 1  # counted, not named
    assert [(n["service"], n["depth"], n["in_incident"]) for n in radius["downstream"]] == [("web", 1, False)]
    admin_view = await ok(await api.admin.get(f"/api/v1/incidents/{mine['ref']}/blast-radius"))
    assert {n["service"]: n["incidents"] for n in admin_view["upstream"]}["payments"] == [hidden["ref"]]
    async with open_web(api) as web:
        added = await web["responder"].post(f"/incidents/{mine['ref']}/services/add", {"service": "web"})
        assert added.status_code == 303
        again = await web["responder"].post(f"/incidents/{mine['ref']}/services/add", {"service": "web"})
        assert again.status_code == 409
    shown = await ok(await api.viewer.get(f"/api/v1/incidents/{mine['ref']}"))
    assert shown["services"] == ["checkout", "web"]
    radius = await ok(await api.responder.get(f"/api/v1/incidents/{mine['ref']}/blast-radius"))
    assert radius["downstream"] == []  # web is now in it, and nothing depends on web
