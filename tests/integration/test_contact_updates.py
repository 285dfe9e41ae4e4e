"""Changing and removing my contact methods and notification rules. Each person manages their own (every
role may, since anyone can be paged): someone else's are 404 and stay as they were."""

from __future__ import annotations

from typing import Any

from tests.fakes.sink import running_sink
from tests.integration.conftest import Api
from warroom.wiring import new_worker

METHODS = "/api/v1/me/contact-methods"
RULES = "/api/v1/me/notification-rules"


async def add_method(api: Api, role: str, **body: Any) -> Any:
    created = await api.clients[role].post(
        METHODS, json={"kind": "email", "address": f"{role}@example.org", **body}
    )
    assert created.status_code == 201, created.text
    return created.json()


async def mine(api: Api, role: str, path: str) -> Any:
    return (await api.clients[role].get(path)).json()


async def test_changing_a_contact_method(api: Api) -> None:
    method = await add_method(api, "responder", label="work mail")
    path = f"{METHODS}/{method['id']}"
    changed = await api.responder.patch(path, json={"label": "phone", "address": "ops@example.org"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {**method, "label": "phone", "address": "ops@example.org"}
    hook = await api.responder.patch(path, json={"kind": "webhook", "address": "https://hooks.example.org/p"})
    assert (hook.json()["kind"], hook.json()["address"]) == ("webhook", "https://hooks.example.org/p")
    before = await mine(api, "responder", METHODS)
    refused = [
        {"kind": "email"},  # the address kept is not an email address
        {"address": "not a url"},
        {"kind": "carrier-pigeon"},
        {"address": None},
        {"address": "ab"},
        {"priority": 1},
    ]
    for body in refused:
        response = await api.responder.patch(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    for role in ("admin", "viewer", "stakeholder"):  # not theirs
        assert (await api.clients[role].patch(path, json={"label": "taken"})).status_code == 404, role
    assert (await api.responder.patch(f"{METHODS}/99999", json={"label": "x"})).status_code == 404
    assert await mine(api, "responder", METHODS) == before
    own = await add_method(api, "stakeholder")
    relabelled = await api.stakeholder.patch(f"{METHODS}/{own['id']}", json={"label": "mine"})
    assert relabelled.status_code == 200 and relabelled.json()["label"] == "mine"


async def test_changing_and_deleting_a_notification_rule(api: Api) -> None:
    mail = await add_method(api, "viewer")
    hook = await add_method(api, "viewer", kind="webhook", address="https://hooks.example.org/v")
    created = await api.viewer.post(RULES, json={"contact_method": mail["id"], "delay_seconds": 0})
    rule = created.json()
    path = f"{RULES}/{rule['id']}"
    body = {"contact_method": hook["id"], "delay_seconds": 120, "urgency": "low"}
    changed = await api.viewer.patch(path, json=body)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"id": rule["id"], **body}
    before = await mine(api, "viewer", RULES)
    others = await add_method(api, "responder")
    for bad in (
        {"urgency": "medium"},
        {"contact_method": others["id"]},  # someone else's method
        {"contact_method": 99999},
        {"delay_seconds": -1},
        {"delay_seconds": None},
    ):
        response = await api.viewer.patch(path, json=bad)
        assert response.status_code == 422, (bad, response.text)
    for role in ("admin", "responder", "stakeholder"):
        assert (await api.clients[role].patch(path, json={"delay_seconds": 5})).status_code == 404, role
        assert (await api.clients[role].delete(path)).status_code == 404, role
    assert await mine(api, "viewer", RULES) == before
    assert (await api.viewer.delete(path)).status_code == 204
    assert await mine(api, "viewer", RULES) == []
    assert (await api.viewer.delete(path)).status_code == 404
    assert (await api.viewer.patch(path, json={"delay_seconds": 5})).status_code == 404


async def test_the_next_page_goes_to_the_changed_address(api: Api) -> None:
    with running_sink() as sink:
        method = await add_method(api, "responder", kind="webhook", address=f"{sink.url}/old")
        moved = await api.responder.patch(f"{METHODS}/{method['id']}", json={"address": f"{sink.url}/new"})
        assert moved.status_code == 200, moved.text
        await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"})
        steps = [{"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]}]
        policy = {"slug": "web", "name": "Web", "services": ["web"], "steps": steps}
        assert (await api.admin.post("/api/v1/escalation-policies", json=policy)).status_code == 201
        key = (
            await api.admin.post("/api/v1/integrations", json={"kind": "webhook", "service": "web"})
        ).json()["key"]
        await api.anonymous.post(f"/intake/webhook/{key}", json={"id": "5xx", "title": "errors"})
        await new_worker(api.context, periodic=()).run_once()
        assert [r["path"] for r in sink.received] == ["/new"]
