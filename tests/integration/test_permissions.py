"""Walk every /api/v1 endpoint with every role: allowed roles get through, others get 403, nobody gets in
without a token, and a refused write changes nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import START
from tests.integration.conftest import ROLES, Api
from warroom.auth import service as auth

ANY = set(ROLES)
READ = ANY
INTERNAL = {"admin", "responder", "viewer"}
WRITE = {"admin", "responder"}
ADMIN = {"admin"}


def endpoints(role: str) -> dict[tuple[str, str], tuple[set[str], dict[str, Any] | None]]:
    """(method, path) -> (roles allowed, JSON body). Bodies differ per role so repeats don't clash."""
    return {
        ("GET", "/api/v1/incidents"): (READ, None),
        ("POST", "/api/v1/incidents"): (WRITE, {"title": f"by {role}", "severity": "P3"}),
        ("GET", "/api/v1/incidents/{ref}"): (READ, None),
        ("PATCH", "/api/v1/incidents/{ref}"): (WRITE, {"summary": f"edited by {role}"}),
        ("POST", "/api/v1/incidents/{ref}/acknowledge"): (WRITE, None),
        ("GET", "/api/v1/incidents/{ref}/roles"): (INTERNAL, None),
        ("POST", "/api/v1/incidents/{ref}/roles"): (
            WRITE,
            {"role": "technical_lead", "user": f"{role}@test.warroom"},
        ),
        ("POST", "/api/v1/incidents/{ref}/roles/waive"): (
            WRITE,
            {"roles": ["incident_commander"], "reason": f"waived by {role}"},
        ),
        ("POST", "/api/v1/incidents/{ref}/milestones"): (WRITE, {"milestone": "compromised"}),
        ("POST", "/api/v1/incidents/{ref}/phase"): (WRITE, {"phase": "containment"}),
        ("POST", "/api/v1/incidents/{ref}/resolve"): (WRITE, {"reason": "done"}),
        ("POST", "/api/v1/incidents/{ref}/page"): (
            WRITE,
            {"kind": "user", "ref": f"{role}@test.warroom", "reason": f"paged by {role}"},
        ),
        ("POST", "/api/v1/incidents/{ref}/escalate"): (WRITE, {"reason": f"escalated by {role}"}),
        ("POST", "/api/v1/reports"): (ANY, {"what": f"down for {role}", "service": "walk"}),
        ("GET", "/api/v1/incidents/{ref}/tasks"): (INTERNAL, None),
        ("GET", "/api/v1/incidents/{ref}/changes"): (INTERNAL, None),
        ("POST", "/api/v1/incidents/{ref}/drill/end"): (WRITE, None),
        ("POST", "/api/v1/incidents/{ref}/tasks"): (WRITE, {"title": f"task by {role}"}),
        ("PATCH", "/api/v1/incidents/{ref}/tasks/{task_id}"): (WRITE, {"title": f"renamed by {role}"}),
        ("GET", "/api/v1/incidents/{ref}/playbook"): (INTERNAL, None),
        ("GET", "/api/v1/incidents/{ref}/observables"): (INTERNAL, None),
        ("POST", "/api/v1/incidents/{ref}/observables"): (WRITE, {"type": "user", "value": f"u-{role}"}),
        ("PATCH", "/api/v1/incidents/{ref}/observables/{observable_id}"): (WRITE, {"tlp": "red"}),
        ("DELETE", "/api/v1/incidents/{ref}/observables/{observable_id}"): (WRITE, None),
        ("GET", "/api/v1/alerts/{ref}/observables"): (INTERNAL, None),
        ("GET", "/api/v1/assets"): (INTERNAL, None),
        ("POST", "/api/v1/assets"): (WRITE, {"kind": "host", "name": f"h-{role}", "surface": "endpoint"}),
        ("GET", "/api/v1/incidents/{ref}/surfaces"): (INTERNAL, None),
        ("GET", "/api/v1/incidents/{ref}/blast-radius"): (INTERNAL, None),
        ("GET", "/api/v1/incidents/{ref}/status-page"): (INTERNAL, None),
        ("GET", "/api/v1/services/{slug}/dependencies"): (READ, None),
        ("PUT", "/api/v1/services/{slug}/dependencies"): (ADMIN, {"depends_on": []}),
        ("POST", "/api/v1/incidents/{ref}/evidence"): (WRITE, None),
        ("GET", "/api/v1/incidents/{ref}/evidence"): (INTERNAL, None),
        ("GET", "/api/v1/incidents/{ref}/evidence/{evidence_id}/download"): (WRITE, None),
        ("POST", "/api/v1/incidents/{ref}/evidence/{evidence_id}/handover"): (
            WRITE,
            {"to": "admin@test.warroom"},
        ),
        ("GET", "/api/v1/incidents/{ref}/evidence/{evidence_id}/custody"): (INTERNAL, None),
        ("POST", "/api/v1/incidents/{ref}/assets"): (
            WRITE,
            {"new": {"kind": "account", "name": f"a-{role}", "surface": "identity"}},
        ),
        ("POST", "/api/v1/incidents/{ref}/tasks/{task_id}/assets"): (
            WRITE,
            {"new": {"kind": "host", "name": f"t-{role}", "surface": "endpoint"}},
        ),
        ("POST", "/api/v1/incidents/{ref}/checklist"): (WRITE, {"phase": "triage", "criterion": 0}),
        ("POST", "/api/v1/incidents/{ref}/tasks/{task_id}/waive"): (WRITE, {"reason": f"waived by {role}"}),
        ("POST", "/api/v1/incidents/{ref}/tasks/{task_id}/start"): (WRITE, {"target": "host-1"}),
        ("GET", "/api/v1/incidents/{ref}/actions"): (INTERNAL, None),
        ("POST", "/api/v1/incidents/{ref}/actions/{run_id}/approve"): (WRITE, None),
        ("POST", "/api/v1/incidents/{ref}/links"): (
            WRITE,
            {"title": f"link by {role}", "url": f"https://example.org/{role}"},
        ),
        ("DELETE", "/api/v1/incidents/{ref}/links/{link_id}"): (WRITE, None),
        ("GET", "/api/v1/incidents/{ref}/updates"): (READ, None),
        ("POST", "/api/v1/incidents/{ref}/updates"): (
            WRITE,
            {"audience": "internal", "body": f"note {role}"},
        ),
        ("GET", "/api/v1/incidents/{ref}/timeline"): (INTERNAL, None),
        ("GET", "/api/v1/incidents/{ref}/participants"): (INTERNAL, None),
        ("POST", "/api/v1/incidents/{ref}/participants"): (ADMIN, {"user": f"{role}@test.warroom"}),
        ("GET", "/api/v1/me"): (ANY, None),
        ("POST", "/api/v1/me/tokens"): (ANY, {"name": "laptop"}),
        ("POST", "/api/v1/me/sessions/revoke"): (ANY, None),
        ("POST", "/api/v1/users/{user_id}/sessions/revoke"): (ADMIN, None),
        ("GET", "/api/v1/users"): (INTERNAL, None),
        ("POST", "/api/v1/users"): (ADMIN, {"email": f"new-{role}@test.warroom", "role": "viewer"}),
        ("GET", "/api/v1/teams"): (READ, None),
        ("POST", "/api/v1/teams"): (ADMIN, {"slug": f"team-{role}", "name": "Team"}),
        ("GET", "/api/v1/services"): (READ, None),
        ("POST", "/api/v1/services"): (ADMIN, {"slug": f"svc-{role}", "name": "Svc"}),
        ("GET", "/api/v1/services/{slug}"): (READ, None),
        ("GET", "/api/v1/procedure"): (READ, None),
        ("GET", "/api/v1/metrics"): (INTERNAL, None),
        ("GET", "/api/v1/preparedness"): (INTERNAL, None),
        ("GET", "/api/v1/drills/scenarios"): (ADMIN, None),
        ("POST", "/api/v1/drills/scenarios/check"): (ADMIN, {"yaml": "id: x"}),
        ("GET", "/api/v1/drills"): (ADMIN, None),
        ("POST", "/api/v1/drills"): (
            ADMIN,
            {"scenario": "database-failover", "mode": "game_day", "starts_at": "2027-01-01T10:00:00Z"},
        ),
        ("GET", "/api/v1/drills/trends"): (ADMIN, None),
        ("GET", "/api/v1/doctor"): (ADMIN, None),
        ("POST", "/api/v1/doctor/run"): (ADMIN, None),
        ("GET", "/api/v1/hubspot/rules"): (ADMIN, None),
        ("POST", "/api/v1/hubspot/rules"): (ADMIN, {"field": "category", "value": "X", "service": "x"}),
        ("DELETE", "/api/v1/hubspot/rules/{rule_id}"): (ADMIN, None),
        ("GET", "/api/v1/jira/rules"): (ADMIN, None),
        ("POST", "/api/v1/jira/rules"): (ADMIN, {"project": "OPS"}),
        ("DELETE", "/api/v1/jira/rules/{rule_id}"): (ADMIN, None),
        ("GET", "/api/v1/intel/feeds"): (INTERNAL, None),
        ("POST", "/api/v1/intel/feeds"): (
            ADMIN,
            {"slug": f"feed-{role}", "name": "F", "kind": "text", "url": "https://feeds.example/list.txt"},
        ),
        ("PATCH", "/api/v1/intel/feeds/{slug}"): (ADMIN, {"interval_seconds": 7200}),
        ("DELETE", "/api/v1/intel/feeds/{slug}"): (ADMIN, None),
        ("POST", "/api/v1/intel/feeds/{slug}/poll"): (ADMIN, None),
        ("GET", "/api/v1/intel/indicators"): (INTERNAL, None),
        ("GET", "/api/v1/intel/sightings"): (INTERNAL, None),
        ("POST", "/api/v1/intel/hunt"): (WRITE, {"value": "203.0.113.9"}),
        ("GET", "/api/v1/intel/software/{slug}"): (INTERNAL, None),
        ("PUT", "/api/v1/intel/software/{slug}"): (ADMIN, {"software": [{"name": "openssl"}]}),
        ("GET", "/api/v1/intel/vulnerabilities"): (INTERNAL, None),
        ("PATCH", "/api/v1/intel/vulnerabilities/{finding_id}"): (WRITE, {"status": "done"}),
        ("GET", "/api/v1/incidents/{ref}/iocs.stix.json"): (INTERNAL, None),
        ("GET", "/api/v1/incidents/{ref}/iocs.misp.json"): (INTERNAL, None),
        ("GET", "/api/v1/incidents/{ref}/customers"): (INTERNAL, None),
        ("POST", "/api/v1/incidents/{ref}/customers"): (WRITE, {"ticket_id": "1"}),
        ("GET", "/api/v1/sso/providers"): (ADMIN, None),
        ("POST", "/api/v1/sso/providers"): (
            ADMIN,
            {"slug": "p", "name": "P", "issuer": "https://i.example", "client_id": "c", "client_secret": "x"},
        ),
        ("DELETE", "/api/v1/sso/providers/{slug}"): (ADMIN, None),
        ("GET", "/api/v1/sso/rules"): (ADMIN, None),
        ("POST", "/api/v1/sso/rules"): (ADMIN, {"group": "g", "role": "viewer"}),
        ("DELETE", "/api/v1/sso/rules/{rule_id}"): (ADMIN, None),
        ("GET", "/api/v1/drills/{drill_id}/report"): (ADMIN, None),
        ("GET", "/api/v1/incidents/{ref}/review"): (INTERNAL, None),
        ("POST", "/api/v1/incidents/{ref}/review"): (WRITE, None),
        ("PATCH", "/api/v1/incidents/{ref}/review"): (WRITE, {"went_well": f"by {role}"}),
        ("POST", "/api/v1/incidents/{ref}/review/status"): (WRITE, {"status": "in_review"}),
        ("POST", "/api/v1/incidents/{ref}/review/reviewers"): (WRITE, {"user": "1"}),
        ("GET", "/api/v1/incidents/{ref}/review/timeline"): (INTERNAL, None),
        ("PATCH", "/api/v1/incidents/{ref}/review/timeline/{seq}"): (WRITE, {"highlighted": True}),
        ("POST", "/api/v1/incidents/{ref}/review/notes"): (
            WRITE,
            {"at": "2026-03-02T09:00:00Z", "note": f"by {role}"},
        ),
        ("GET", "/api/v1/incidents/{ref}/review/export.md"): (INTERNAL, None),
        ("GET", "/api/v1/incidents/{ref}/review/export.html"): (INTERNAL, None),
        ("GET", "/api/v1/incidents/{ref}/review/export.pdf"): (INTERNAL, None),
        ("POST", "/api/v1/incidents/{ref}/review/action-items"): (WRITE, {"title": f"by {role}"}),
        ("GET", "/api/v1/action-items"): (INTERNAL, None),
        ("PATCH", "/api/v1/action-items/{item_id}"): (WRITE, {"status": "in_progress"}),
        ("GET", "/api/v1/procedure/sop"): (READ, None),
        ("GET", "/api/v1/status-page/components"): (INTERNAL, None),
        ("POST", "/api/v1/status-page/components"): (ADMIN, {"name": f"component by {role}"}),
        ("PATCH", "/api/v1/status-page/components/{component_id}"): (ADMIN, {"description": f"by {role}"}),
        ("DELETE", "/api/v1/status-page/components/{component_id}"): (ADMIN, None),
        ("POST", "/api/v1/status-page/groups"): (ADMIN, {"name": f"group by {role}"}),
        ("PATCH", "/api/v1/status-page/groups/{group_id}"): (ADMIN, {"description": f"by {role}"}),
        ("DELETE", "/api/v1/status-page/groups/{group_id}"): (ADMIN, None),
        ("GET", "/api/v1/status-page/incidents"): (INTERNAL, None),
        ("POST", "/api/v1/status-page/incidents"): (
            WRITE,
            {"name": f"public by {role}", "body": "Looking into it.", "publish": False},
        ),
        ("GET", "/api/v1/status-page/incidents/{item_id}"): (INTERNAL, None),
        ("PATCH", "/api/v1/status-page/incidents/{item_id}"): (WRITE, {"name": f"renamed by {role}"}),
        ("POST", "/api/v1/status-page/incidents/{item_id}/publish"): (WRITE, None),
        ("POST", "/api/v1/status-page/incidents/{item_id}/updates"): (
            WRITE,
            {"status": "identified", "body": f"by {role}"},
        ),
        ("GET", "/api/v1/status-page/maintenances"): (INTERNAL, None),
        ("POST", "/api/v1/status-page/maintenances"): (
            WRITE,
            {
                "name": f"maintenance by {role}",
                "body": "Upgrading.",
                "scheduled_for": "2026-03-03T10:00:00Z",
                "scheduled_until": "2026-03-03T11:00:00Z",
            },
        ),
        ("POST", "/api/v1/status-page/maintenances/{item_id}/updates"): (
            WRITE,
            {"status": "in_progress", "body": f"by {role}"},
        ),
        ("GET", "/api/v1/status-page/subscribers"): (INTERNAL, None),
        ("POST", "/api/v1/status-page/subscribers"): (
            WRITE,
            {"kind": "webhook", "address": f"https://hooks.example/{role}"},
        ),
        ("DELETE", "/api/v1/status-page/subscribers/{subscriber_id}"): (WRITE, None),
        ("GET", "/api/v1/stakeholders"): (INTERNAL, None),
        ("POST", "/api/v1/stakeholders"): (
            WRITE,
            {"audience": "internal", "address": f"{role}@lists.example"},
        ),
        ("DELETE", "/api/v1/stakeholders/{recipient_id}"): (WRITE, None),
        ("POST", "/api/v1/incidents/{ref}/updates/preview"): (WRITE, {"body": f"preview by {role}"}),
        ("GET", "/api/v1/alerts"): (INTERNAL, None),
        ("GET", "/api/v1/alerts/{ref}"): (INTERNAL, None),
        ("GET", "/api/v1/alerts/{ref}/events"): (INTERNAL, None),
        ("POST", "/api/v1/alerts/{ref}/acknowledge"): (WRITE, None),
        ("POST", "/api/v1/alerts/{ref}/unacknowledge"): (WRITE, None),
        ("POST", "/api/v1/alerts/{ref}/resolve"): (WRITE, None),
        ("POST", "/api/v1/alerts/{ref}/escalate"): (WRITE, None),
        ("GET", "/api/v1/alerts/{ref}/messages"): (INTERNAL, None),
        ("GET", "/api/v1/jobs"): (ADMIN, None),  # payloads: ids, addresses, errors of every domain
        ("GET", "/api/v1/jobs/counts"): (ADMIN, None),
        ("POST", "/api/v1/jobs/{job_id}/retry"): (ADMIN, None),
        ("POST", "/api/v1/alerts/{ref}/attach"): (WRITE, {"incident": "1"}),
        ("GET", "/api/v1/integrations"): (INTERNAL, None),
        ("POST", "/api/v1/integrations"): (ADMIN, {"kind": "alertmanager", "service": "walk"}),
        ("GET", "/api/v1/integrations/{integration_id}"): (INTERNAL, None),
        ("PATCH", "/api/v1/integrations/{integration_id}"): (ADMIN, {"name": f"renamed by {role}"}),
        ("POST", "/api/v1/integrations/{integration_id}/rotate"): (ADMIN, None),
        ("GET", "/api/v1/routing-rules"): (INTERNAL, None),
        ("POST", "/api/v1/routing-rules"): (ADMIN, {"name": role, "conditions": [], "service": "walk"}),
        ("DELETE", "/api/v1/routing-rules/{rule_id}"): (ADMIN, None),
        ("GET", "/api/v1/services/{slug}/alert-rules"): (INTERNAL, None),
        ("POST", "/api/v1/services/{slug}/alert-rules"): (ADMIN, {"name": role, "action": "page"}),
        ("DELETE", "/api/v1/services/{slug}/alert-rules/{rule_id}"): (ADMIN, None),
        ("GET", "/api/v1/services/{slug}/maintenance"): (INTERNAL, None),
        ("POST", "/api/v1/services/{slug}/maintenance"): (
            WRITE,
            {"starts_at": "2026-03-02T10:00:00Z", "ends_at": "2026-03-02T11:00:00Z", "reason": role},
        ),
        ("DELETE", "/api/v1/services/{slug}/maintenance/{window_id}"): (WRITE, None),
        ("GET", "/api/v1/services/{slug}/changes"): (INTERNAL, None),
        ("GET", "/api/v1/heartbeats"): (INTERNAL, None),
        ("POST", "/api/v1/heartbeats"): (ADMIN, {"service": "walk", "name": role, "interval_seconds": 60}),
        ("GET", "/api/v1/schedules"): (INTERNAL, None),
        ("POST", "/api/v1/schedules"): (ADMIN, {"slug": f"s-{role}", "name": role}),
        ("GET", "/api/v1/schedules/{ref}"): (INTERNAL, None),
        ("PATCH", "/api/v1/schedules/{ref}"): (ADMIN, {"name": f"renamed by {role}"}),
        ("POST", "/api/v1/schedules/{ref}/layers"): (ADMIN, {**LAYER, "name": f"layer by {role}"}),
        ("PATCH", "/api/v1/schedules/{ref}/layers/{layer_id}"): (ADMIN, {"priority": 5}),
        ("DELETE", "/api/v1/schedules/{ref}/layers/{layer_id}"): (ADMIN, None),
        ("GET", "/api/v1/schedules/{ref}/overrides"): (INTERNAL, None),
        ("PATCH", "/api/v1/schedules/{ref}/overrides/{override_id}"): (
            WRITE,
            {"ends_at": "2026-03-02T12:00:00Z"},
        ),
        ("POST", "/api/v1/schedules/{ref}/overrides"): (
            WRITE,
            {"user": "1", "starts_at": "2026-03-02T10:00:00Z", "ends_at": "2026-03-02T11:00:00Z"},
        ),
        ("GET", "/api/v1/schedules/{ref}/final"): (INTERNAL, None),
        ("POST", "/api/v1/schedules/{ref}/overrides/import"): (WRITE, None),
        ("GET", "/api/v1/oncall"): (INTERNAL, None),
        ("DELETE", "/api/v1/schedules/{ref}/overrides/{override_id}"): (WRITE, None),
        ("GET", "/api/v1/escalation-policies/{slug}"): (INTERNAL, None),
        ("PATCH", "/api/v1/escalation-policies/{slug}"): (ADMIN, {"name": f"renamed by {role}"}),
        ("DELETE", "/api/v1/escalation-policies/{slug}"): (ADMIN, None),
        ("DELETE", "/api/v1/schedules/{ref}"): (ADMIN, None),
        ("GET", "/api/v1/me/shifts"): (ANY, None),
        ("GET", "/api/v1/escalation-policies"): (INTERNAL, None),
        ("POST", "/api/v1/escalation-policies"): (
            ADMIN,
            {
                "slug": f"p-{role}",
                "name": role,
                "steps": [{"delay_seconds": 0, "targets": [{"type": "user", "ref": "1"}]}],
            },
        ),
        ("GET", "/api/v1/me/contact-methods"): (ANY, None),
        ("GET", "/api/v1/me/ical"): (ANY, None),
        ("POST", "/api/v1/me/contact-methods"): (ANY, {"kind": "email", "address": f"{role}@example.org"}),
        ("PATCH", "/api/v1/me/contact-methods/{method_id}"): (ANY, {"label": f"by {role}"}),
        ("DELETE", "/api/v1/me/contact-methods/{method_id}"): (ANY, None),
        ("GET", "/api/v1/me/notification-rules"): (ANY, None),
        ("POST", "/api/v1/me/notification-rules"): (ANY, {"contact_method": 999}),
        ("PATCH", "/api/v1/me/notification-rules/{rule_id}"): (ANY, {"delay_seconds": 60}),
        ("DELETE", "/api/v1/me/notification-rules/{rule_id}"): (ANY, None),
    }


