"""Preparedness (issue #17): per service (alerts arriving, on call for 14 days, a playbook, a drill in 90
days, stakeholder lists) and per responder (on a rotation, a contact method a test reached, drilled in the
quarter), each with a score and what to fix; the API, the page and `warroom preparedness` agree. Both
databases; the scores are worked out by hand below."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import START
from tests.integration.conftest import Api
from tests.integration.web_helpers import open_web, text_of
from warroom.wiring import new_worker


async def _world(api: Api) -> None:
    """checkout: a policy on the `primary` schedule (the responder, every week), an integration that has
    sent an alert, a drill with the responder as commander. search: none of that."""
    for slug in ("checkout", "search"):
        assert (
            await api.admin.post("/api/v1/services", json={"slug": slug, "name": slug.title()})
        ).status_code == 201
    layer = {"name": "all week", "participants": [api.emails["responder"]], "start": START.isoformat(),
             "shift_length": 1, "shift_unit": "weeks", "time_zone": "UTC"}  # fmt: skip
    made = await api.admin.post(
        "/api/v1/schedules", json={"slug": "primary", "name": "Primary", "layers": [layer]}
    )
    assert made.status_code == 201, made.text
    step = {"delay_seconds": 0, "targets": [{"type": "schedule", "ref": "primary"}]}
    policy = {"slug": "checkout-oncall", "name": "Checkout", "services": ["checkout"], "steps": [step]}
    assert (await api.admin.post("/api/v1/escalation-policies", json=policy)).status_code == 201
    key = (
        await api.admin.post("/api/v1/integrations", json={"kind": "webhook", "service": "checkout"})
    ).json()["key"]
    assert (
        await api.anonymous.post(f"/intake/webhook/{key}", json={"id": "x", "title": "x"})
    ).status_code == 202
    drill = {"title": "Game day", "severity": "P3", "services": ["checkout"], "drill": True}
    ref = (await api.responder.post("/api/v1/incidents", json=drill)).json()["ref"]
    role = {"role": "incident_commander", "user": api.emails["responder"]}
    assert (await api.responder.post(f"/api/v1/incidents/{ref}/roles", json=role)).status_code == 200


async def test_scores_and_fixes_per_service_and_person(api: Api) -> None:
    await _world(api)
    method = await api.responder.post("/api/v1/me/contact-methods", json={"kind": "log", "address": "r@x"})
    async with open_web(api) as web:
        sent = await web["responder"].post(f"/me/notifications/methods/{method.json()['id']}/test", {})
        assert sent.status_code == 303
        await new_worker(api.context, periodic=()).run_once()
        body = (await api.viewer.get("/api/v1/preparedness")).json()
        services = {s["ref"]: s for s in body["services"]}
        checkout = {c["name"]: c["ok"] for c in services["checkout"]["checks"]}
        assert checkout == {
            "alerts arriving": True, "on call for the next 14 days": True,
            "a playbook for its likely incidents": True, "drilled in the last 90 days": True,
            "stakeholder lists": False,
        }  # fmt: skip
        assert services["checkout"]["score"] == 80
        assert services["search"]["score"] == 20  # only its likely type's playbook is there
        assert "give the service an escalation policy" in services["search"]["to_fix"]
        people = {p["ref"]: p for p in body["people"]}
        assert people[api.emails["responder"]]["score"] == 100
        assert people[api.emails["admin"]]["score"] == 0
        assert set(people) == {api.emails["responder"], api.emails["admin"]}  # viewers are not paged
        page = await web["viewer"].client.get("/preparedness")
        said = text_of(page.text)
        assert page.status_code == 200 and said.index("Search") < said.index("Checkout")  # least ready first
        assert "Fix: give the service an escalation policy." in said
        assert (await web["stakeholder"].client.get("/preparedness")).status_code == 403
    assert (await api.stakeholder.get("/api/v1/preparedness")).status_code == 403


async def test_a_gap_in_the_next_two_weeks_is_found(api: Api) -> None:
    await _world(api)
    layer = (await api.admin.get("/api/v1/schedules/primary")).json()["layers"][0]
    end = (START + timedelta(days=10)).isoformat()
    assert (
        await api.admin.patch(f"/api/v1/schedules/primary/layers/{layer['id']}", json={"end": end})
    ).status_code == 200
    body = (await api.viewer.get("/api/v1/preparedness")).json()
    checkout = next(s for s in body["services"] if s["ref"] == "checkout")
    on_call = next(c for c in checkout["checks"] if c["name"] == "on call for the next 14 days")
    assert not on_call["ok"] and on_call["detail"] == "Primary: 96 h with nobody"
