"""Changing schedules, their layers and overrides through the API: what changes, and what a refused change
leaves exactly as it was (re-read and compared)."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Api

WEEKLY = {
    "name": "weekly",
    "participants": ["responder@test.warroom", "viewer@test.warroom"],
    "start": "2026-03-02T09:00:00Z",
    "shift_length": 1,
    "shift_unit": "weeks",
    "time_zone": "UTC",
}


async def make_schedule(api: Api, slug: str = "ops", layers: list[dict[str, Any]] | None = None) -> Any:
    body = {"slug": slug, "name": slug.title(), "layers": [WEEKLY] if layers is None else layers}
    created = await api.admin.post("/api/v1/schedules", json=body)
    assert created.status_code == 201, created.text
    return created.json()


async def read(api: Api, path: str) -> Any:
    response = await api.viewer.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def who(api: Api, slug: str, days: int = 14) -> list[tuple[str, str | None]]:
    spans = await read(api, f"/api/v1/schedules/{slug}/final?days={days}")
    return [(s["start"], s["user"]) for s in spans]


async def test_renaming_a_schedule(api: Api) -> None:
    await make_schedule(api)
    await make_schedule(api, "web")
    changed = await api.admin.patch(
        "/api/v1/schedules/ops",
        json={"name": "Operations", "slug": "operations", "time_zone": "Europe/Berlin"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["slug"], changed.json()["name"], changed.json()["time_zone"]) == (
        "operations",
        "Operations",
        "Europe/Berlin",
    )
    assert (await api.viewer.get("/api/v1/schedules/ops")).status_code == 404
    before = await read(api, "/api/v1/schedules/operations")
    assert before["layers"][0]["name"] == "weekly"  # the layers are untouched
    refused = [
        ({"time_zone": "Mars/Olympus_Mons"}, 422),
        ({"name": None}, 422),
        ({"name": ""}, 422),
        ({"slug": "Not A Slug"}, 422),
        ({"colour": "red"}, 422),
        ({"slug": "web"}, 409),
    ]
    for body, status in refused:
        response = await api.admin.patch("/api/v1/schedules/operations", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    for role in ("responder", "viewer", "stakeholder"):
        denied = await api.clients[role].patch("/api/v1/schedules/operations", json={"name": "mine"})
        assert denied.status_code == 403, role
    assert await read(api, "/api/v1/schedules/operations") == before
    assert (await api.admin.patch("/api/v1/schedules/nope", json={"name": "x"})).status_code == 404


async def test_changing_a_layer_changes_who_is_on_call(api: Api) -> None:
    schedule = await make_schedule(api)
    layer_id = schedule["layers"][0]["id"]
    assert await who(api, "ops", days=10) == [
        ("2026-03-02T10:00:00Z", "responder@test.warroom"),
        ("2026-03-09T09:00:00Z", "viewer@test.warroom"),
    ]
    body = {
        "participants": ["viewer@test.warroom", "admin@test.warroom"],
        "shift_length": 3,
        "shift_unit": "days",
    }
    changed = await api.admin.patch(f"/api/v1/schedules/ops/layers/{layer_id}", json=body)
    assert changed.status_code == 200, changed.text
    (layer,) = changed.json()["layers"]
    assert (layer["id"], layer["participants"], layer["shift"]) == (
        layer_id,
        ["viewer@test.warroom", "admin@test.warroom"],
        "3 days",
    )
    assert await who(api, "ops", days=5) == [
        ("2026-03-02T10:00:00Z", "viewer@test.warroom"),
        ("2026-03-05T09:00:00Z", "admin@test.warroom"),
    ]
    ended = await api.admin.patch(
        f"/api/v1/schedules/ops/layers/{layer_id}", json={"end": "2026-03-04T09:00:00Z", "name": "short"}
    )
    assert ended.status_code == 200 and ended.json()["layers"][0]["end"] == "2026-03-04T09:00:00+00:00"
    assert [u for _, u in await who(api, "ops", days=3)] == ["viewer@test.warroom", None]  # then a gap
    reopened = await api.admin.patch(f"/api/v1/schedules/ops/layers/{layer_id}", json={"end": None})
    assert reopened.status_code == 200 and reopened.json()["layers"][0]["end"] is None


async def test_a_refused_layer_change_changes_nothing(api: Api) -> None:
    schedule = await make_schedule(api, layers=[WEEKLY, {**WEEKLY, "name": "second", "priority": 1}])
    layer_id = schedule["layers"][0]["id"]
    path = f"/api/v1/schedules/ops/layers/{layer_id}"
    before = await read(api, "/api/v1/schedules/ops")
    refused = [
        ({"end": "2026-03-01T00:00:00Z"}, 422),  # before the start
        ({"participants": ["nobody@example.org"]}, 422),
        ({"participants": []}, 422),
        ({"time_zone": "Nowhere/Special"}, 422),
        ({"start": "2026-03-02T09:00:00"}, 422),  # no offset
        ({"shift_unit": "months"}, 422),
        ({"restrictions": [{"days": [], "start": "09:00", "end": "17:00"}]}, 422),
        ({"participants": None}, 422),
        ({"name": "second"}, 409),
    ]
    for body, status in refused:
        response = await api.admin.patch(path, json=body)
        assert response.status_code == status, (body, response.text)
    denied = await api.responder.patch(path, json={"priority": 9})
    assert denied.status_code == 403
    assert (await api.viewer.delete(path)).status_code == 403
    assert await read(api, "/api/v1/schedules/ops") == before
    other = await make_schedule(api, "web")
    elsewhere = f"/api/v1/schedules/web/layers/{layer_id}"  # a layer of another schedule
    assert (await api.admin.patch(elsewhere, json={"priority": 2})).status_code == 404
    assert (await api.admin.delete(elsewhere)).status_code == 404
    assert (
        await api.admin.patch("/api/v1/schedules/ops/layers/99999", json={"priority": 2})
    ).status_code == 404
    assert await read(api, "/api/v1/schedules/ops") == before
    assert other["layers"][0]["id"] != layer_id


async def test_deleting_a_layer(api: Api) -> None:
    schedule = await make_schedule(api, layers=[WEEKLY, {**WEEKLY, "name": "cover", "priority": 1}])
    top = schedule["layers"][1]["id"]
    assert (await api.admin.delete(f"/api/v1/schedules/ops/layers/{top}")).status_code == 204
    assert [layer["name"] for layer in (await read(api, "/api/v1/schedules/ops"))["layers"]] == ["weekly"]
    assert (await api.admin.delete(f"/api/v1/schedules/ops/layers/{top}")).status_code == 404
    last = schedule["layers"][0]["id"]
    assert (await api.admin.delete(f"/api/v1/schedules/ops/layers/{last}")).status_code == 204
    assert [u for _, u in await who(api, "ops", days=2)] == [None]  # nobody: one gap


async def test_listing_and_changing_overrides(api: Api) -> None:
    await make_schedule(api)
    cover = {
        "user": "admin@test.warroom",
        "starts_at": "2026-03-03T00:00:00Z",
        "ends_at": "2026-03-04T00:00:00Z",
    }
    created = await api.responder.post("/api/v1/schedules/ops/overrides", json=cover)
    assert created.status_code == 201, created.text
    override = created.json()
    assert (override["user"], override["source"], override["created_by"]) == (
        "admin@test.warroom",
        "override",
        "responder@test.warroom",
    )
    listed = await read(api, "/api/v1/schedules/ops/overrides")
    assert [o["id"] for o in listed] == [override["id"]]
    assert await read(api, "/api/v1/schedules/ops/overrides?since=2026-03-05T00:00:00Z") == []
    assert (await api.stakeholder.get("/api/v1/schedules/ops/overrides")).status_code == 403
    path = f"/api/v1/schedules/ops/overrides/{override['id']}"
    moved = await api.responder.patch(
        path, json={"user": "viewer@test.warroom", "ends_at": "2026-03-05T00:00:00Z"}
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["user"], moved.json()["start"], moved.json()["end"]) == (
        "viewer@test.warroom",
        "2026-03-03T00:00:00Z",
        "2026-03-05T00:00:00Z",
    )
    at = await read(api, "/api/v1/oncall?at=2026-03-04T12:00:00Z")
    assert (at[0]["user"], at[0]["source"]) == ("viewer@test.warroom", "override")
    before = await read(api, "/api/v1/schedules/ops/overrides")
    refused = [
        ({"ends_at": "2026-03-02T00:00:00Z"}, 422),  # before its start
        ({"starts_at": "2026-03-06T00:00:00Z"}, 422),  # after its end
        ({"user": "nobody@example.org"}, 422),
        ({"user": None}, 422),
        ({"starts_at": "tomorrow"}, 422),
    ]
    for body, status in refused:
        response = await api.responder.patch(path, json=body)
        assert response.status_code == status, (body, response.text)
    assert (await api.viewer.patch(path, json={"user": "viewer@test.warroom"})).status_code == 403
    assert (await api.stakeholder.patch(path, json={"user": "viewer@test.warroom"})).status_code == 403
    assert (await api.responder.patch("/api/v1/schedules/ops/overrides/99999", json={})).status_code == 404
    assert (
        await api.responder.patch(f"/api/v1/schedules/nope/overrides/{override['id']}", json={})
    ).status_code == 404
    assert await read(api, "/api/v1/schedules/ops/overrides") == before
