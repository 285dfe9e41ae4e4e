"""The status page's public JSON, field by field against Atlassian Statuspage's documented v2 shapes, and
its management API (problem+json errors, permissions, drafts, the internal incident's timeline line)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import START
from tests.integration.conftest import Api
from tests.integration.status_helpers import board, ok, publish

PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
INCIDENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
}
UPDATE_KEYS = {
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
}
V2 = "/status/api/v2"


async def public(api: Api, path: str) -> dict[str, Any]:
    response = await api.anonymous.get(f"{V2}/{path}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body["page"]) == PAGE_KEYS
    assert body["page"]["url"] == "http://127.0.0.1:8080/status" and body["page"]["time_zone"] == "Etc/UTC"
    return body


def is_time(value: Any) -> bool:
    return isinstance(value, str) and value.endswith("+00:00") and "T" in value


async def test_public_json_is_shaped_like_statuspage(api: Api) -> None:
    b = await board(api)
    assert (await public(api, "status.json"))["status"] == {
        "indicator": "none",
        "description": "All Systems Operational",
    }
    api.clock.advance(timedelta(minutes=5))
    made = await publish(
        api, "Slow API", [{"id": b.api_component, "status": "partial_outage"}], impact="major"
    )
    summary = await public(api, "summary.json")
    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert summary["page"]["updated_at"] == (START + timedelta(minutes=5)).isoformat(timespec="milliseconds")
    group, api_c, web_c, search_c = summary["components"]
    assert set(group) == COMPONENT_KEYS | {"components"} and set(api_c) == COMPONENT_KEYS
    assert group == {
        "id": str(b.group),
        "name": "Core",
        "status": "partial_outage",
        "created_at": group["created_at"],
        "updated_at": group["updated_at"],
        "position": 0,
        "description": None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": summary["page"]["id"],
        "group": True,
        "only_show_if_degraded": False,
        "components": [str(b.api_component), str(b.web_component)],
    }
    assert api_c["id"] == str(b.api_component) and api_c["group_id"] == str(b.group)
    assert (api_c["status"], web_c["status"], search_c["status"]) == (
        "partial_outage",
        "operational",
        "operational",
    )
    assert (
        search_c["group_id"] is None and search_c["position"] == 1 and search_c["description"] == "The Search"
    )
    assert all(is_time(c["created_at"]) and is_time(c["updated_at"]) for c in summary["components"])
    [incident] = summary["incidents"]
    assert set(incident) == INCIDENT_KEYS
    assert (
        incident["id"] == str(made["id"]) and incident["name"] == "Slow API" and incident["impact"] == "major"
    )
    assert incident["status"] == "investigating" and incident["monitoring_at"] is None
    assert incident["shortlink"] == f"http://127.0.0.1:8080/status/incidents/{made['id']}"
    assert [c["id"] for c in incident["components"]] == [str(b.api_component)]
    [update] = incident["incident_updates"]
    assert (
        set(update) == UPDATE_KEYS
        and update["incident_id"] == incident["id"]
        and isinstance(update["id"], str)
    )
    assert update["affected_components"] == [
        {
            "code": str(b.api_component),
            "name": "API",
            "old_status": "operational",
            "new_status": "partial_outage",
        }
    ]
    assert all(is_time(update[k]) for k in ("created_at", "updated_at", "display_at"))

    api.clock.advance(timedelta(minutes=10))
    monitoring = {"status": "monitoring", "body": "A fix is out; watching."}
    await ok(
        await api.responder.post(f"/api/v1/status-page/incidents/{made['id']}/updates", json=monitoring), 201
    )
    api.clock.advance(timedelta(minutes=10))
    resolved = {"status": "resolved", "body": "All good."}
    await ok(
        await api.responder.post(f"/api/v1/status-page/incidents/{made['id']}/updates", json=resolved), 201
    )
    assert (await public(api, "incidents/unresolved.json"))["incidents"] == []
    [done] = (await public(api, "incidents.json"))["incidents"]
    assert [u["status"] for u in done["incident_updates"]] == ["resolved", "monitoring", "investigating"]
    assert done["monitoring_at"] == (START + timedelta(minutes=15)).isoformat(timespec="milliseconds")
    assert done["resolved_at"] == (START + timedelta(minutes=25)).isoformat(timespec="milliseconds")
    assert done["incident_updates"][0]["affected_components"][0]["new_status"] == "operational"
    components = (await public(api, "components.json"))["components"]
    assert {c["status"] for c in components} == {"operational"}
    assert (await public(api, "status.json"))["status"]["indicator"] == "none"


async def test_public_maintenance_lists(api: Api) -> None:
    b = await board(api)
    window = {
        "name": "Database upgrade",
        "body": "Upgrading the primary.",
        "components": [b.search_component],
        "scheduled_for": (START + timedelta(hours=2)).isoformat(),
        "scheduled_until": (START + timedelta(hours=3)).isoformat(),
    }
    made = await ok(await api.responder.post("/api/v1/status-page/maintenances", json=window), 201)
    [upcoming] = (await public(api, "scheduled-maintenances/upcoming.json"))["scheduled_maintenances"]
    assert set(upcoming) == INCIDENT_KEYS | {"scheduled_for", "scheduled_until"}
    assert upcoming["id"] == str(made["id"]) and upcoming["status"] == "scheduled"
    assert upcoming["impact"] == "maintenance"
    assert upcoming["scheduled_for"] == (START + timedelta(hours=2)).isoformat(timespec="milliseconds")
    assert upcoming["scheduled_until"] == (START + timedelta(hours=3)).isoformat(timespec="milliseconds")
    assert (await public(api, "scheduled-maintenances/active.json"))["scheduled_maintenances"] == []
    assert len((await public(api, "scheduled-maintenances.json"))["scheduled_maintenances"]) == 1
    assert len((await public(api, "summary.json"))["scheduled_maintenances"]) == 1
    start = {"status": "in_progress", "body": "Starting early."}
    await ok(
        await api.responder.post(f"/api/v1/status-page/maintenances/{made['id']}/updates", json=start), 201
    )
    [active] = (await public(api, "scheduled-maintenances/active.json"))["scheduled_maintenances"]
    assert active["status"] == "in_progress" and active["components"][0]["status"] == "under_maintenance"
    assert (await public(api, "status.json"))["status"] == {
        "indicator": "none",
        "description": "Service Under Maintenance",
    }


async def test_management_rules_and_the_internal_timeline(api: Api) -> None:
    b = await board(api)
    incident = await ok(
        await api.responder.post("/api/v1/incidents", json={"title": "db", "severity": "P3"}), 201
    )
    # Permissions: a viewer reads, a responder may not change components, a stakeholder reads nothing.
    assert (await api.viewer.get("/api/v1/status-page/incidents")).status_code == 200
    refused = await api.responder.post("/api/v1/status-page/components", json={"name": "X"})
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert (await api.stakeholder.get("/api/v1/status-page/subscribers")).status_code == 403
    bad = await api.responder.post(
        "/api/v1/status-page/incidents",
        json={"name": "Bad", "body": "x", "components": [{"id": 999, "status": "major_outage"}]},
    )
    assert (
        bad.status_code == 404 and (await api.anonymous.get(f"{V2}/incidents.json")).json()["incidents"] == []
    )
    unknown = await api.responder.post(
        "/api/v1/status-page/incidents", json={"name": "Bad", "body": "x", "incident": "INC-999"}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "incident"
    # A draft moves nothing until published; publishing tells the linked incident's timeline.
    draft = await publish(
        api,
        "Checkout errors",
        [{"id": b.web_component, "status": "major_outage"}],
        publish=False,
        incident=incident["ref"],
    )
    assert draft["published"] is False and draft["incident"] == incident["ref"]
    assert (await api.anonymous.get(f"{V2}/components.json")).json()["components"][2][
        "status"
    ] == "operational"
    early = await api.responder.post(
        f"/api/v1/status-page/incidents/{draft['id']}/updates", json={"status": "identified", "body": "x"}
    )
    assert early.status_code == 409
    await ok(await api.responder.post(f"/api/v1/status-page/incidents/{draft['id']}/publish"))
    statuses = {
        c["name"]: c["status"]
        for c in (await api.anonymous.get(f"{V2}/components.json")).json()["components"]
    }
    assert statuses["Web"] == "major_outage" and statuses["Core"] == "major_outage"
    timeline = await ok(await api.responder.get(f"/api/v1/incidents/{incident['ref']}/timeline"))
    [line] = [e for e in timeline if e["kind"] == "status_page_updated"]
    assert line["data"]["status_incident_id"] == draft["id"] and line["data"]["status"] == "investigating"
    resolved = {"status": "resolved", "body": "Fixed."}
    await ok(
        await api.responder.post(f"/api/v1/status-page/incidents/{draft['id']}/updates", json=resolved), 201
    )
    reopen = await api.responder.post(
        f"/api/v1/status-page/incidents/{draft['id']}/updates", json={"status": "investigating", "body": "x"}
    )
    assert reopen.status_code == 409 and "cannot be reopened" in reopen.json()["detail"]
    timeline = await ok(await api.responder.get(f"/api/v1/incidents/{incident['ref']}/timeline"))
    assert [e["data"]["status"] for e in timeline if e["kind"] == "status_page_updated"] == [
        "investigating",
        "resolved",
    ]
