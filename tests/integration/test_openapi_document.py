"""The OpenAPI document tells the truth (issue #13): real refusals and non-JSON answers, each checked against
what the document declares for that operation: its status, and the media type it comes back in."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.conftest import Api

PROBLEM = "application/problem+json"


async def document(api: Api) -> dict[str, Any]:
    response = await api.anonymous.get("/api/v1/openapi.json")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def declared(doc: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """`response` is a status and media type the document lists for the operation at `path`."""
    operation = doc["paths"][path][method.lower()]
    answers = operation["responses"]
    status = str(response.status_code)
    assert status in answers, (method, path, status, sorted(answers), response.text[:300])
    media_type = response.headers["content-type"].split(";")[0].strip()
    content = answers[status].get("content", {})
    assert media_type in content, (method, path, status, media_type, sorted(content))
    if media_type == PROBLEM:
        assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}


async def test_refusals_are_declared_as_problem_json_for_their_operation(api: Api) -> None:
    doc = await document(api)
    await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"})
    incident = (await api.admin.post("/api/v1/incidents", json={"title": "t", "severity": "P3"})).json()
    ref = incident["ref"]
    cases = [
        ("GET", "/api/v1/incidents", await api.anonymous.get("/api/v1/incidents"), 401),
        ("GET", "/api/v1/users", await api.stakeholder.get("/api/v1/users"), 403),
        ("GET", "/api/v1/incidents/{ref}", await api.admin.get("/api/v1/incidents/INC-9999"), 404),
        (
            "PATCH",
            "/api/v1/incidents/{ref}",
            await api.admin.patch(
                f"/api/v1/incidents/{ref}", content=b"\x80{}", headers={"content-type": "application/json"}
            ),
            400,
        ),
        (
            "POST",
            "/api/v1/teams",
            await api.admin.post(
                "/api/v1/teams", json={"slug": "t", "name": "T", "members": ["nobody@nowhere.test"]}
            ),
            404,
        ),
        ("GET", "/api/v1/action-items", await api.admin.get("/api/v1/action-items?owner=nobody"), 404),
        ("POST", "/api/v1/incidents", await api.admin.post("/api/v1/incidents", json={"title": ""}), 422),
        (
            "POST",
            "/api/v1/services",
            await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"}),
            409,
        ),
    ]
    for method, path, response, status in cases:
        assert response.status_code == status, (method, path, response.status_code, response.text)
        declared(doc, method, path, response)
    assert "HTTPValidationError" not in str(doc), "FastAPI's own 422 shape is never what the API answers"


async def test_senders_and_links_are_declared_in_the_shape_they_answer(api: Api) -> None:
    doc = await document(api)
    cases = [
        # PagerDuty's clients read `status`, `message` and `errors` from a plain JSON 400.
        ("POST", "/v2/enqueue", await api.anonymous.post("/v2/enqueue", content=b"{"), 400),
        # Opsgenie's: `message`, `took`, `requestId`.
        ("POST", "/v2/alerts", await api.anonymous.post("/v2/alerts", json={"message": "m"}), 401),
        ("GET", "/intake/heartbeat/{key}", await api.anonymous.get("/intake/heartbeat/nokey"), 401),
        ("POST", "/intake/{kind}/{key}", await api.anonymous.post("/intake/webhook/nokey", json={}), 401),
        ("GET", "/ack/{token}", await api.anonymous.get("/ack/not-a-link"), 400),
    ]
    for method, path, response, status in cases:
        assert response.status_code == status, (method, path, response.status_code, response.text)
        declared(doc, method, path, response)


async def test_exports_and_feeds_declare_their_real_media_types(api: Api) -> None:
    await api.load_demo()
    doc = await document(api)
    markdown = await api.admin.get("/api/v1/incidents/INC-1/review/export.md")
    assert markdown.status_code == 200, markdown.text
    declared(doc, "GET", "/api/v1/incidents/{ref}/review/export.md", markdown)
    schedules = (await api.admin.get("/api/v1/schedules")).json()
    feed = await api.anonymous.get(httpx.URL(schedules[0]["ical_url"]).path)
    assert feed.status_code == 200, feed.text
    declared(doc, "GET", "/ical/schedules/{token}.ics", feed)
    pdf = doc["paths"]["/api/v1/incidents/{ref}/review/export.pdf"]["get"]["responses"]
    assert set(pdf["200"]["content"]) == {"application/pdf"}
    assert set(pdf["503"]["content"]) == {PROBLEM}
