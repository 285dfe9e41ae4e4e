"""Every route that takes an incident reference, found from the app itself (API, web pages, exports, live
streams), as admin, participant, non-participant responder, viewer, stakeholder and anonymous against a
restricted incident: admins and participants get through; everyone else is answered exactly as for an
incident that does not exist (404 once signed in), and nothing changes.

RULES must name every such route: a new incident route without a rule here fails the first test."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Route

from tests.integration.conftest import Api
from tests.integration.restricted_helpers import PARTICIPANT, SEES, WHO, People, declare_security, people

# This machine's WeasyPrint lacks HarfBuzz-Subset and says so on import; the PDF export still answers.
pytestmark = pytest.mark.filterwarnings("ignore:HarfBuzz-Subset:DeprecationWarning")
MISSING = "INC-999999"
NO_INCIDENT = re.compile(r"no incident", re.IGNORECASE)
FORM = {"csrf": True}  # a web form post: the CSRF token is added per browser

# (method, path) -> the request body: JSON for the API, form fields for the web UI, None for none.
# Bodies are valid, so a refusal can only come from the incident being hidden, never from validation.
RULES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("GET", "/api/v1/incidents/{ref}"): None,
    ("PATCH", "/api/v1/incidents/{ref}"): {"summary": "edited"},
    ("POST", "/api/v1/incidents/{ref}/acknowledge"): None,
    ("GET", "/api/v1/incidents/{ref}/roles"): None,
    ("POST", "/api/v1/incidents/{ref}/roles"): {"role": "scribe", "user": PARTICIPANT},
    ("POST", "/api/v1/incidents/{ref}/roles/waive"): {"roles": ["technical_lead"], "reason": "two of us"},
    ("POST", "/api/v1/incidents/{ref}/phase"): {"phase": "containment"},
    ("POST", "/api/v1/incidents/{ref}/resolve"): {"reason": "done"},
    ("POST", "/api/v1/incidents/{ref}/page"): {"kind": "user", "ref": PARTICIPANT, "reason": "need you"},
    ("POST", "/api/v1/incidents/{ref}/escalate"): {"reason": "need a decision"},
    ("GET", "/api/v1/incidents/{ref}/tasks"): None,
    ("POST", "/api/v1/incidents/{ref}/tasks"): {"title": "image the host"},
    ("PATCH", "/api/v1/incidents/{ref}/tasks/{task_id}"): {"title": "renamed"},
    ("GET", "/api/v1/incidents/{ref}/playbook"): None,
    ("GET", "/api/v1/incidents/{ref}/observables"): None,
    ("GET", "/api/v1/incidents/{ref}/iocs.stix.json"): None,
    ("GET", "/api/v1/incidents/{ref}/iocs.misp.json"): None,
    ("GET", "/api/v1/incidents/{ref}/customers"): None,
    ("POST", "/api/v1/incidents/{ref}/customers"): {"ticket_id": "1"},
    ("POST", "/api/v1/incidents/{ref}/observables"): {"type": "ip", "value": "203.0.113.9"},
    ("PATCH", "/api/v1/incidents/{ref}/observables/{observable_id}"): {"tlp": "red"},
    ("DELETE", "/api/v1/incidents/{ref}/observables/{observable_id}"): None,
    ("GET", "/api/v1/incidents/{ref}/surfaces"): None,
    ("GET", "/api/v1/incidents/{ref}/blast-radius"): None,
    ("GET", "/api/v1/incidents/{ref}/status-page"): None,
    ("POST", "/incidents/{ref}/services/add"): {**FORM, "service": "nope"},
    ("POST", "/incidents/{ref}/status-page/publish"): {**FORM, "draft": "0"},
    ("POST", "/api/v1/incidents/{ref}/evidence"): None,
    ("GET", "/api/v1/incidents/{ref}/evidence"): None,
    ("GET", "/api/v1/incidents/{ref}/evidence/{evidence_id}/download"): None,
    ("POST", "/api/v1/incidents/{ref}/evidence/{evidence_id}/handover"): {"to": "admin@test.warroom"},
    ("GET", "/api/v1/incidents/{ref}/evidence/{evidence_id}/custody"): None,
    ("POST", "/api/v1/incidents/{ref}/assets"): {
        "new": {"kind": "host", "name": "dc-1", "surface": "identity"}
    },
    ("POST", "/api/v1/incidents/{ref}/tasks/{task_id}/assets"): {
        "new": {"kind": "host", "name": "dc-2", "surface": "endpoint"}
    },
    ("POST", "/api/v1/incidents/{ref}/checklist"): {"phase": "triage", "criterion": 0},
    ("POST", "/api/v1/incidents/{ref}/tasks/{task_id}/waive"): {"reason": "not here"},
    ("POST", "/api/v1/incidents/{ref}/tasks/{task_id}/start"): {"target": "host-1"},
    ("GET", "/api/v1/incidents/{ref}/actions"): None,
    ("POST", "/api/v1/incidents/{ref}/actions/{run_id}/approve"): None,
    ("POST", "/api/v1/incidents/{ref}/links"): {"title": "EDR", "url": "https://edr.example.org/1"},
    ("DELETE", "/api/v1/incidents/{ref}/links/{link_id}"): None,
    ("GET", "/api/v1/incidents/{ref}/updates"): None,
    ("GET", "/api/v1/incidents/{ref}/timeline"): None,
    ("GET", "/api/v1/incidents/{ref}/participants"): None,
    ("POST", "/api/v1/incidents/{ref}/participants"): {"user": "viewer@test.warroom"},
    ("GET", "/api/v1/incidents/{ref}/review"): None,
    ("POST", "/api/v1/incidents/{ref}/review"): None,
    ("PATCH", "/api/v1/incidents/{ref}/review"): {"went_well": "containment"},
    ("POST", "/api/v1/incidents/{ref}/review/status"): {"status": "in_review"},
    ("POST", "/api/v1/incidents/{ref}/review/reviewers"): {"user": PARTICIPANT},
    ("GET", "/api/v1/incidents/{ref}/review/timeline"): None,
    ("PATCH", "/api/v1/incidents/{ref}/review/timeline/{seq}"): {"highlighted": True},
    ("POST", "/api/v1/incidents/{ref}/review/notes"): {"at": "2026-03-02T09:00:00Z", "note": "n"},
    ("GET", "/api/v1/incidents/{ref}/review/export.md"): None,
    ("GET", "/api/v1/incidents/{ref}/review/export.html"): None,
    ("GET", "/api/v1/incidents/{ref}/review/export.pdf"): None,
    ("POST", "/api/v1/incidents/{ref}/review/action-items"): {"title": "rotate krbtgt"},
    ("POST", "/api/v1/incidents/{ref}/updates/preview"): {"body": "We are investigating."},
    ("POST", "/api/v1/incidents/{ref}/updates"): {"audience": "internal", "body": "note"},
    ("POST", "/api/v1/incidents/{ref}/milestones"): {
        "milestone": "compromised",
        "at": "2026-03-01T09:00:00Z",
    },
    ("GET", "/api/v1/incidents/{ref}/changes"): None,
    ("POST", "/api/v1/incidents/{ref}/drill/end"): None,
    ("POST", "/incidents/{ref}/drill/end"): FORM,
    ("GET", "/incidents/{ref}"): None,
    ("POST", "/incidents/{ref}/updates"): {**FORM, "audience": "internal", "body": "note"},
    ("POST", "/incidents/{ref}/severity"): {**FORM, "severity": "P2", "severity_reason": "scoped"},
    ("POST", "/incidents/{ref}/phase"): {**FORM, "phase": "containment"},
    ("POST", "/incidents/{ref}/restriction"): {**FORM, "restricted": "1"},
    ("POST", "/incidents/{ref}/participants"): {**FORM, "user": "viewer@test.warroom"},
    ("POST", "/incidents/{ref}/roles"): {**FORM, "role": "scribe", "user": PARTICIPANT},
    ("POST", "/incidents/{ref}/roles/waive"): {**FORM, "role": "technical_lead", "reason": "two of us"},
    ("POST", "/incidents/{ref}/milestones"): {**FORM, "milestone": "compromised", "at": "2026-03-01T09:00"},
    ("POST", "/incidents/{ref}/acknowledge"): FORM,
    ("POST", "/incidents/{ref}/tasks"): {**FORM, "title": "image the host"},
    ("POST", "/incidents/{ref}/tasks/{task_id}"): {**FORM, "done": "1"},
    ("POST", "/incidents/{ref}/tasks/{task_id}/start"): {**FORM, "target": "host-1"},
    ("POST", "/incidents/{ref}/tasks/{task_id}/waive"): {**FORM, "reason": "not here"},
    ("POST", "/incidents/{ref}/checklist"): {**FORM, "phase": "triage", "criterion": "0"},
    ("POST", "/incidents/{ref}/actions/{run_id}/approve"): FORM,
    ("POST", "/incidents/{ref}/observables"): {**FORM, "text": "203.0.113.8"},
    ("POST", "/incidents/{ref}/observables/{observable_id}/delete"): FORM,
    ("POST", "/incidents/{ref}/assets"): {**FORM, "kind": "host", "name": "dc-3", "surface": "identity"},
    ("POST", "/incidents/{ref}/evidence"): {**FORM, "collected_from": "dc-1"},
    ("POST", "/incidents/{ref}/page"): {
        **FORM,
        "kind": "user",
        "target": "admin@test.warroom",
        "reason": "r",
    },
    ("POST", "/incidents/{ref}/escalate"): {**FORM, "reason": "r"},
    ("GET", "/incidents/{ref}/evidence/{evidence_id}/download"): None,
    ("POST", "/incidents/{ref}/links"): {**FORM, "title": "EDR", "url": "https://edr.example.org/2"},
    ("POST", "/incidents/{ref}/links/{link_id}/delete"): FORM,
    ("POST", "/incidents/{ref}/alerts"): {**FORM, "alert": "1"},
    ("GET", "/incidents/{ref}/review"): None,
    ("GET", "/incidents/{ref}/review.{kind}"): None,
    ("POST", "/incidents/{ref}/review/draft"): FORM,
    ("POST", "/incidents/{ref}/review/edit"): {**FORM, "went_well": "containment"},
    ("POST", "/incidents/{ref}/review/timeline/{seq}"): {**FORM, "action": "highlight"},
    ("POST", "/incidents/{ref}/review/notes"): {**FORM, "at": "2026-03-02T09:00", "note": "n"},
    ("POST", "/incidents/{ref}/review/reviewers"): {**FORM, "user": PARTICIPANT},
    ("POST", "/incidents/{ref}/review/status"): {**FORM, "status": "in_review"},
    ("POST", "/incidents/{ref}/review/action-items"): {**FORM, "title": "rotate krbtgt"},
    ("POST", "/incidents/{ref}/review/action-items/{item_id}"): {**FORM, "status": "in_progress"},
    ("GET", "/live/incidents/{ref}"): None,
}
# Who sees it and who manages access differ: a participant who is not its commander may not add others.
COMMANDER_ONLY = {
    ("POST", "/api/v1/incidents/{ref}/participants"),
    ("POST", "/incidents/{ref}/restriction"),
    ("POST", "/incidents/{ref}/participants"),
}


def flat_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    """Every endpoint of the app, through included routers (FastAPI keeps them nested)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flat_routes(inner.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def incident_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, route in flat_routes(app.routes)
        if "incidents/{ref}" in path
        for method in (route.methods or set()) - {"HEAD"}
    }