LAYER = {
    "name": "base",
    "participants": ["1"],
    "start": "2026-03-02T09:00:00Z",
    "shift_length": 1,
    "shift_unit": "weeks",
    "time_zone": "Europe/Berlin",
}


def api_routes(api: Api) -> set[tuple[str, str]]:
    """Read from the OpenAPI document, so an endpoint added without a row here fails the test."""
    paths = api.app.openapi()["paths"]
    return {
        (method.upper(), path)
        for path, item in paths.items()
        if path.startswith("/api/v1")
        for method in item
    }


async def fixtures(api: Api) -> dict[str, str]:
    incident = (await api.admin.post("/api/v1/incidents", json={"title": "walk", "severity": "P4"})).json()
    task = (await api.admin.post(f"/api/v1/incidents/{incident['ref']}/tasks", json={"title": "t"})).json()
    link = (
        await api.admin.post(
            f"/api/v1/incidents/{incident['ref']}/links", json={"title": "l", "url": "https://example.org"}
        )
    ).json()
    await api.admin.post("/api/v1/services", json={"slug": "walk", "name": "Walk"})
    integration = (
        await api.admin.post("/api/v1/integrations", json={"kind": "webhook", "service": "walk"})
    ).json()
    sent = await api.anonymous.post(
        f"/intake/webhook/{integration['key']}", json={"id": "a1", "title": "walk"}
    )
    assert sent.status_code == 202, sent.text
    window = {"starts_at": "2026-03-02T10:00:00Z", "ends_at": "2026-03-02T11:00:00Z", "reason": "walk"}
    window_id = (await api.admin.post("/api/v1/services/walk/maintenance", json=window)).json()["id"]
    schedule = await api.admin.post(
        "/api/v1/schedules", json={"slug": "walk-s", "name": "Walk", "layers": [LAYER]}
    )
    assert schedule.status_code == 201, schedule.text
    cover = {"user": "1", "starts_at": "2026-03-02T10:00:00Z", "ends_at": "2026-03-02T11:00:00Z"}
    override = await api.admin.post("/api/v1/schedules/walk-s/overrides", json=cover)
    assert override.status_code == 201, override.text
    steps = [{"delay_seconds": 0, "targets": [{"type": "schedule", "ref": "walk-s"}]}]
    policy = await api.admin.post(
        "/api/v1/escalation-policies", json={"slug": "walk", "name": "W", "steps": steps}
    )
    assert policy.status_code == 201, policy.text
    return {
        "ref": incident["ref"],
        "task_id": str(task["id"]),
        "link_id": str(link["id"]),
        "slug": "walk",
        "integration_id": str(integration["id"]),
        "rule_id": "999",
        "finding_id": "999",
        "window_id": str(window_id),
        "alert": str(sent.json()["events"][0]["alert_id"]),
        "schedule": "walk-s",
        "job_id": "1",
        "override_id": str(override.json()["id"]),
        "layer_id": str(schedule.json()["layers"][0]["id"]),
        "method_id": "999",
        "seq": "1",
        "item_id": "1",
        "recipient_id": "999",
        "component_id": "999",
        "group_id": "999",
        "subscriber_id": "999",
        "user_id": "2",
        "drill_id": "999",
        "run_id": "999",
        "observable_id": "999",
        "evidence_id": "999",
    }


