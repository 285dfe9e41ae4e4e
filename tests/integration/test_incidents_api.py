"""Every incident endpoint on SQLite and PostgreSQL, including the bad input that must change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import START
from tests.integration.conftest import Api

PROBLEM = "application/problem+json"


async def declare(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"title": "Checkout down", "severity": "P2", **fields}
    response = await api.responder.post("/api/v1/incidents", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def kinds(api: Api, ref: str) -> list[str]:
    return [e["kind"] for e in (await api.responder.get(f"/api/v1/incidents/{ref}/timeline")).json()]


async def incident_count(api: Api) -> int:
    return (await api.admin.get("/api/v1/incidents")).json()["total"]  # type: ignore[no-any-return]


async def test_declare_records_everything_it_was_told(api: Api) -> None:
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    incident = await declare(
        api,
        severity="P1",
        type="security",
        summary="tokens leaked",
        customer_impact="none yet",
        services=["checkout"],
        impact_started_at=(START - timedelta(minutes=30)).isoformat(),
        detected_at=(START - timedelta(minutes=10)).isoformat(),
    )
    assert incident["type"] == "security" and incident["services"] == ["checkout"]
    assert incident["declared_by"]["email"] == api.emails["responder"]
    assert len(incident["procedure_version"]) == 64
    assert incident["missing_roles"] == ["incident_commander", "communications_lead", "technical_lead"]
    timeline = (await api.responder.get(f"/api/v1/incidents/{incident['ref']}/timeline")).json()
    assert [e["kind"] for e in timeline] == ["impact_started", "detected", "declared"]
    assert timeline[0]["at"].startswith("2026-03-02T09:30")
    tasks = (await api.responder.get(f"/api/v1/incidents/{incident['ref']}/tasks")).json()
    assert tasks and all(not t["done"] for t in tasks)  # the security playbook started


async def test_declare_defaults_to_the_first_type_and_now(api: Api) -> None:
    incident = await declare(api)
    assert incident["type"] == api.context.procedure.procedure.type_ids()[0]
    assert incident["declared_at"] == incident["detected_at"] == "2026-03-02T10:00:00Z"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"title": "x", "severity": "P9"}, "severity", "unknown severity 'P9'"),
        ({"severity": "P1"}, "title", "Field required"),
        ({"title": "x" * 2_000_000, "severity": "P1"}, "title", "at most 300"),
        ({"title": "x", "severity": "P1", "type": "alien"}, "type", "unknown incident type"),
        ({"title": "x", "severity": "P1", "services": ["nope"]}, "services", "unknown service(s): nope"),
        ({"title": "x", "severity": "P1", "colour": "red"}, "colour", "Extra inputs"),
        ({"title": "x", "severity": "P1", "detected_at": "2030-01-01T00:00:00Z"}, "detected_at", "future"),
        ({"title": "x", "severity": "P1", "detected_at": "2026-01-01T00:00:00"}, "detected_at", "timezone"),
    ],
)
async def test_bad_declarations_name_the_field_and_change_nothing(
    api: Api, body: dict[str, Any], field: str, words: str
) -> None:
    response = await api.responder.post("/api/v1/incidents", json=body)
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert any(e["field"] == field and words in e["message"] for e in problem["errors"]), problem["errors"]
    assert await incident_count(api) == 0


async def test_malformed_json_and_oversized_bodies_are_refused(api: Api) -> None:
    response = await api.responder.post(
        "/api/v1/incidents", content=b"{not json", headers={"content-type": "application/json"}
    )
    # Not JSON at all is a bad request (400, from warroom.inbound); JSON of the wrong shape is a 422.
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM
    huge = b'{"title": "' + b"x" * (6 * 1024 * 1024) + b'", "severity": "P1"}'
    response = await api.responder.post(
        "/api/v1/incidents", content=huge, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.headers["content-type"] == PROBLEM

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"severity": "P1", "title": "'
        for _ in range(7):
            yield b"x" * 1024 * 1024
        yield b'"}'

    streamed = await api.responder.post(
        "/api/v1/incidents", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413 and "over the limit" in streamed.json()["detail"]
    assert await incident_count(api) == 0


async def test_unknown_incident_is_404_problem(api: Api) -> None:
    for path in ("/api/v1/incidents/INC-999", "/api/v1/incidents/nonsense", "/api/v1/incidents/999/timeline"):
        response = await api.responder.get(path)
        assert response.status_code == 404 and response.headers["content-type"] == PROBLEM, path
    response = await api.responder.post("/api/v1/incidents/INC-999/phase", json={"phase": "containment"})
    assert response.status_code == 404


async def test_read_by_id_or_ref(api: Api) -> None:
    incident = await declare(api)
    by_id = (await api.viewer.get(f"/api/v1/incidents/{incident['id']}")).json()
    by_ref = (await api.viewer.get(f"/api/v1/incidents/{incident['ref'].lower()}")).json()
    assert by_id == by_ref and by_id["title"] == "Checkout down"


async def test_list_filters_and_pages(api: Api) -> None:
    await api.admin.post("/api/v1/services", json={"slug": "search", "name": "Search"})
    await declare(api, title="Search slow", severity="P3", services=["search"])
    api.clock.advance(timedelta(hours=1))
    second = await declare(api, title="Payments failing", severity="P1", summary="card auth timeouts")
    api.clock.advance(timedelta(hours=1))
    third = await declare(api, title="Typo on pricing page", severity="P4")
    await api.responder.post(f"/api/v1/incidents/{third['ref']}/resolve", json={"reason": "fixed"})

    async def refs(**params: Any) -> list[str]:
        page = (await api.viewer.get("/api/v1/incidents", params=params)).json()
        return [i["title"] for i in page["items"]]

    assert await refs() == ["Typo on pricing page", "Payments failing", "Search slow"]
    assert await refs(status="resolved") == ["Typo on pricing page"]
    assert await refs(status="active", severity=["P1", "P3"]) == ["Payments failing", "Search slow"]
    assert await refs(service="search") == ["Search slow"]
    assert await refs(q="CARD AUTH") == ["Payments failing"]
    assert await refs(declared_after=second["declared_at"], declared_before=third["declared_at"]) == [
        "Payments failing"
    ]
    page = (await api.viewer.get("/api/v1/incidents", params={"limit": 2, "offset": 2})).json()
    assert (page["total"], [i["title"] for i in page["items"]]) == (3, ["Search slow"])
    bad = await api.viewer.get("/api/v1/incidents", params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.limit"


async def test_patch_fields_and_severity_with_reason(api: Api) -> None:
    ref = (await declare(api))["ref"]
    response = await api.responder.patch(f"/api/v1/incidents/{ref}", json={"severity": "P1"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "severity_reason"
    response = await api.responder.patch(
        f"/api/v1/incidents/{ref}", json={"severity": "P7", "severity_reason": "x"}
    )
    assert response.status_code == 422
    assert (await api.responder.get(f"/api/v1/incidents/{ref}")).json()["severity"] == "P2"
    response = await api.responder.patch(
        f"/api/v1/incidents/{ref}",
        json={"title": "Checkout down in EU", "severity": "P1", "severity_reason": "all regions"},
    )
    assert response.status_code == 200 and response.json()["severity"] == "P1"
    timeline = (await api.responder.get(f"/api/v1/incidents/{ref}/timeline")).json()
    assert timeline[-2]["kind"] == "updated" and timeline[-2]["data"]["changes"] == {
        "title": "Checkout down in EU"
    }
    assert timeline[-1]["data"] == {"old": "P2", "new": "P1", "reason": "all regions"}


async def test_roles_assign_pass_on_and_keep_history(api: Api) -> None:
    ref = (await declare(api))["ref"]
    path = f"/api/v1/incidents/{ref}/roles"
    admin, responder = api.emails["admin"], api.emails["responder"]
    first = await api.responder.post(path, json={"role": "incident_commander", "user": admin})
    assert first.status_code == 200
    api.clock.advance(timedelta(minutes=5))
    second = (await api.responder.post(path, json={"role": "incident_commander", "user": responder})).json()
    assert [h["user"]["email"] for h in second["current"]] == [responder]
    assert [(h["user"]["email"], h["unassigned_at"] is not None) for h in second["history"]] == [
        (admin, True),
        (responder, False),
    ]
    both = [
        await api.responder.post(path, json={"role": "technical_lead", "user": u}) for u in (admin, responder)
    ]
    leads = [h["user"]["email"] for h in both[-1].json()["current"] if h["role"] == "technical_lead"]
    assert leads == [admin, responder]
    gone = (
        await api.responder.post(path, json={"role": "technical_lead", "user": admin, "action": "unassign"})
    ).json()
    assert [h["user"]["email"] for h in gone["current"] if h["role"] == "technical_lead"] == [responder]
    incident = (await api.responder.get(f"/api/v1/incidents/{ref}")).json()
    assert incident["acknowledged_at"] == "2026-03-02T10:00:00Z"  # the first assignment acknowledged it


async def test_bad_role_changes_name_the_problem_and_change_nothing(api: Api) -> None:
    ref = (await declare(api))["ref"]
    path = f"/api/v1/incidents/{ref}/roles"
    before = await kinds(api, ref)
    unknown_role = await api.responder.post(path, json={"role": "chief_wizard", "user": api.emails["admin"]})
    assert unknown_role.status_code == 422 and "incident_commander" in unknown_role.json()["detail"]
    unknown_user = await api.responder.post(path, json={"role": "scribe", "user": "ghost@nowhere"})
    assert unknown_user.status_code == 422 and unknown_user.json()["errors"][0]["field"] == "user"
    not_held = await api.responder.post(
        path, json={"role": "scribe", "user": api.emails["admin"], "action": "unassign"}
    )
    assert not_held.status_code == 409
    assert await kinds(api, ref) == before


async def test_phases_move_by_the_procedure_and_reopen(api: Api) -> None:
    ref = (await declare(api, severity="P3"))["ref"]
    phase = f"/api/v1/incidents/{ref}/phase"
    illegal = await api.responder.post(phase, json={"phase": "eradication"})
    assert illegal.status_code == 409
    assert illegal.json()["allowed"] == ["containment", "recovery", "review", "closed"]
    assert "allowed from triage" in illegal.json()["detail"]
    unknown = await api.responder.post(phase, json={"phase": "party"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "phase"
    await api.responder.post(
        f"/api/v1/incidents/{ref}/roles", json={"role": "incident_commander", "user": "1"}
    )
    for target in ("containment", "eradication", "recovery", "closed"):
        api.clock.advance(timedelta(minutes=10))
        response = await api.responder.post(phase, json={"phase": target, "reason": f"to {target}"})
        assert response.status_code == 200, response.text
    closed = response.json()
    assert (
        closed["status"] == "closed"
        and closed["contained_at"]
        and closed["mitigated_at"]
        and closed["closed_at"]
    )
    reopened = (await api.responder.post(phase, json={"phase": "triage", "reason": "it came back"})).json()
    assert (reopened["status"], reopened["resolved_at"], reopened["closed_at"]) == ("active", None, None)
    assert (await kinds(api, ref))[-2:] == ["reopened", "phase_changed"]


async def test_tasks_and_updates(api: Api) -> None:
    ref = (await declare(api))["ref"]
    created = await api.responder.post(
        f"/api/v1/incidents/{ref}/tasks",
        json={
            "title": "Roll back deploy",
            "assignee": api.emails["viewer"],
            "due_at": "2026-03-02T11:00:00Z",
        },
    )
    assert created.status_code == 201
    task = created.json()
    assert task["assignee"]["email"] == api.emails["viewer"] and task["due_at"] == "2026-03-02T11:00:00Z"
    api.clock.advance(timedelta(minutes=7))
    done = (
        await api.responder.patch(f"/api/v1/incidents/{ref}/tasks/{task['id']}", json={"done": True})
    ).json()
    assert done["done"] is True and done["done_at"] == "2026-03-02T10:07:00Z"
    missing = await api.responder.patch(f"/api/v1/incidents/{ref}/tasks/99999", json={"done": True})
    assert missing.status_code == 404
    note = await api.responder.post(f"/api/v1/incidents/{ref}/updates", json={"body": "pool exhausted"})
    assert note.status_code == 201 and note.json()["audience"] == "internal"
    empty = await api.responder.post(f"/api/v1/incidents/{ref}/updates", json={"body": ""})
    assert empty.status_code == 422
    assert (await kinds(api, ref))[-3:] == ["task_added", "task_done", "note"]


async def test_links_are_added_shown_and_removed(api: Api) -> None:
    ref = (await declare(api))["ref"]
    body = {"title": "Grafana: checkout", "url": "https://grafana.example.org/d/checkout?from=now-1h"}
    created = await api.responder.post(f"/api/v1/incidents/{ref}/links", json=body)
    assert created.status_code == 201, created.text
    link = created.json()
    assert (link["title"], link["url"]) == (body["title"], body["url"])
    assert link["added_by"]["email"] == api.emails["responder"] and link["added_at"] == "2026-03-02T10:00:00Z"
    shown = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["links"]
    assert [(x["id"], x["url"]) for x in shown] == [(link["id"], body["url"])]
    assert (await api.stakeholder.get(f"/api/v1/incidents/{ref}")).json()["links"] is None
    removed = await api.responder.delete(f"/api/v1/incidents/{ref}/links/{link['id']}")
    assert removed.status_code == 204
    assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["links"] == []
    again = await api.responder.delete(f"/api/v1/incidents/{ref}/links/{link['id']}")
    assert again.status_code == 404
    assert (await kinds(api, ref))[-2:] == ["link_added", "link_removed"]
    events = (await api.responder.get(f"/api/v1/incidents/{ref}/timeline")).json()
    assert events[-1]["data"] == {"link_id": link["id"], "title": body["title"], "url": body["url"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "url": "javascript:alert(1)"}, "url"),
        ({"title": "x", "url": "ftp://files.example.org/a"}, "url"),
        ({"title": "x", "url": "https://"}, "url"),
        ({"title": "x", "url": "grafana.example.org"}, "url"),
        ({"title": "  ", "url": "https://example.org"}, "title"),
        ({"title": "x" * 201, "url": "https://example.org"}, "title"),
    ],
)
async def test_a_bad_link_is_422_and_changes_nothing(api: Api, body: dict[str, str], field: str) -> None:
    incident = await declare(api)
    ref = incident["ref"]
    before = await kinds(api, ref)
    refused = await api.responder.post(f"/api/v1/incidents/{ref}/links", json=body)
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert field in refused.text
    after = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()
    assert after["links"] == [] and after["updated_at"] == incident["updated_at"]
    assert await kinds(api, ref) == before


async def test_viewers_may_not_add_or_remove_links(api: Api) -> None:
    ref = (await declare(api))["ref"]
    body = {"title": "Runbook", "url": "http://wiki.example.org/runbook"}
    refused = await api.viewer.post(f"/api/v1/incidents/{ref}/links", json=body)
    assert refused.status_code == 403
    link = (await api.responder.post(f"/api/v1/incidents/{ref}/links", json=body)).json()
    before = await kinds(api, ref)
    assert (await api.viewer.delete(f"/api/v1/incidents/{ref}/links/{link['id']}")).status_code == 403
    links = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["links"]
    assert [x["id"] for x in links] == [link["id"]] and await kinds(api, ref) == before


async def test_response_target_clock_counts_down_then_overdue(api: Api) -> None:
    ref = (await declare(api, severity="P1"))["ref"]
    api.clock.advance(timedelta(minutes=10))
    clock = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["response_target"]
    assert (clock["met"], clock["overdue"], clock["remaining_seconds"]) == (None, False, 300)
    api.clock.advance(timedelta(minutes=20))
    clock = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["response_target"]
    assert (clock["met"], clock["overdue"], clock["remaining_seconds"]) == (False, True, -900)
    await api.responder.post(f"/api/v1/incidents/{ref}/acknowledge")
    clock = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["response_target"]
    assert (clock["met"], clock["acknowledged_at"]) == (False, "2026-03-02T10:30:00Z")


async def test_p4_is_due_the_next_business_day(api: Api) -> None:
    api.clock.set(START + timedelta(days=4, hours=4))  # Friday 14:00 UTC
    ref = (await declare(api, severity="P4"))["ref"]
    clock = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["response_target"]
    assert clock["deadline"] == "2026-03-09T17:00:00Z" and clock["target"] == "next_business_day"
    await api.responder.post(f"/api/v1/incidents/{ref}/acknowledge")
    assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["response_target"]["met"] is True


async def test_procedure_and_services_and_teams(api: Api) -> None:
    procedure = (await api.viewer.get("/api/v1/procedure")).json()
    assert [s["id"] for s in procedure["procedure"]["severities"]] == ["P1", "P2", "P3", "P4"]
    sop = await api.viewer.get("/api/v1/procedure/sop")
    assert sop.status_code == 200 and "Incident commander" in sop.text
    team = await api.admin.post(
        "/api/v1/teams", json={"slug": "payments", "name": "Payments", "members": [api.emails["responder"]]}
    )
    assert team.status_code == 201 and team.json()["members"] == [api.emails["responder"]]
    duplicate = await api.admin.post("/api/v1/teams", json={"slug": "payments", "name": "Again"})
    assert duplicate.status_code == 409
    service = await api.admin.post(
        "/api/v1/services", json={"slug": "pay", "name": "Pay", "team": "payments"}
    )
    assert service.status_code == 201
    assert (await api.viewer.get("/api/v1/services/pay")).json()["name"] == "Pay"
    assert (await api.viewer.get("/api/v1/services/nope")).status_code == 404
    bad_slug = await api.admin.post("/api/v1/services", json={"slug": "Bad Slug", "name": "x"})
    assert bad_slug.status_code == 422 and bad_slug.json()["errors"][0]["field"] == "slug"


async def test_users_tokens_and_me(api: Api) -> None:
    me = (await api.viewer.get("/api/v1/me")).json()
    assert (me["email"], me["role"]) == (api.emails["viewer"], "viewer")
    created = await api.admin.post(
        "/api/v1/users", json={"email": "New@Example.org", "role": "responder", "password": "long enough pw"}
    )
    assert created.status_code == 201 and created.json()["email"] == "new@example.org"
    again = await api.admin.post("/api/v1/users", json={"email": "new@example.org"})
    assert again.status_code == 409
    bad_role = await api.admin.post("/api/v1/users", json={"email": "x@example.org", "role": "god"})
    assert bad_role.status_code == 422 and bad_role.json()["errors"][0]["field"] == "role"
    token = (await api.viewer.post("/api/v1/me/tokens", json={"name": "laptop"})).json()
    assert token["token"].startswith("wr_") and token["prefix"] == token["token"][:9]
    fresh = await api.anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert fresh.json()["email"] == api.emails["viewer"]


async def test_healthz_reports_the_database_without_auth(api: Api) -> None:
    health = (await api.anonymous.get("/healthz")).json()
    assert health["status"] == "ok" and health["database"]["status"] == "ok"
    assert health["database"]["dialect"] in ("sqlite", "postgresql")
