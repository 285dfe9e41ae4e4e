"""Intake's fast lane (alerts/intake/fastlane.py) answers the intake writes ahead of FastAPI's routing: it
must pick the very route FastAPI would, and keep what FastAPI's layers gave those routes (security headers,
the body limit, NUL out of the path, the app's exception handlers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

from starlette.routing import Match

from tests.integration.conftest import Api
from tests.integration.test_http_security import assert_secured
from tests.integration.test_intake import alerts, integration, pd_event
from warroom.alerts.intake import api as intake_api
from warroom.alerts.intake.api import intake_endpoint
from warroom.alerts.rules.api import ping_router

REQUESTS = [
    ("POST", "/v2/enqueue"),
    ("POST", "/v2/change/enqueue"),
    ("POST", "/v2/alerts"),
    ("POST", "/v2/alerts/abc-1/acknowledge"),
    ("POST", "/v2/alerts/abc-1/no-such-action"),
    ("POST", "/v2/alerts/requests/r-1"),
    ("PUT", "/v2/alerts/abc-1/message"),
    ("GET", "/v2/alerts/abc-1"),
    ("GET", "/v2/alerts/requests/r-1"),
    ("POST", "/intake/alertmanager"),
    ("POST", "/intake/alertmanager/k-1"),
    ("POST", "/intake/grafana/k-1"),
    ("PUT", "/intake/grafana/k-1"),
    ("PUT", "/intake/alertmanager/k-1"),
    ("POST", "/intake/heartbeat/k-1"),
    ("GET", "/intake/heartbeat/k-1"),
    ("POST", "/intake/no-such-kind/k-1"),
    ("POST", "/intake/grafana/k-1/more"),
    ("POST", "/intake//k-1"),
    ("POST", "/v2/enqueue/"),
    ("DELETE", "/v2/alerts/abc-1/acknowledge"),
    ("POST", "/api/v1/incidents"),
]
# What FastAPI serves under the intake prefixes and the lane leaves to it: reads, heartbeats, and the 404
# problem for a kind with no intake.
LEFT_TO_FASTAPI = {
    "opsgenie_get_alert",
    "opsgenie_request_status",
    "webhook_intake",
    "heartbeat_ping",
    "heartbeat_ping_get",
}


def fastapi_pick(method: str, path: str) -> tuple[Callable[..., Any], list[str]] | None:
    """The endpoint FastAPI routes (method, path) to among the intake routes, which the app mounts first."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b""}
    for route in [*ping_router.routes, *intake_api.router.routes]:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return child["endpoint"], list(child["path_params"].values())
    return None


def lane_pick(method: str, path: str) -> tuple[Callable[..., Any], list[str]] | None:
    endpoint = intake_endpoint(method, path)
    if isinstance(endpoint, partial):
        return endpoint.func, list(endpoint.args)
    return None if endpoint is None else (endpoint, [])


def test_the_fast_lane_picks_the_route_fastapi_would() -> None:
    taken = 0
    for method, path in REQUESTS:
        lane, fastapi = lane_pick(method, path), fastapi_pick(method, path)
        if lane is None:
            assert fastapi is None or fastapi[0].__name__ in LEFT_TO_FASTAPI, (method, path, fastapi)
            if fastapi is not None and fastapi[0].__name__ == "webhook_intake":
                assert fastapi[1][0] not in intake_api.WEBHOOK_PARSERS, (method, path)
            continue
        taken += 1
        assert fastapi is not None and lane[0] is fastapi[0], (method, path, lane, fastapi)
        assert lane[1] == fastapi[1], (method, path)
    assert taken == 11  # every intake write above; none of the rest


async def test_fast_lane_answers_keep_what_fastapi_gave_them(api: Api) -> None:
    pagerduty = (await integration(api, "pagerduty"))["key"]
    accepted = await api.anonymous.post("/v2/enqueue", json=pd_event(pagerduty, dedup="fast-1"))
    assert accepted.status_code == 202 and accepted.json()["dedup_key"] == "fast-1"
    assert_secured(accepted, html=False)

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield b'{"routing_key": "' + pagerduty.encode() + b'", "payload": {"x": "'
        for _ in range(9):
            yield b"y" * 65_536
        yield b'"}}'

    too_big = await api.anonymous.post("/v2/enqueue", content=streamed())
    assert too_big.status_code == 413 and too_big.headers["content-type"] == "application/problem+json"
    assert "524288 bytes" in too_big.json()["detail"]
    assert_secured(too_big, html=False)

    grafana = (await integration(api, "grafana"))["key"]
    firing = {"status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "NulInPath"}}]}
    with_nul = await api.anonymous.post(f"/intake/grafana/{grafana}%00", json=firing)
    assert with_nul.status_code == 202, with_nul.text  # NUL out of the path, as for every other route
    titles = sorted(alert["title"] for alert in await alerts(api))
    assert titles == ["Disk full on db-1", "NulInPath"]


async def test_paths_left_to_fastapi_answer_as_before(api: Api) -> None:
    grafana = (await integration(api, "grafana"))["key"]
    unknown = await api.anonymous.post(f"/intake/no-such-kind/{grafana}", json={})
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    assert "no intake for 'no-such-kind'" in unknown.json()["detail"]
    slash = await api.anonymous.post("/v2/enqueue/", json={})
    assert slash.status_code in (307, 404)  # FastAPI's own answer to a trailing slash; not the lane's
    assert await alerts(api) == []


async def test_an_id_past_any_row_finds_nothing_alike_on_both_databases(api: Api) -> None:
    """PostgreSQL refused a tiny id past its `integer` (422) where SQLite found no alert (202, dropped)."""
    key = (await integration(api, "opsgenie"))["key"]
    genie = {"Authorization": f"GenieKey {key}"}
    for huge in ("99999999999", str(2**31)):
        acted = await api.anonymous.post(
            f"/v2/alerts/{huge}/acknowledge?identifierType=tiny", json={}, headers=genie
        )
        assert acted.status_code == 202, acted.text
        status = await api.anonymous.get(f"/v2/alerts/requests/{acted.json()['requestId']}", headers=genie)
        assert status.json()["data"]["success"] is False, status.text  # nothing was acknowledged
        read = await api.anonymous.get(f"/v2/alerts/{huge}?identifierType=tiny", headers=genie)
        assert read.status_code == 404, read.text
        assert (await api.viewer.get(f"/api/v1/alerts/{huge}")).status_code == 404
