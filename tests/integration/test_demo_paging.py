"""The demo's paging story, as a first run shows it: a critical Alertmanager alert on `checkout` pages whoever
is on call for payments in the server's log, escalates to Carol after 5 minutes unacknowledged, and the
one-click link in her page acknowledges it and stops paging. Time moves by the clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select

from tests.integration.conftest import Api
from warroom.jobs.worker import Worker
from warroom.notify.models import OutgoingMessage
from warroom.wiring import new_worker

FIRING = {
    "version": "4",
    "groupKey": '{}:{alertname="CheckoutDown"}',
    "status": "firing",
    "receiver": "warroom",
    "groupLabels": {"alertname": "CheckoutDown"},
    "commonLabels": {"alertname": "CheckoutDown", "severity": "critical"},
    "commonAnnotations": {"summary": "Checkout 5xx at 40%"},
    "externalURL": "http://alertmanager.test",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "CheckoutDown", "severity": "critical"},
            "annotations": {"summary": "Checkout 5xx at 40%"},
            "startsAt": "2026-03-02T09:58:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.test/graph",
            "fingerprint": "c0ffee0000000001",
        }
    ],
}


async def _demo_alertmanager_key(api: Api) -> str:
    await api.load_demo()
    integrations = (await api.admin.get("/api/v1/integrations")).json()
    (demo,) = [i for i in integrations if i["kind"] == "alertmanager"]
    return str(demo["key"])


async def _run(worker: Worker) -> list[dict[str, Any]]:
    """One worker pass; the PAGE lines the demo's `log` channel wrote during it."""
    with structlog.testing.capture_logs() as logged:
        await worker.run_once()
    return [line for line in logged if line["event"] == "PAGE"]


async def test_a_critical_alert_pages_the_demo_on_call_escalates_and_the_link_acknowledges(api: Api) -> None:
    key = await _demo_alertmanager_key(api)
    on_call = {row["schedule"]: row["user"] for row in (await api.viewer.get("/api/v1/oncall")).json()}
    assert on_call["payments-oncall"] == "alice@demo.warroom"
    worker = new_worker(api.context, periodic=())
    posted = await api.anonymous.post(f"/intake/alertmanager/{key}", json=FIRING)
    assert posted.status_code == 202, posted.text
    first = await _run(worker)
    # The alert pages the payments on-call; the P1 its rule declared pages the incident commander on
    # duty (the procedure's `page:`), not the payments policy again: the alert already walks it.
    assert sorted((p["to"], p["subject"]) for p in first) == [
        ("alice@demo.warroom", "[CRITICAL] Checkout 5xx at 40%"),
        ("carol@demo.warroom", "[P1] INC-2 Checkout 5xx at 40%"),
    ]
    (alert,) = (await api.viewer.get("/api/v1/alerts")).json()["items"]
    assert alert["incident"] is not None  # the demo's rule groups critical checkout alerts into a P1
    api.clock.advance(timedelta(minutes=4, seconds=59))
    assert await _run(worker) == []  # Carol's step is not due yet
    api.clock.advance(timedelta(seconds=1))
    (second,) = await _run(worker)
    assert second["to"] == "carol@demo.warroom"
    path = second["acknowledge"].replace(api.context.settings.resolved_base_url(), "")
    acknowledged = await api.anonymous.post(path)
    assert acknowledged.status_code == 200 and "Paging stopped" in acknowledged.text
    (alert,) = (await api.viewer.get("/api/v1/alerts")).json()["items"]
    assert (alert["status"], alert["acknowledged_by"]) == ("acknowledged", "carol@demo.warroom")
    api.clock.advance(timedelta(hours=1))
    assert await _run(worker) == []  # acknowledged: the policy's repeat does not page again
    async with api.context.db.read() as session:
        sent = (
            await session.scalars(select(OutgoingMessage).where(OutgoingMessage.alert_id == alert["id"]))
        ).all()
    assert sorted((m.address, m.channel, m.state) for m in sent) == [
        ("alice@demo.warroom", "log", "sent"),
        ("carol@demo.warroom", "log", "sent"),
    ]


async def test_a_p1_declared_by_hand_in_the_demo_pages_the_on_call_and_the_commander_on_duty(
    api: Api,
) -> None:
    await api.load_demo()
    worker = new_worker(api.context, periodic=())
    assert await _run(worker) == []  # the demo's own story (closed six days ago) wakes nobody
    body = {"title": "Checkout returns 502", "severity": "P1", "type": "outage", "services": ["checkout"]}
    declared = await api.responder.post("/api/v1/incidents", json=body)
    assert declared.status_code == 201, declared.text
    ref = declared.json()["ref"]
    pages = [page for _ in range(3) for page in await _run(worker)]  # the job, its steps, deliveries
    assert sorted((p["to"], p["subject"]) for p in pages) == [
        ("alice@demo.warroom", f"[P1] {ref} Checkout returns 502"),  # payments on call (the policy)
        ("carol@demo.warroom", f"[P1] {ref} Checkout returns 502"),  # the incident commander on duty
    ]