def test_every_incident_route_has_a_rule(api: Api) -> None:
    found = incident_routes(api.app)
    assert len(found) > 40, found  # the enumeration sees the included routers at all
    assert found - set(RULES) == set(), "incident routes without a restricted-incident rule"
    assert set(RULES) - found == set(), "rules for routes that no longer exist"


async def _world(api: Api) -> dict[str, str]:
    """The restricted incident, with something real behind every {placeholder}."""
    ref = await declare_security(api)
    admin = api.admin
    task = (await admin.post(f"/api/v1/incidents/{ref}/tasks", json={"title": "t"})).json()
    link = {"title": "Dashboard", "url": "https://grafana.example.org/d/1"}
    link_id = (await admin.post(f"/api/v1/incidents/{ref}/links", json=link)).json()["id"]
    assert (await admin.post(f"/api/v1/incidents/{ref}/review")).status_code == 201
    item = await admin.post(f"/api/v1/incidents/{ref}/review/action-items", json={"title": "i"})
    added = await admin.post(f"/api/v1/incidents/{ref}/participants", json={"user": PARTICIPANT})
    assert added.status_code == 201, added.text
    return {
        "ref": ref,
        "task_id": str(task["id"]),
        "link_id": str(link_id),
        "seq": "1",
        "item_id": str(item.json()["id"]),
        "kind": "md",
        "run_id": "999",
        "observable_id": "999",
        "evidence_id": "999",
    }