def fill(template: str, names: dict[str, str]) -> str:
    """Alert routes name their alert `{ref}` too; give them the alert's number, not the incident's ref."""
    if template.startswith("/api/v1/alerts/"):
        return template.format(**{**names, "ref": names["alert"]})
    if template.startswith("/api/v1/schedules/"):
        return template.format(**{**names, "ref": names["schedule"]})
    return template.format(**names)


async def timeline_length(api: Api, ref: str) -> int:
    return len((await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json())


async def test_every_endpoint_is_in_the_table(api: Api) -> None:
    assert api_routes(api) == set(endpoints("admin"))


async def test_every_role_on_every_endpoint(api: Api) -> None:
    names = await fixtures(api)
    for role in ROLES:
        for (method, template), (allowed, body) in endpoints(role).items():
            path = fill(template, names)
            # Only a refused request is checked for changing nothing, so only then is the timeline read first.
            before = None if role in allowed else await timeline_length(api, names["ref"])
            response = await api.clients[role].request(method, path, json=body)
            if role in allowed:
                assert response.status_code not in (401, 403), (role, method, path, response.text)
                assert response.status_code < 500, (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.status_code)
                assert response.headers["content-type"] == "application/problem+json"
                assert await timeline_length(api, names["ref"]) == before, (role, method, path)


async def test_no_token_or_a_bad_token_is_401(api: Api) -> None:
    names = await fixtures(api)
    for method, template in endpoints("anonymous"):
        response = await api.anonymous.request(method, fill(template, names))
        assert response.status_code == 401, (method, template)
    bad = await api.anonymous.get("/api/v1/incidents", headers={"Authorization": "Bearer wr_not-a-token"})
    assert bad.status_code == 401 and bad.json()["detail"] == "the token is not valid"


async def test_stakeholders_see_stakeholder_updates_only(api: Api) -> None:
    ref = (await fixtures(api))["ref"]
    await api.responder.post(
        f"/api/v1/incidents/{ref}/updates", json={"audience": "internal", "body": "secret"}
    )
    await api.responder.post(
        f"/api/v1/incidents/{ref}/updates", json={"audience": "stakeholder", "body": "public"}
    )
    seen = (await api.stakeholder.get(f"/api/v1/incidents/{ref}/updates")).json()
    assert [u["body"] for u in seen] == ["public"]
    assert {u["body"] for u in (await api.viewer.get(f"/api/v1/incidents/{ref}/updates")).json()} == {
        "secret",
        "public",
    }
    incident = (await api.stakeholder.get(f"/api/v1/incidents/{ref}")).json()
    assert incident["roles"] is None
    assert (await api.stakeholder.get(f"/api/v1/incidents/{ref}/timeline")).status_code == 403


async def person(api: Api, email: str, role: str) -> httpx.AsyncClient:
    """A client for one more person with `role`."""
    async with api.context.db.write() as session:
        user = await auth.create_user(session=session, email=email, name=email, role=role, now=START)
        token = (await auth.create_token(session=session, user=user, name="test", now=START)).secret
        await session.commit()
    transport = api.anonymous._transport
    return httpx.AsyncClient(
        transport=transport, base_url="http://warroom.test", headers={"Authorization": f"Bearer {token}"}
    )


async def test_integration_keys_only_for_admins_and_the_owning_teams_responders(api: Api) -> None:
    """Whoever holds a key can raise alerts, so it is shown to admins and to the responders of the team that
    owns the integration's service; viewers (even on that team), stakeholders, responders of other teams,
    and everyone but admins for an integration whose service no team owns, see it as null."""
    people = {
        "team responder": await person(api, "pay-responder@test.warroom", "responder"),
        "team viewer": await person(api, "pay-viewer@test.warroom", "viewer"),
        "team stakeholder": await person(api, "pay-stakeholder@test.warroom", "stakeholder"),
        "other responder": await person(api, "search-responder@test.warroom", "responder"),
        "responder": api.responder,
        "viewer": api.viewer,
        "admin": api.admin,
    }
    teams = {
        "payments": ["pay-responder@test.warroom", "pay-viewer@test.warroom", "pay-stakeholder@test.warroom"],
        "search": ["search-responder@test.warroom"],
    }
    for slug, members in teams.items():
        made = await api.admin.post("/api/v1/teams", json={"slug": slug, "name": slug, "members": members})
        assert made.status_code == 201, made.text
    for service in ({"slug": "pay", "name": "Pay", "team": "payments"}, {"slug": "orphan", "name": "Orphan"}):
        assert (await api.admin.post("/api/v1/services", json=service)).status_code == 201
    owned = (await api.admin.post("/api/v1/integrations", json={"kind": "grafana", "service": "pay"})).json()
    unowned = (
        await api.admin.post("/api/v1/integrations", json={"kind": "pagerduty", "service": "orphan"})
    ).json()
    sees = {"admin": {owned["key"], unowned["key"]}, "team responder": {owned["key"]}}
    try:
        for who, client in people.items():
            listed = await client.get("/api/v1/integrations")
            one = [await client.get(f"/api/v1/integrations/{i['id']}") for i in (owned, unowned)]
            if who == "team stakeholder":
                assert {r.status_code for r in (listed, *one)} == {403}, who
                continue
            assert listed.status_code == 200 and {r.status_code for r in one} == {200}, who
            shown = {i["key"] for i in listed.json()} - {None}
            assert shown == sees.get(who, set()), who
            assert {r.json()["key"] for r in one} - {None} == shown, who
            hidden = {owned["key"], unowned["key"]} - shown
            for text in (listed.text, *(r.text for r in one)):  # not in the intake URL or how-to either
                assert not any(key in text for key in hidden), (who, text)
    finally:
        for client in people.values():
            if client not in api.clients.values():
                await client.aclose()
