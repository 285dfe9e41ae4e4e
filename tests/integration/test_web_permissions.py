"""Viewers and stakeholders see no write controls, and the server refuses their writes anyway: every web
form route, found from the routers the UI mounts so a new one cannot be forgotten, answers them 403 and
changes nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from tests.conftest import START
from tests.integration.conftest import ROLES, Api
from tests.integration.web_helpers import PASSWORD, Web, cheap_hash, open_web, sign_in, text_of
from warroom.actions.models import ActionRun
from warroom.auth import service as auth
from warroom.web.mount import ROUTERS

ANYONE_SIGNED_IN = {
    "/login",
    "/logout",
    "/account/password",
    "/account/sessions/revoke",
    "/account/tokens",
    "/account/tokens/{token_id}/revoke",
    "/report",  # anyone signed in may report a problem (stakeholders included), rate-limited
    "/me/notifications/methods",  # my own contact methods and rules: anyone who may be paged
    "/me/notifications/methods/{method_id}/delete",
    "/me/notifications/methods/{method_id}/test",
    "/me/notifications/rules",
    "/me/notifications/rules/{rule_id}/delete",
}
READ_ONLY = ("viewer", "stakeholder")


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Web]:
    async with open_web(api) as found:
        yield found


def web_posts() -> set[str]:
    """Every form route the web UI mounts (mount.ROUTERS is what install_web includes)."""
    return {
        route.path
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    }


async def awaiting_approval(api: Api, incident_id: int, task_id: int) -> int:
    """An action run waiting for the commander (the default procedure automates nothing, so it is written
    as the service would write one for an automated step)."""
    async with api.context.db.write() as session:
        run = ActionRun(incident_id=incident_id, task_id=task_id, action="maintenance_page",
                        state="awaiting_approval", target="shop", requested_at=START, request={},
                        response_body="", error="")  # fmt: skip
        session.add(run)
        await session.commit()
        return run.id


async def an_observable(api: Api, ref: str) -> int:
    added = await api.responder.post(
        f"/api/v1/incidents/{ref}/observables", json={"type": "ip", "value": "192.0.2.1"}
    )
    assert added.status_code == 201, added.text
    return int(added.json()["added"][0]["id"])


async def world(api: Api) -> dict[str, str]:
    """An incident with a task and an alert, so every path has something real to point at."""
    incident = (await api.responder.post("/api/v1/incidents", json={"title": "t", "severity": "P2"})).json()
    ref = incident["ref"]
    assert (await api.responder.post(f"/api/v1/incidents/{ref}/review")).status_code == 201
    task = (await api.responder.post(f"/api/v1/incidents/{ref}/tasks", json={"title": "t"})).json()
    link = {"title": "Dashboard", "url": "https://grafana.example.org/d/1"}
    link_id = (await api.responder.post(f"/api/v1/incidents/{ref}/links", json=link)).json()["id"]
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    key = (
        await api.admin.post("/api/v1/integrations", json={"kind": "pagerduty", "service": "checkout"})
    ).json()["key"]
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": "disk full", "source": "db", "severity": "error"},
    }
    assert (await api.anonymous.post("/v2/enqueue", json=event)).status_code == 202
    alert = (await api.viewer.get("/api/v1/alerts")).json()["items"][0]
    routing = {"name": "r", "conditions": [{"field": "source", "value": "nothing"}], "service": "checkout"}
    rule = (await api.admin.post("/api/v1/routing-rules", json=routing)).json()
    layer = {
        "name": "base",
        "participants": [api.emails["responder"]],
        "start": "2026-03-02T09:00:00Z",
        "shift_length": 1,
        "shift_unit": "weeks",
        "time_zone": "Europe/Berlin",
    }
    schedule = {"slug": "primary", "name": "Primary", "layers": [layer]}
    assert (await api.admin.post("/api/v1/schedules", json=schedule)).status_code == 201
    step = {"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]}
    policy = {"slug": "main", "name": "Main", "steps": [step]}
    assert (await api.admin.post("/api/v1/escalation-policies", json=policy)).status_code == 201
    target = {"email": "target@test.warroom", "name": "Target", "role": "responder"}
    person = (await api.admin.post("/api/v1/users", json=target)).json()
    assert (await api.admin.post("/api/v1/teams", json={"slug": "ops", "name": "Ops"})).status_code == 201
    sso_rule = {"group": "ops", "role": "viewer", "team": "ops"}
    assert (await api.admin.post("/api/v1/sso/rules", json=sso_rule)).status_code == 201
    draft = {"name": "Public title", "body": "Looking into it.", "publish": False}
    status_item = (await api.responder.post("/api/v1/status-page/incidents", json=draft)).json()
    assert status_item["id"] == 1  # `item_id` names it and the review's first action item alike
    listed = {"audience": "internal", "address": "listed@example.com"}
    recipient = (await api.admin.post("/api/v1/stakeholders", json=listed)).json()
    return {
        "ref": ref,
        "task_id": str(task["id"]),
        "run_id": str(await awaiting_approval(api, int(incident["id"]), int(task["id"]))),
        "observable_id": str(await an_observable(api, ref)),
        "link_id": str(link_id),
        "alert_id": str(alert["id"]),
        "slug": "primary",
        "service": "checkout",
        "integration_id": "1",
        "rule_id": str(rule["id"]),
        "policy": "main",
        "layer_id": str((await api.admin.get("/api/v1/schedules/primary")).json()["layers"][0]["id"]),
        "user_id": str(person["id"]),
        "team": "ops",
        "seq": "1",
        "item_id": "1",
        "audience": "internal",
        "recipient_id": str(recipient["id"]),
    }


async def snapshot(api: Api, ref: str) -> dict[str, Any]:
    return {
        "incidents": (await api.admin.get("/api/v1/incidents")).json()["total"],
        "timeline": len((await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()),
        "alerts": [
            (a["status"], a["incident"]) for a in (await api.admin.get("/api/v1/alerts")).json()["items"]
        ],
        "tasks": [t["done"] for t in (await api.admin.get(f"/api/v1/incidents/{ref}/tasks")).json()],
        "links": (await api.admin.get(f"/api/v1/incidents/{ref}")).json()["links"],
        "final": (await api.admin.get("/api/v1/schedules/primary/final")).json(),
        "services": (await api.admin.get("/api/v1/services")).json(),
        "integrations": (await api.admin.get("/api/v1/integrations")).json(),
        "routing": (await api.admin.get("/api/v1/routing-rules")).json(),
        "policies": (await api.admin.get("/api/v1/escalation-policies")).json(),
        "users": (await api.admin.get("/api/v1/users")).json(),
        "teams": (await api.admin.get("/api/v1/teams")).json(),
        "sso_rules": (await api.admin.get("/api/v1/sso/rules")).json(),
        "stakeholders": (await api.admin.get("/api/v1/stakeholders")).json(),
        "status_page": (await api.admin.get("/api/v1/status-page/incidents")).json(),
        "maintenances": (await api.admin.get("/api/v1/status-page/maintenances")).json(),
    }


FORMS: dict[str, dict[str, str]] = {
    "/declare": {"title": "sneaky", "severity": "P1"},
    "/incidents/{ref}/updates": {"body": "sneaky"},
    "/incidents/{ref}/severity": {"severity": "P1", "severity_reason": "sneaky"},
    "/incidents/{ref}/phase": {"phase": "containment"},
    "/incidents/{ref}/roles": {"role": "incident_commander", "user": "admin@test.warroom"},
    "/incidents/{ref}/roles/waive": {"role": "communications_lead", "reason": "not needed"},
    "/incidents/{ref}/milestones": {"milestone": "notified"},
    "/incidents/{ref}/drill/end": {},
    "/incidents/{ref}/acknowledge": {},
    "/incidents/{ref}/tasks": {"title": "sneaky"},
    "/incidents/{ref}/tasks/{task_id}": {"done": "1"},
    "/incidents/{ref}/tasks/{task_id}/start": {"target": "host-1"},
    "/incidents/{ref}/tasks/{task_id}/waive": {"reason": "not here"},
    "/incidents/{ref}/checklist": {"phase": "triage", "criterion": "0", "done": "1"},
    "/incidents/{ref}/actions/{run_id}/approve": {},
    "/incidents/{ref}/observables": {"text": "203.0.113.7"},
    "/incidents/{ref}/observables/{observable_id}/delete": {},
    "/incidents/{ref}/assets": {"kind": "host", "name": "fs-01", "surface": "endpoint"},
    "/incidents/{ref}/evidence": {"collected_from": "fs-01"},
    "/incidents/{ref}/page": {"kind": "user", "target": "admin@test.warroom", "reason": "sneaky"},
    "/incidents/{ref}/escalate": {"reason": "sneaky"},
    "/incidents/{ref}/services/add": {"service": "checkout"},
    "/incidents/{ref}/status-page/publish": {"draft": "0", "body": "sneaky"},
    "/incidents/{ref}/links": {"title": "sneaky", "url": "https://example.org/sneaky"},
    "/incidents/{ref}/links/{link_id}/delete": {},
    "/incidents/{ref}/alerts": {"alert": "1"},
    "/alerts/{alert_id}/acknowledge": {},
    "/alerts/{alert_id}/resolve": {},
    "/alerts/{alert_id}/attach": {"incident": "INC-1"},
    "/incidents/{ref}/review/draft": {},
    "/incidents/{ref}/review/edit": {"summary": "sneaky"},
    "/incidents/{ref}/review/timeline/{seq}": {"action": "hide"},
    "/incidents/{ref}/review/notes": {"at": "2026-03-02T09:00", "note": "sneaky"},
    "/incidents/{ref}/review/reviewers": {"user": "admin@test.warroom"},
    "/incidents/{ref}/review/status": {"status": "in_review"},
    "/incidents/{ref}/review/action-items": {"title": "sneaky"},
    "/incidents/{ref}/review/action-items/{item_id}": {"status": "done"},
    "/status-page/incidents": {"name": "Sneaky", "status": "investigating", "impact": "minor", "body": "x"},
    "/status-page/incidents/{item_id}/publish": {},
    "/status-page/incidents/{item_id}/updates": {"status": "identified", "body": "sneaky"},
    "/status-page/maintenances": {
        "name": "Sneaky",
        "body": "x",
        "scheduled_for": "2026-03-03T10:00",
        "scheduled_until": "2026-03-03T11:00",
    },
    "/stakeholders/{audience}": {"channel": "email", "address": "sneaky@example.com"},
    "/stakeholders/{audience}/{recipient_id}/remove": {},
    "/schedules/{slug}/overrides": {
        "user": "admin@test.warroom",
        "starts_at": "2026-03-02T12:00",
        "ends_at": "2026-03-02T14:00",
    },
}

# Catalog and user administration: admins only (responders are refused too).
ADMIN_FORMS: dict[str, dict[str, str]] = {
    "/services": {"slug": "sneaky", "name": "Sneaky"},
    "/services/{service}": {"name": "Sneaky"},
    "/integrations": {"kind": "pagerduty", "service": "checkout"},
    "/integrations/{integration_id}/rotate": {},
    "/integrations/{integration_id}": {"name": "Sneaky", "service": "checkout"},
    "/routing-rules": {
        "name": "sneaky",
        "cond-0-field": "source",
        "cond-0-op": "equals",
        "cond-0-value": "x",
        "service": "checkout",
    },
    "/routing-rules/{rule_id}/delete": {},
    "/policies": {
        "slug": "sneaky",
        "name": "Sneaky",
        "step-0-wait": "0",
        "step-0-targets": "schedule:primary",
    },
    "/policies/{policy}": {"name": "Sneaky", "step-0-wait": "0", "step-0-targets": "schedule:primary"},
    "/admin/users": {"email": "sneaky@test.warroom", "role": "admin", "password": "sneaky sneaky"},
    "/admin/users/{user_id}/role": {"role": "admin"},
    "/admin/users/{user_id}/deactivate": {},
    "/admin/users/{user_id}/reactivate": {},
    "/admin/users/{user_id}/sessions/revoke": {},
    "/admin/teams": {"slug": "sneaky", "name": "Sneaky"},
    "/drills": {"scenario": "database-failover", "mode": "game_day", "starts_at": "2027-01-01T10:00:00"},
    "/admin/teams/{team}/members": {"user": "target@test.warroom"},
    "/admin/teams/{team}/members/{user_id}/remove": {},
    "/schedules": {
        "slug": "sneaky",
        "name": "Sneaky",
        "participant-0": "target@test.warroom",
        "start": "2027-01-04T09:00",
        "shift_length": "1",
        "shift_unit": "weeks",
    },
    "/schedules/{slug}/layers": {
        "participant-0": "target@test.warroom",
        "start": "2027-01-04T09:00",
        "shift_length": "1",
        "shift_unit": "days",
    },
    "/schedules/{slug}/layers/{layer_id}": {
        "participant-0": "target@test.warroom",
        "start": "2027-01-04T09:00",
        "shift_length": "3",
        "shift_unit": "days",
    },
    "/schedules/{slug}/layers/{layer_id}/delete": {},
    "/admin/sso/rules": {"group": "sneaky", "role": "admin"},
    "/admin/doctor/run": {},
    "/admin/sso/rules/{rule_id}/remove": {},
    # Who sees an incident: admins and its commander (the responder here holds no role on it).
    "/incidents/{ref}/restriction": {"restricted": "1"},
    "/incidents/{ref}/participants": {"user": "target@test.warroom"},
}


async def test_every_web_write_refuses_viewers_and_stakeholders_and_changes_nothing(web: Web) -> None:
    writes = web_posts() - ANYONE_SIGNED_IN
    assert writes == set(FORMS) | set(ADMIN_FORMS), "a web form route without a row: say who may use it"
    ids = await world(web.api)
    before = await snapshot(web.api, ids["ref"])
    for role in READ_ONLY:
        for template, form in {**FORMS, **ADMIN_FORMS}.items():
            response = await web[role].post(template.format(**ids), form)
            assert response.status_code == 403, (role, template, response.status_code)
            assert "may not do this" in text_of(response.text)
    for template, form in ADMIN_FORMS.items():
        refused = await web["responder"].post(template.format(**ids), form)
        assert refused.status_code == 403, (template, refused.status_code)
    assert await snapshot(web.api, ids["ref"]) == before
    for template, form in FORMS.items():  # and the same forms do go through for a responder
        response = await web["responder"].post(template.format(**ids), form)
        assert response.status_code in (201, 303, 409, 422), (template, response.status_code)
    for template, form in ADMIN_FORMS.items():
        response = await web["admin"].post(template.format(**ids), form)
        assert response.status_code in (201, 303, 409, 422), (template, response.status_code)


async def test_read_only_roles_see_no_write_controls(web: Web) -> None:
    ids = await world(web.api)
    ref = ids["ref"]
    writer_page = (await web["responder"].client.get(f"/incidents/{ref}")).text
    assert f'action="/incidents/{ref}/updates"' in writer_page and 'href="/declare"' in writer_page
    for role in READ_ONLY:
        for path in (
            "/",
            f"/incidents/{ref}",
            "/incidents",
            "/procedure",
            "/account",
            "/schedules",
            "/services",
        ):
            page = (await web[role].client.get(path)).text
            posts = re.findall(r'<form method="post" action="([^"]+)"', page)
            own = {
                p for p in posts if p in ANYONE_SIGNED_IN or re.fullmatch(r"/account/tokens/\d+/revoke", p)
            }
            assert set(posts) == own, (role, path, posts)
            assert 'href="/declare"' not in page
    viewer_alerts = (await web["viewer"].client.get("/alerts")).text
    assert "disk full" in viewer_alerts and "Acknowledge alert" not in viewer_alerts
    assert (await web["viewer"].client.get("/declare")).status_code == 403


async def test_stakeholders_see_status_and_stakeholder_updates_only(web: Web) -> None:
    ids = await world(web.api)
    ref = ids["ref"]
    await web["responder"].post(
        f"/incidents/{ref}/updates", {"audience": "internal", "body": "internal detail"}
    )
    await web["responder"].post(
        f"/incidents/{ref}/updates", {"audience": "stakeholder", "body": "we are on it"}
    )
    page = text_of((await web["stakeholder"].client.get(f"/incidents/{ref}")).text)
    assert "we are on it" in page and "internal detail" not in page
    assert "Timeline" not in page and "Tasks" not in page and "Incident commander" not in page
    assert (await web["stakeholder"].client.get("/alerts")).status_code == 403
    assert (await web["stakeholder"].client.get("/schedules")).status_code == 403
    dashboard = text_of((await web["stakeholder"].client.get("/")).text)
    assert "Open incidents" in dashboard and "Triggered alerts" not in dashboard


async def test_integration_keys_show_to_admins_and_the_owning_teams_responders_only(web: Web) -> None:
    api = web.api
    other = "search-responder@test.warroom"
    async with api.context.db.write() as session:
        user = await auth.create_user(session=session, email=other, name="Other", role="responder", now=START)
        user.password_hash = cheap_hash()
        await session.commit()
    members = {"payments": [api.emails["responder"], api.emails["viewer"]], "search": [other]}
    for slug, emails in members.items():
        made = await api.admin.post("/api/v1/teams", json={"slug": slug, "name": slug, "members": emails})
        assert made.status_code == 201, made.text
    for service in ({"slug": "pay", "name": "Pay", "team": "payments"}, {"slug": "orphan", "name": "Orphan"}):
        assert (await api.admin.post("/api/v1/services", json=service)).status_code == 201
    owned = (await api.admin.post("/api/v1/integrations", json={"kind": "grafana", "service": "pay"})).json()
    unowned = (
        await api.admin.post("/api/v1/integrations", json={"kind": "webhook", "service": "orphan"})
    ).json()
    keys = {"owned": owned["key"], "unowned": unowned["key"]}
    async with web.client() as client:
        assert (await sign_in(client, other, PASSWORD)).status_code == 303
        pages = {role: (await web[role].client.get("/integrations")) for role in ROLES}
        pages["other team's responder"] = await client.get("/integrations")
    sees = {"admin": {"owned", "unowned"}, "responder": {"owned"}}  # the responder is on `payments`
    for who, page in pages.items():
        if who == "stakeholder":
            assert page.status_code == 403
            continue
        assert page.status_code == 200 and f'id="integration-{unowned["id"]}"' in page.text, who
        shown = {name for name, key in keys.items() if key in page.text}
        assert shown == sees.get(who, set()), (who, shown)
        rotate = re.findall(r'action="(/integrations/\d+/rotate)"', page.text)
        assert bool(rotate) == (who == "admin"), who  # rotating stays an admin's
