from __future__ import annotations

from tests.integration.conftest import Api, fill_required_roles


async def test_declare_assign_contain_resolve_lands_on_timeline(api: Api) -> None:
    created = await api.responder.post("/api/v1/incidents", json={"title": "Checkout down", "severity": "P1"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["ref"] == f"INC-{body['id']}"
    assert (body["severity"], body["phase"], body["status"]) == ("P1", "triage", "active")
    ref = body["ref"]

    assigned = await api.responder.post(
        f"/api/v1/incidents/{ref}/roles", json={"role": "incident_commander", "user": api.emails["responder"]}
    )
    assert assigned.status_code == 200, assigned.text
    moved = await api.responder.post(
        f"/api/v1/incidents/{ref}/phase", json={"phase": "containment", "reason": "impact clear"}
    )
    assert moved.status_code == 200, moved.text
    await fill_required_roles(api, ref)
    resolved = await api.responder.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "fixed"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"

    timeline = (await api.responder.get(f"/api/v1/incidents/{ref}/timeline")).json()
    kinds = [e["kind"] for e in timeline]
    assert kinds[:2] == ["detected", "declared"]
    assert "role_assigned" in kinds and "acknowledged" in kinds and "resolved" in kinds
    assert [e["data"].get("new") for e in timeline if e["kind"] == "phase_changed"] == [
        "containment",
        "review",
    ]
