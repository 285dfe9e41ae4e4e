"""Response metrics from incidents moved through their milestones with the clock, on both databases:
the API, drills left out by default, bad input, and the Prometheus exposition."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import START
from tests.integration.conftest import Api

PROBLEM = "application/problem+json"


async def declare(api: Api, **fields: Any) -> str:
    body = {"title": "Search is slow", "severity": "P4", **fields}
    response = await api.responder.post("/api/v1/incidents", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["ref"])


async def step(api: Api, minutes: int, path: str, body: dict[str, Any] | None = None) -> None:
    api.clock.advance(timedelta(minutes=minutes))
    response = await api.responder.post(path, json=body or {})
    assert response.status_code == 200, response.text


async def one_full_incident(api: Api) -> str:
    """Impact -20 min, detected -5, declared 0, acked +10, contained +30, mitigated +60, resolved +90."""
    ref = await declare(
        api,
        impact_started_at=(START - timedelta(minutes=20)).isoformat(),
        detected_at=(START - timedelta(minutes=5)).isoformat(),
    )
    await step(api, 10, f"/api/v1/incidents/{ref}/acknowledge")
    await step(api, 10, f"/api/v1/incidents/{ref}/phase", {"phase": "containment", "reason": "go"})
    await step(api, 10, f"/api/v1/incidents/{ref}/phase", {"phase": "eradication", "reason": "go"})
    await step(api, 30, f"/api/v1/incidents/{ref}/phase", {"phase": "recovery", "reason": "go"})
    await step(api, 30, f"/api/v1/incidents/{ref}/resolve", {"reason": "go"})
    return ref


async def metrics(api: Api, **params: str) -> dict[str, Any]:
    response = await api.viewer.get("/api/v1/metrics", params={"since": "1d", **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_metrics_come_from_the_milestones_and_leave_drills_out(api: Api) -> None:
    await one_full_incident(api)
    await declare(api, title="Game day", drill=True)
    await declare(api, title="Still unacknowledged")
    body = await metrics(api)
    overall = body["overall"]
    assert overall["incidents"] == 2
    stats = overall["metrics"]
    assert stats["time_to_detect"] == {"count": 1, "mean": 900.0, "p50": 900.0, "p90": 900.0}
    assert stats["time_to_acknowledge"]["count"] == 1 and stats["time_to_acknowledge"]["mean"] == 600.0
    assert stats["time_to_contain"]["mean"] == 35 * 60.0
    assert stats["time_to_resolve"]["mean"] == 95 * 60.0
    assert stats["time_to_recover"]["mean"] == 80 * 60.0
    # P4's target is the next business day: the acknowledged one met it, the other is not judged yet.
    assert (overall["target_met"], overall["target_missed"], overall["target_compliance"]) == (1, 0, 1.0)
    assert list(body["groups"]) == ["P4"] and body["groups"]["P4"]["incidents"] == 2
    assert body["previous_period"]["incidents"] == 0 and body["trend"]["incidents"] is None
    with_drills = await metrics(api, include_drills="true", group_by="type")
    assert with_drills["overall"]["incidents"] == 3 and with_drills["group_by"] == "type"


async def test_bad_metrics_requests_are_problems(api: Api) -> None:
    for params, field in (({"since": "ninety"}, "since"), ({"group_by": "colour"}, "group_by")):
        response = await api.viewer.get("/api/v1/metrics", params=params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        assert field in response.text
    assert (await api.anonymous.get("/api/v1/metrics")).status_code == 401


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


async def test_prometheus_exposition_counts_rows_and_histograms_durations(api: Api) -> None:
    await one_full_incident(api)
    await declare(api, title="Game day", drill=True)
    assert (await api.anonymous.get("/metrics")).status_code == 401
    response = await api.viewer.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found = families(response.text)
    incidents = {
        (s.labels["status"], s.labels["drill"]): s.value
        for s in found["warroom_incidents"].samples
        if s.name == "warroom_incidents_total"
    }
    assert incidents == {("resolved", "false"): 1.0, ("active", "true"): 1.0}
    detect = {
        (s.name, s.labels.get("le")): s.value
        for s in found["warroom_incident_time_to_detect_seconds"].samples
    }
    assert detect[("warroom_incident_time_to_detect_seconds_count", None)] == 1.0
    assert detect[("warroom_incident_time_to_detect_seconds_sum", None)] == 900.0
    assert detect[("warroom_incident_time_to_detect_seconds_bucket", "300.0")] == 0.0
    assert detect[("warroom_incident_time_to_detect_seconds_bucket", "900.0")] == 1.0


async def test_stakeholders_see_no_internal_figures(api: Api) -> None:
    assert (await api.stakeholder.get("/api/v1/metrics")).status_code == 403
    assert (await api.stakeholder.get("/metrics")).status_code == 403
