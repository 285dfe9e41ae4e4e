"""End to end: a game-day drill fires through the intake, a scripted responder works it at chosen clock
times, and the report's figures equal the ones worked out by hand below (P1: 15m response, 30m cadence)."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.conftest import Api
from warroom.drills.service import fire_due_runs

MIN = 60


async def _start(api: Api) -> tuple[int, str]:
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    made = await api.admin.post(
        "/api/v1/integrations", json={"kind": "pagerduty", "service": "checkout", "name": "checkout"}
    )
    assert made.status_code == 201, made.text
    starts = (api.clock.now() + timedelta(minutes=10)).isoformat()
    body = {"scenario": "checkout-bad-deploy", "mode": "game_day", "starts_at": starts}
    started = await api.admin.post("/api/v1/drills", json=body)
    assert started.status_code == 201, started.text
    api.clock.advance(timedelta(minutes=10))
    await fire_due_runs(api.context)
    alert = (await api.viewer.get("/api/v1/alerts")).json()["items"][0]
    return started.json()["id"], str(alert["id"])


async def test_scripted_responder_report_matches_hand_figures(api: Api) -> None:
    drill_id, alert = await _start(api)
    api.clock.advance(timedelta(minutes=4))  # F+4m: declared at the wrong severity
    declared = await api.responder.post(
        "/api/v1/incidents", json={"title": "checkout down", "severity": "P2", "type": "outage"}
    )
    assert declared.status_code == 201, declared.text
    ref = declared.json()["ref"]
    attached = await api.responder.post(f"/api/v1/alerts/{alert}/attach", json={"incident": ref})
    assert attached.status_code == 200, attached.text
    await fire_due_runs(api.context)  # links the run to the incident and marks it a drill
    api.clock.advance(timedelta(minutes=2))  # F+6m: the right severity
    raised = await api.responder.patch(
        f"/api/v1/incidents/{ref}", json={"severity": "P1", "severity_reason": "checkout is down for all"}
    )
    assert raised.status_code == 200, raised.text
    api.clock.advance(timedelta(minutes=3))  # F+9m: a commander
    assign = {"role": "incident_commander", "user": api.emails["responder"]}
    assert (await api.responder.post(f"/api/v1/incidents/{ref}/roles", json=assign)).status_code == 200
    api.clock.advance(timedelta(minutes=31))  # F+40m: first stakeholder update, 10 minutes late
    update = {"audience": "stakeholder", "body": "checkout rolled back"}
    sent = await api.responder.post(f"/api/v1/incidents/{ref}/updates", json=update)
    assert sent.status_code in (200, 201, 202), sent.text

    assert (await api.responder.get(f"/api/v1/incidents/{ref}")).json()["drill"] is True
    got = await api.admin.get(f"/api/v1/drills/{drill_id}/report")
    assert got.status_code == 200, got.text
    report = {m["name"]: m for m in got.json()["measures"]}
    figures = {name: (m["took_seconds"], m["target_seconds"], m["gap_seconds"]) for name, m in report.items()}
    assert figures["time to declare"] == (4 * MIN, 15 * MIN, 0)
    assert figures["time to the right severity"] == (6 * MIN, None, None)
    assert figures["time to the right type"] == (4 * MIN, None, None)
    assert figures["time to fill role incident_commander"] == (9 * MIN, None, None)
    assert figures["time to fill role technical_lead"][0] is None
    assert figures["time to first stakeholder update"] == (40 * MIN, 30 * MIN, 10 * MIN)
    assert report["gated playbook steps"]["note"] == "n/a"
    assert report["review held"]["note"] == "no review held"
    # Assigning the commander acknowledges the incident (collaboration.assign_role), so F+9m.
    assert figures["time to acknowledge"] == (9 * MIN, 15 * MIN, 0)
    proposed = got.json()["proposed_action_items"]
    titles = [p["title"] for p in proposed]
    assert "Drill finding: time to first stakeholder update: over target by 0:10:00" in titles
    assert "Drill finding: time to fill role technical_lead: never happened" in titles
    assert not any("time to declare" in t for t in titles)
    assert {p["owner"] for p in proposed} == {api.emails["admin"]}


async def test_timed_injects_arrive_as_jobs_at_their_offsets(api: Api) -> None:
    from warroom.wiring import new_worker

    _drill_id, alert = await _start(api)  # checkout-bad-deploy: text at +10m, alert at +20m, text at +30m
    declared = await api.responder.post("/api/v1/incidents", json={"title": "drill", "severity": "P1"})
    ref = declared.json()["ref"]
    await api.responder.post(f"/api/v1/alerts/{alert}/attach", json={"incident": ref})
    await fire_due_runs(api.context)

    async def notes() -> list[str]:
        timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
        return [
            e["data"]["body"]
            for e in timeline
            if e["kind"] == "note" and "[DRILL inject]" in e["data"]["body"]
        ]

    worker = new_worker(api.context, periodic=())
    api.clock.advance(timedelta(minutes=9))
    await worker.run_once()
    assert await notes() == []
    api.clock.advance(timedelta(minutes=1))
    await worker.run_once()
    assert len(await notes()) == 1 and "Deploy 2026.12.05-1" in (await notes())[0]
    api.clock.advance(timedelta(minutes=10))
    await worker.run_once()
    await fire_due_runs(api.context)  # sends the alert the +20m inject queued
    keys = {a["dedup_key"] for a in (await api.viewer.get("/api/v1/alerts")).json()["items"]}
    assert keys == {"drill-checkout-5xx", "drill-payments-latency"}
