"""Intake over HTTP on both databases: each sender's contract, dedup by key, the raw layer, throttling."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import START
from tests.integration.conftest import Api
from warroom.wiring import new_worker

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


async def integration(api: Api, kind: str, **extra: Any) -> dict[str, Any]:
    if (await api.admin.get("/api/v1/services/checkout")).status_code == 404:
        await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    created = await api.admin.post(
        "/api/v1/integrations", json={"kind": kind, "service": "checkout", **extra}
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def alerts(api: Api, **params: Any) -> list[dict[str, Any]]:
    return (await api.viewer.get("/api/v1/alerts", params=params)).json()["items"]  # type: ignore[no-any-return]


def pd_event(key: str, action: str = "trigger", dedup: str | None = None, **payload: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"routing_key": key, "event_action": action}
    if dedup:
        event["dedup_key"] = dedup
    if action == "trigger":
        event["payload"] = {
            "summary": "Disk full on db-1",
            "source": "db-1",
            "severity": "critical",
            **payload,
        }
    return event


async def test_pagerduty_contract_trigger_dedup_ack_resolve(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    first = await api.anonymous.post("/v2/enqueue", json=pd_event(key, dedup="disk-1"))
    assert first.status_code == 202
    assert first.json() == {"status": "success", "message": "Event processed", "dedup_key": "disk-1"}
    again = await api.anonymous.post(
        "/v2/enqueue", json=pd_event(key, dedup="disk-1", summary="Disk still full")
    )
    assert again.status_code == 202
    (alert,) = await alerts(api)
    assert (alert["count"], alert["title"], alert["severity"], alert["status"]) == (
        2,
        "Disk still full",
        "critical",
        "triggered",
    )
    ack = await api.anonymous.post("/v2/enqueue", json=pd_event(key, "acknowledge", dedup="disk-1"))
    assert ack.status_code == 202
    assert (await alerts(api))[0]["status"] == "acknowledged"
    await api.anonymous.post("/v2/enqueue", json=pd_event(key, "resolve", dedup="disk-1"))
    assert (await alerts(api))[0]["status"] == "resolved"
    reopened = await api.anonymous.post("/v2/enqueue", json=pd_event(key, dedup="disk-1"))
    assert reopened.status_code == 202
    assert sorted(a["status"] for a in await alerts(api)) == ["resolved", "triggered"]  # a new alert


async def test_pagerduty_generates_a_key_and_drops_unknown_acks(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    answer = (await api.anonymous.post("/v2/enqueue", json=pd_event(key))).json()
    assert len(answer["dedup_key"]) == 32
    same = (await api.anonymous.post("/v2/enqueue", json=pd_event(key))).json()
    assert same["dedup_key"] == answer["dedup_key"]
    unknown = await api.anonymous.post("/v2/enqueue", json=pd_event(key, "resolve", dedup="never-seen"))
    assert unknown.status_code == 202 and unknown.json()["dedup_key"] == "never-seen"
    assert len(await alerts(api)) == 1


async def test_pagerduty_refusals_in_its_own_shape(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    bad = await api.anonymous.post(
        "/v2/enqueue", json={"routing_key": key, "event_action": "trigger", "payload": {}}
    )
    assert bad.status_code == 400
    body = bad.json()
    assert body["status"] == "invalid event" and body["message"] == "Event object is invalid"
    assert any("summary" in e for e in body["errors"]) and any("source" in e for e in body["errors"])
    unknown = await api.anonymous.post("/v2/enqueue", json=pd_event("0" * 32))
    assert unknown.status_code == 403 and unknown.json()["status"] == "invalid event"
    missing = await api.anonymous.post("/v2/enqueue", json={"event_action": "trigger"})
    assert missing.status_code == 400
    big = await api.anonymous.post("/v2/enqueue", json=pd_event(key, custom_details={"x": "y" * 600_000}))
    assert big.status_code == 413
    assert await alerts(api) == []
    assert (await api.viewer.get("/api/v1/integrations")).json()[0]["last_event_at"] is None


async def test_pagerduty_change_events_land_on_the_service(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    change = {
        "routing_key": key,
        "payload": {"summary": "Deployed v42", "source": "ci", "custom_details": {"b": 1}},
    }
    answer = await api.anonymous.post("/v2/change/enqueue", json=change)
    assert answer.status_code == 202 and answer.json()["status"] == "success"
    (stored,) = (await api.viewer.get("/api/v1/services/checkout/changes")).json()
    assert stored["summary"] == "Deployed v42" and stored["source"] == "ci"


async def test_opsgenie_create_ack_close_by_alias_and_id(api: Api) -> None:
    key = (await integration(api, "opsgenie"))["key"]
    auth = {"Authorization": f"GenieKey {key}"}
    created = await api.anonymous.post(
        "/v2/alerts", headers=auth, json={"message": "CPU high", "alias": "cpu-web-1", "priority": "P1"}
    )
    assert created.status_code == 202
    body = created.json()
    assert body["result"] == "Request will be processed" and body["requestId"]
    await api.anonymous.post("/v2/alerts", headers=auth, json={"message": "CPU high", "alias": "cpu-web-1"})
    (alert,) = await alerts(api)
    assert (alert["count"], alert["dedup_key"], alert["severity"]) == (2, "cpu-web-1", "warning")
    status = await api.anonymous.get(f"/v2/alerts/requests/{body['requestId']}", headers=auth)
    assert status.status_code == 200
    assert status.json()["data"]["alertId"] == alert["uid"] and status.json()["data"]["isSuccess"] is True
    ack = await api.anonymous.post(
        "/v2/alerts/cpu-web-1/acknowledge?identifierType=alias", headers=auth, json={"user": "ops@x"}
    )
    assert ack.status_code == 202
    assert (await alerts(api))[0]["acknowledged_by"] == "ops@x"
    closed = await api.anonymous.post(f"/v2/alerts/{alert['uid']}/close", headers=auth, json={})
    assert closed.status_code == 202
    assert (await alerts(api))[0]["status"] == "resolved"


async def test_opsgenie_refusals(api: Api) -> None:
    key = (await integration(api, "opsgenie"))["key"]
    nokey = await api.anonymous.post("/v2/alerts", json={"message": "x"})
    assert nokey.status_code == 401 and "message" in nokey.json() and "requestId" in nokey.json()
    invalid = await api.anonymous.post("/v2/alerts", headers={"Authorization": f"GenieKey {key}"}, json={})
    assert invalid.status_code == 422 and "message" in invalid.json()["message"].lower()
    assert await alerts(api) == []


async def test_alertmanager_fingerprints_groups_and_resolves(api: Api) -> None:
    key = (await integration(api, "alertmanager"))["key"]
    firing = fixture("alertmanager_firing.json")
    for _ in range(2):  # a repeated notification is idempotent apart from the count
        answer = await api.anonymous.post(f"/intake/alertmanager/{key}", json=firing)
        assert answer.status_code == 202, answer.text
    stored = await alerts(api)
    assert len(stored) == len(firing["alerts"])
    assert {a["dedup_key"] for a in stored} == {a["fingerprint"] for a in firing["alerts"]}
    assert {a["group_key"] for a in stored} == {firing["groupKey"]}
    assert all(a["count"] == 2 for a in stored)
    resolved = fixture("alertmanager_resolved.json")
    bearer = await api.anonymous.post(
        "/intake/alertmanager", json=resolved, headers={"Authorization": f"Bearer {key}"}
    )
    assert bearer.status_code == 202
    resolved_keys = {a["fingerprint"] for a in resolved["alerts"]}
    assert {a["dedup_key"] for a in await alerts(api, status="resolved")} == resolved_keys


async def test_raw_requests_are_kept_and_replay_rebuilds_alerts(api: Api) -> None:
    key = (await integration(api, "alertmanager"))["key"]
    firing = fixture("alertmanager_firing.json")
    firing["somethingNew"] = {"kept": True}
    await api.anonymous.post(f"/intake/alertmanager/{key}", json=firing)
    before = await alerts(api)
    assert all(
        a["details"].get("somethingNew") == {"kept": True} or "somethingNew" in json.dumps(a["details"])
        for a in before
    )
    from warroom.alerts.intake.replay import replay

    async with api.context.db.write() as session:
        report = await replay(session=session)
        await session.commit()
    assert (report.requests, report.rejected, report.alerts) == (1, 0, len(before))
    after = await alerts(api)
    assert sorted((a["dedup_key"], a["title"], a["count"]) for a in after) == sorted(
        (a["dedup_key"], a["title"], a["count"]) for a in before
    )


async def test_throttling_answers_429_with_retry_after(api: Api) -> None:
    key = (await integration(api, "webhook", rate_limit_per_minute=1))["key"]
    answers = [
        await api.anonymous.post(f"/intake/webhook/{key}", json={"id": str(n), "title": "t"})
        for n in range(12)
    ]
    codes = [a.status_code for a in answers]
    assert codes[:10] == [202] * 10 and codes[-1] == 429
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert len(await alerts(api)) == 10


async def test_rules_route_declare_group_and_maintenance(api: Api) -> None:
    key = (await integration(api, "webhook", config={"group_key": "group"}))["key"]
    await api.admin.post("/api/v1/services", json={"slug": "db", "name": "Databases"})
    route = {
        "name": "db alerts",
        "conditions": [{"field": "title", "op": "contains", "value": "postgres"}],
        "service": "db",
    }
    assert (await api.admin.post("/api/v1/routing-rules", json=route)).status_code == 201
    rule = {"name": "group db", "action": "group", "incident_severity": "P2"}
    assert (await api.admin.post("/api/v1/services/db/alert-rules", json=rule)).status_code == 201
    worker = new_worker(api.context, periodic=())
    for n in range(2):
        body = {"id": f"pg-{n}", "title": "postgres replica lag", "group": "pg-cluster"}
        await api.anonymous.post(f"/intake/webhook/{key}", json=body)
    await api.anonymous.post(f"/intake/webhook/{key}", json={"id": "web", "title": "web 500s"})
    # The three triage jobs and the paging the rule's P2 declaration staged (the procedure's `page:`); no
    # threat-intel match job: the alerts carry no observable, so triage had nothing to match.
    assert await worker.run_once() == 4
    stored = {a["dedup_key"]: a for a in await alerts(api)}
    assert stored["pg-0"]["service"] == stored["pg-1"]["service"] == "db"
    assert stored["web"]["service"] == "checkout" and stored["web"]["incident"] is None
    incidents = (await api.viewer.get("/api/v1/incidents")).json()["items"]
    assert len(incidents) == 1 and incidents[0]["severity"] == "P2"
    assert stored["pg-0"]["incident"] == stored["pg-1"]["incident"] == incidents[0]["ref"]
    timeline = (await api.viewer.get(f"/api/v1/incidents/{incidents[0]['ref']}/timeline")).json()
    assert [e["kind"] for e in timeline].count("alert_attached") == 2
    window = {
        "starts_at": START.isoformat(),
        "ends_at": (START + timedelta(hours=1)).isoformat(),
        "reason": "upgrade",
    }
    assert (await api.responder.post("/api/v1/services/db/maintenance", json=window)).status_code == 201
    await api.anonymous.post(
        f"/intake/webhook/{key}", json={"id": "pg-9", "title": "postgres down", "group": "x"}
    )
    await worker.run_once()
    quiet = next(a for a in await alerts(api) if a["dedup_key"] == "pg-9")
    assert quiet["suppressed"] == "maintenance: upgrade" and quiet["incident"] is None


async def test_heartbeat_missed_then_recovered(api: Api) -> None:
    await api.admin.post("/api/v1/services", json={"slug": "cron", "name": "Cron"})
    created = await api.admin.post(
        "/api/v1/heartbeats", json={"service": "cron", "name": "nightly", "interval_seconds": 300}
    )
    ping_url = created.json()["ping_url"].replace(api.context.settings.resolved_base_url(), "")
    assert (await api.anonymous.get(ping_url)).json() == {"status": "ok", "recovered": False}
    from warroom.alerts.intake.heartbeats import check_heartbeats

    api.clock.advance(timedelta(minutes=4))
    await check_heartbeats(api.context)
    assert await alerts(api) == []
    api.clock.advance(timedelta(minutes=2))
    await check_heartbeats(api.context)
    (missed,) = await alerts(api)
    assert missed["status"] == "triggered" and "nightly" in missed["title"]
    await check_heartbeats(api.context)
    assert len(await alerts(api)) == 1  # one alert per outage, not one per check
    assert (await api.anonymous.post(ping_url)).json()["recovered"] is True
    assert (await alerts(api))[0]["status"] == "resolved"


async def test_alert_api_ack_resolve_attach(api: Api) -> None:
    key = (await integration(api, "webhook"))["key"]
    await api.anonymous.post(f"/intake/webhook/{key}", json={"id": "k1", "title": "queue backlog"})
    incident = (
        await api.responder.post("/api/v1/incidents", json={"title": "Backlog", "severity": "P3"})
    ).json()
    ack = await api.responder.post("/api/v1/alerts/k1/acknowledge")
    assert ack.status_code == 200 and ack.json()["acknowledged_by"] == api.emails["responder"]
    attached = await api.responder.post("/api/v1/alerts/k1/attach", json={"incident": incident["ref"]})
    assert attached.json()["incident"] == incident["ref"]
    again = await api.responder.post("/api/v1/alerts/k1/attach", json={"incident": incident["ref"]})
    assert again.status_code == 409
    resolved = await api.responder.post(f"/api/v1/alerts/{ack.json()['id']}/resolve")
    assert resolved.json()["status"] == "resolved"
    kinds = [
        e["kind"] for e in (await api.viewer.get(f"/api/v1/incidents/{incident['ref']}/timeline")).json()
    ]
    assert kinds[-2:] == ["alert_attached", "alert_resolved"]
    history = (await api.viewer.get(f"/api/v1/alerts/{ack.json()['id']}/events")).json()
    assert [h["action"] for h in history] == ["trigger", "acknowledged", "attached", "resolved"]
    assert (await api.responder.post("/api/v1/alerts/nope/acknowledge")).status_code == 404


@pytest.mark.parametrize("kind", ["alertmanager", "grafana", "datadog", "newrelic", "webhook"])
async def test_wrong_or_unknown_keys_are_refused(api: Api, kind: str) -> None:
    other = (await integration(api, "pagerduty"))["key"]
    assert (await api.anonymous.post(f"/intake/{kind}/{other}", json={})).status_code == 403
    assert (await api.anonymous.post(f"/intake/{kind}/nope", json={})).status_code == 401


@pytest.mark.parametrize(
    ("kind", "name", "content_type"),
    [
        ("grafana", "grafana_firing.json", "application/json"),
        ("datadog", "datadog_triggered.json", "application/json"),
        ("datadog", "datadog_warn_form.txt", "application/x-www-form-urlencoded"),
        ("newrelic", "newrelic_activated.json", "application/json"),
    ],
)
async def test_documented_bodies_arrive_over_http(api: Api, kind: str, name: str, content_type: str) -> None:
    key = (await integration(api, kind))["key"]
    body = (FIXTURES / name).read_bytes()
    answer = await api.anonymous.post(
        f"/intake/{kind}/{key}", content=body, headers={"content-type": content_type}
    )
    assert answer.status_code == 202, answer.text
    created = [e for e in answer.json()["events"] if e["outcome"] == "created"]
    assert created and {a["id"] for a in await alerts(api)} == {e["alert_id"] for e in created}


async def test_grafana_signatures_are_checked_when_a_secret_is_set(api: Api) -> None:
    import hashlib
    import hmac

    key = (await integration(api, "grafana", signing_secret="s3cret"))["key"]
    body = (FIXTURES / "grafana_firing.json").read_bytes()
    unsigned = await api.anonymous.post(f"/intake/grafana/{key}", content=body)
    assert unsigned.status_code == 400 and "X-Grafana-Alerting-Signature" in unsigned.text
    forged = await api.anonymous.put(
        f"/intake/grafana/{key}", content=body, headers={"X-Grafana-Alerting-Signature": "00" * 32}
    )
    assert forged.status_code == 400
    assert await alerts(api) == []
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    signed = await api.anonymous.put(
        f"/intake/grafana/{key}", content=body, headers={"X-Grafana-Alerting-Signature": signature}
    )
    assert signed.status_code == 202 and await alerts(api)


async def test_opsgenie_updates_and_get_alert(api: Api) -> None:
    key = (await integration(api, "opsgenie"))["key"]
    auth = {"Authorization": f"GenieKey {key}"}
    await api.anonymous.post(
        "/v2/alerts", headers=auth, json={"message": "old", "alias": "a1", "priority": "P2"}
    )
    for field, value in (("message", "new title"), ("description", "more"), ("priority", "P1")):
        answer = await api.anonymous.put(
            f"/v2/alerts/a1/{field}?identifierType=alias", headers=auth, json={field: value}
        )
        assert answer.status_code == 202, answer.text
    got = await api.anonymous.get("/v2/alerts/a1?identifierType=alias", headers=auth)
    data = got.json()["data"]
    assert (data["message"], data["description"], data["priority"], data["status"]) == (
        "new title",
        "more",
        "P1",
        "open",
    )
    (alert,) = await alerts(api)
    assert (alert["title"], alert["severity"]) == ("new title", "critical")
    bad = await api.anonymous.put(
        "/v2/alerts/a1/priority?identifierType=alias", headers=auth, json={"priority": "P9"}
    )
    assert bad.status_code == 422 and "Priority" in bad.json()["message"]
    assert (await api.anonymous.get("/v2/alerts/nope?identifierType=alias", headers=auth)).status_code == 404


async def test_the_dedup_upsert_survives_prepared_statements(api: Api) -> None:
    """psycopg prepares a statement after 5 runs on a connection; the upsert must still find its index."""
    from warroom.alerts.domain import AlertEventIn
    from warroom.alerts.intake.store import apply_work
    from warroom.alerts.intake.work import IntakeWork

    created = await integration(api, "webhook")
    service = (await api.viewer.get("/api/v1/services/checkout")).json()["id"]
    async with api.context.db.write() as session:
        for n in range(15):
            work = IntakeWork(
                integration_id=created["id"],
                service_id=service,
                request_id=f"r-{n}",
                received_at=api.clock.now(),
                content_type="application/json",
                headers={},
                body=b"{}",
                route={"kind": "webhook", "op": "webhook"},
                events=[AlertEventIn(action="trigger", dedup_key=f"k{n % 5}", title=f"t{n}")],
            )
            outcomes = await apply_work(session=session, work=work)
            assert outcomes[0].outcome == ("created" if n < 5 else "updated")
        await session.commit()
    assert sorted(a["count"] for a in await alerts(api)) == [3, 3, 3, 3, 3]
