"""Drill runs: an unannounced drill fires inside its window, not before, through the real intake."""

from __future__ import annotations

import random
from datetime import timedelta

from tests.integration.conftest import Api
from warroom.drills.models import DrillRun
from warroom.drills.scenarios import SHIPPED_DIR, load_scenario_file
from warroom.drills.service import RunRequest, create_run, fire_due_runs, run_view


async def test_unannounced_drill_fires_inside_its_window_and_not_before(api: Api) -> None:
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    created = await api.admin.post(
        "/api/v1/integrations", json={"kind": "pagerduty", "service": "checkout", "name": "checkout"}
    )
    assert created.status_code == 201, created.text
    scenario = load_scenario_file(SHIPPED_DIR / "checkout-bad-deploy.yaml")
    start = api.clock.now() + timedelta(hours=1)
    end = start + timedelta(hours=2)
    async with api.context.db.write() as session:
        run = await create_run(
            session=session,
            request=RunRequest(scenario=scenario, mode="unannounced", start=start, end=end),
            actor_id=None,
            now=api.clock.now(),
            rng=random.Random(42),
        )
        await session.commit()
        run_id, fire_at = run.id, run.fire_at
        view = run_view(run)
    assert start <= fire_at < end
    assert "starts_at" not in view and "fire_at" not in view
    assert (view["window_start"], view["window_end"]) == (start, end)

    api.clock.advance(fire_at - api.clock.now() - timedelta(seconds=1))
    await fire_due_runs(api.context)
    assert (await api.viewer.get("/api/v1/alerts")).json()["items"] == []

    api.clock.advance(timedelta(seconds=1))
    await fire_due_runs(api.context)
    items = (await api.viewer.get("/api/v1/alerts")).json()["items"]
    assert [a["dedup_key"] for a in items] == ["drill-checkout-5xx"]
    async with api.context.db.read() as session:
        stored = await session.get(DrillRun, run_id)
        assert stored is not None
        assert stored.fired_at == fire_at
        assert stored.alert_keys == ["drill-checkout-5xx"]


async def test_api_hides_the_chosen_time_and_refuses_bad_input(api: Api) -> None:
    window = {"starts_at": "2026-03-03T09:00:00Z", "ends_at": "2026-03-03T17:00:00Z"}
    made = await api.admin.post(
        "/api/v1/drills", json={"scenario": "ddos-public-api", "mode": "unannounced", **window}
    )
    assert made.status_code == 201, made.text
    listed = await api.admin.get("/api/v1/drills")
    for shown in (made.json(), listed.json()[0]):
        assert "fire_at" not in shown and "starts_at" not in shown
        assert shown["window_start"].startswith("2026-03-03T09:00")
    assert (await api.responder.get("/api/v1/drills")).status_code == 403
    report = await api.admin.get(f"/api/v1/drills/{made.json()['id']}/report")
    assert report.json()["measures"] == []

    bad = [
        {"scenario": "nope", "mode": "game_day", "starts_at": window["starts_at"]},
        {"scenario": "ddos-public-api", "mode": "unannounced", "starts_at": window["starts_at"]},
        {"scenario_yaml": "id: x\\ntitle: X\\n", "mode": "game_day", "starts_at": window["starts_at"]},
    ]
    for body in bad:
        refused = await api.admin.post("/api/v1/drills", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert len((await api.admin.get("/api/v1/drills")).json()) == 1


async def test_uploaded_scenario_is_validated(api: Api) -> None:
    good = (SHIPPED_DIR / "database-failover.yaml").read_text()
    checked = await api.admin.post("/api/v1/drills/scenarios/check", json={"yaml": good})
    assert checked.status_code == 200 and checked.json()["id"] == "database-failover"
    broken = good.replace("format: alertmanager", "format: carrier-pigeon", 1)
    refused = await api.admin.post("/api/v1/drills/scenarios/check", json={"yaml": broken})
    assert refused.status_code == 422
    assert any("alerts.0.format" in e["message"] for e in refused.json()["errors"]), refused.text
