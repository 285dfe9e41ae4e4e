"""Hostile and careless input (#13 findings 1, 2 and 5), on both databases: a clear 4xx or a normalised store,
never a 5xx, and the same stored result on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.integration.conftest import Api
from tests.integration.test_intake import alerts, fixture, integration, pd_event

GENIE = "GenieKey"


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"next": value}
    return value


async def test_deeply_nested_custom_details_are_refused_and_the_alerts_api_stays_up(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    answer = await api.anonymous.post("/v2/enqueue", json=pd_event(key, custom_details=nested(300)))
    assert answer.status_code == 400
    assert answer.json()["errors"] == ["is nested deeper than 32 levels"]
    fine = await api.anonymous.post("/v2/enqueue", json=pd_event(key, custom_details=nested(20)))
    assert fine.status_code == 202
    listed = await api.viewer.get("/api/v1/alerts")
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    one = await api.viewer.get(f"/api/v1/alerts/{listed.json()['items'][0]['id']}")
    assert one.status_code == 200


async def test_json_nested_a_thousand_deep_is_a_400_on_every_route(api: Api) -> None:
    body = ("[" * 1000 + "]" * 1000).encode()
    pd_key = (await integration(api, "pagerduty"))["key"]
    am_key = (await integration(api, "alertmanager"))["key"]
    headers = {"content-type": "application/json"}
    assert (await api.anonymous.post("/v2/enqueue", content=body, headers=headers)).status_code == 400
    am = await api.anonymous.post(f"/intake/alertmanager/{am_key}", content=body, headers=headers)
    assert am.status_code == 400
    created = await api.responder.post("/api/v1/incidents", content=body, headers=headers)
    assert created.status_code == 400
    assert "nested deeper than 32" in created.json()["detail"]
    assert pd_key  # the key exists: the refusal is about the body, not the key


async def test_nul_characters_are_removed_the_same_way_on_both_databases(api: Api) -> None:
    pd_key = (await integration(api, "pagerduty"))["key"]
    sent = pd_event(pd_key, dedup="nul-1", summary="Disk\u0000 full", component="db\u0000-1")
    assert (await api.anonymous.post("/v2/enqueue", json=sent)).status_code == 202
    og_key = (await integration(api, "opsgenie"))["key"]
    og = await api.anonymous.post(
        "/v2/alerts",
        json={"message": "Queue\u0000 stuck", "alias": "q\u00001"},
        headers={"Authorization": f"{GENIE} {og_key}"},
    )
    assert og.status_code == 202
    am_key = (await integration(api, "alertmanager"))["key"]
    firing = fixture("alertmanager_firing.json")
    firing["alerts"][0]["labels"]["team"] = "pay\u0000ments"
    assert (await api.anonymous.post(f"/intake/alertmanager/{am_key}", json=firing)).status_code == 202
    stored = {a["title"]: a for a in await alerts(api)}
    assert "Disk full" in stored and "Queue stuck" in stored
    assert stored["Disk full"]["labels"]["component"] == "db-1"
    assert any(a["labels"].get("team") == "payments" for a in stored.values())
    assert not any("\u0000" in json.dumps(a) for a in stored.values())


async def test_a_lone_surrogate_becomes_a_replacement_character(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    body = json.dumps(pd_event(key, summary="broken \ud800 text")).encode()
    answer = await api.anonymous.post(
        "/v2/enqueue", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 202
    (alert,) = await alerts(api)
    assert alert["title"] == "broken \ufffd text"
    incident = await api.responder.post(
        "/api/v1/incidents",
        content=b'{"title": "odd \\udc00 title", "severity": "P3"}',
        headers={"content-type": "application/json"},
    )
    assert incident.status_code == 201, incident.text
    assert incident.json()["title"] == "odd \ufffd title"


async def test_nan_and_infinity_are_refused(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    for number in ("NaN", "Infinity", "-Infinity", "1e999"):
        body = json.dumps(pd_event(key, custom_details={"load": 1})).replace("1}", f"{number}}}")
        answer = await api.anonymous.post(
            "/v2/enqueue", content=body.encode(), headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400, (number, answer.text)
    assert await alerts(api) == []


async def test_over_long_identifying_fields_follow_each_senders_contract(api: Api) -> None:
    pd_key = (await integration(api, "pagerduty"))["key"]
    refused = await api.anonymous.post("/v2/enqueue", json=pd_event(pd_key, group="g" * 300))
    assert refused.status_code == 400
    assert refused.json()["errors"] == ["Length of 'payload.group' is too long (maximum 255 characters)"]
    am_key = (await integration(api, "alertmanager"))["key"]
    firing = fixture("alertmanager_firing.json")
    firing["groupKey"] = "{}:{alertname=" + "x" * 400 + "}"
    for alert in firing["alerts"]:
        alert["labels"]["severity"] = "s" * 100
    again = copy.deepcopy(firing)
    for body in (firing, again):  # the same long group key lands on the same stored key both times
        assert (await api.anonymous.post(f"/intake/alertmanager/{am_key}", json=body)).status_code == 202
    stored = await alerts(api)
    assert stored and all(a["count"] == 2 for a in stored)
    group_keys = {a["details"]["groupKey"] for a in stored}
    assert group_keys == {firing["groupKey"]}  # the sender's value is kept whole in details
    graf_key = (await integration(api, "grafana"))["key"]
    grafana = fixture("grafana_firing.json")
    grafana["title"] = "t" * 5000
    grafana["alerts"][0]["labels"]["alertname"] = "a" * 3000
    answer = await api.anonymous.post(f"/intake/grafana/{graf_key}", json=grafana)
    assert answer.status_code == 202, answer.text
    assert all(len(a["title"]) <= 1024 for a in await alerts(api))


async def test_integers_past_64_bits_and_unicode_digits_are_4xx(api: Api) -> None:
    huge = "10000000000000000000"
    for path in (
        f"/api/v1/alerts?offset={huge}",
        f"/api/v1/alerts/{huge}",
        "/api/v1/alerts/%C2%B3",
        "/api/v1/schedules/%C2%B3",
        f"/api/v1/schedules/{huge}",
        f"/api/v1/users/{huge}",
        "/api/v1/users/%C2%B3",
        f"/api/v1/incidents?offset={huge}",
    ):
        answer = await api.admin.get(path)
        assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
    created = await api.responder.post(
        "/api/v1/incidents", json={"title": "x", "severity": "P3", "customers_affected": 10**20}
    )
    assert 400 <= created.status_code < 500, created.text
    listed = await api.viewer.get("/api/v1/incidents")
    assert listed.status_code == 200


async def test_nul_in_paths_queries_and_forms_is_not_a_server_error(api: Api) -> None:
    for path in ("/api/v1/services/a%00b", "/api/v1/alerts?q=a%00b", "/api/v1/incidents?q=x%00"):
        answer = await api.viewer.get(path)
        assert answer.status_code < 500, (path, answer.text)
    created = await api.responder.post("/api/v1/incidents", json={"title": "db\u0000 down", "severity": "P3"})
    assert created.status_code == 201
    assert created.json()["title"] == "db down"