CSRF_TOKENS: dict[int, str] = {}


async def _csrf(client: httpx.AsyncClient) -> str:
    """The browser's CSRF token (one per session, so read once); none for a browser not signed in."""
    if id(client) not in CSRF_TOKENS:
        found = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/")).text)
        CSRF_TOKENS[id(client)] = found.group(1) if found else ""
    return CSRF_TOKENS[id(client)]


async def _stream_status(app: FastAPI, client: httpx.AsyncClient, path: str) -> tuple[int, str]:
    """The status of a streaming route without waiting for the stream to end: the ASGI app is called
    directly and stopped once the response has started."""
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client says nothing more until it is cancelled
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and not started.done():
            started.set_result(int(message["status"]))

    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"warroom.test"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 1), "server": ("warroom.test", 80),
    }  # fmt: skip
    task = asyncio.create_task(app(scope, receive, send))
    try:
        return await asyncio.wait_for(started, timeout=60), ""
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _call(
    api: Api, people: People, who: str, method: str, path: str, body: dict[str, Any] | None
) -> tuple[int, str]:
    web = not path.startswith("/api/")
    client = (people.web if web else people.api)[who]
    if path.startswith("/live/"):
        return await _stream_status(api.app, client, path)
    if web and body is not None:
        form = {k: v for k, v in body.items() if k != "csrf"}
        answer = await client.request(method, path, data={"csrf_token": await _csrf(client), **form})
    else:
        answer = await client.request(method, path, json=body)
    return answer.status_code, answer.text


def _fill(path: str, values: dict[str, str]) -> str:
    return path.format(**values)


async def _snapshot(api: Api, ref: str) -> list[Any]:
    timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    return [(e["kind"], e["data"]) for e in timeline if e["kind"] != "accessed"]


async def test_only_admins_and_participants_reach_a_restricted_incident(api: Api) -> None:
    CSRF_TOKENS.clear()
    async with people(api) as found:
        values = await _world(api)
        missing = {**values, "ref": MISSING}
        before = await _snapshot(api, values["ref"])
        refused: list[str] = []
        for (method, path), body in RULES.items():
            for who in [w for w in WHO if w not in SEES]:
                status, text = await _call(api, found, who, method, _fill(path, values), body)
                expected, missing_text = await _call(api, found, who, method, _fill(path, missing), body)
                if status != expected or (who != "anonymous" and status != 404 and status != 403):
                    refused.append(f"{who} {method} {path}: {status}, not {expected} as for no incident")
                if path.startswith("/api/") and text.replace(values["ref"], MISSING) != missing_text:
                    refused.append(f"{who} {method} {path}: answered unlike a missing incident: {text}")
        assert refused == []
        assert await _snapshot(api, values["ref"]) == before  # a hidden incident changes for no one
        for (method, path), body in RULES.items():
            for who in SEES:
                status, text = await _call(api, found, who, method, _fill(path, values), body)
                if status == 404 and NO_INCIDENT.search(text):
                    refused.append(f"{who} {method} {path}: hidden from someone who may see it")
                if status in (401, 403) and not (who == "participant" and (method, path) in COMMANDER_ONLY):
                    refused.append(f"{who} {method} {path}: {status}")
        assert refused == []


async def test_signed_in_non_participants_get_404_not_403(api: Api) -> None:
    """The leak of the issue: a viewer, a responder without a role and a stakeholder read it in full."""
    async with people(api) as found:
        ref = (await _world(api))["ref"]
        for who in ("responder", "viewer", "stakeholder"):
            for path in (f"/api/v1/incidents/{ref}", f"/api/v1/incidents/{ref}/updates"):
                assert (await found.api[who].get(path)).status_code == 404, (who, path)
            assert (await found.web[who].get(f"/incidents/{ref}")).status_code == 404, who
        for who in SEES:
            shown = await found.api[who].get(f"/api/v1/incidents/{ref}")
            assert shown.status_code == 200 and shown.json()["title"] == "attacker has domain admin creds"
            assert (await found.web[who].get(f"/incidents/{ref}")).status_code == 200
