"""Contain and resolve targets (issue #14 item 6) on both databases, with the injected clock: the commander is
paged at 80% of a target, the breach targets when it is missed, each once; the contained milestone stops the
contain clock; two checks at once page once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.integration.conftest import Api, fill_required_roles
from warroom.paging.clocks import ResponseClocks
from warroom.paging.models import Escalation

MANAGER = {"name": "base", "participants": ["admin@test.warroom"], "start": "2026-03-02T09:00:00Z",
           "shift_length": 1, "shift_unit": "weeks", "time_zone": "UTC"}  # fmt: skip


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def check(api: Api) -> None:
    await ResponseClocks().run(api.context, api.clock.now())


async def walks(api: Api, incident_id: int) -> list[str]:
    async with api.context.db.read() as session:
        found = await session.scalars(select(Escalation.target).where(Escalation.incident_id == incident_id))
        return sorted(t for t in found.all() if t and t.startswith("clock:"))


async def events(api: Api, ref: str, kind: str) -> list[dict[str, Any]]:
    return [
        e for e in await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline")) if e["kind"] == kind
    ]


async def declared_p1(api: Api) -> tuple[str, int]:
    made = await ok(
        await api.admin.post("/api/v1/incidents", json={"title": "Checkout down", "severity": "P1"}), 201
    )
    command = {"role": "incident_commander", "user": api.emails["responder"]}
    await ok(await api.admin.post(f"/api/v1/incidents/{made['ref']}/roles", json=command))
    return str(made["ref"]), int(made["id"])


async def test_warned_at_80_percent_then_escalated_when_missed_each_once(api: Api) -> None:
    schedule = {"slug": "engineering-manager", "name": "EM on duty", "layers": [MANAGER]}
    await ok(await api.admin.post("/api/v1/schedules", json=schedule), 201)
    ref, incident_id = await declared_p1(api)
    api.clock.advance(timedelta(minutes=47))  # contain target 1 h: 80% is 48 min
    await check(api)
    assert await events(api, ref, "target_warning") == []
    api.clock.advance(timedelta(minutes=2))
    await asyncio.gather(check(api), check(api))  # two workers at once
    await check(api)
    (warning,) = await events(api, ref, "target_warning")
    assert (warning["data"]["clock"], warning["data"]["paged"]) == ("contain", api.emails["responder"])
    assert await walks(api, incident_id) == [f"clock:contain:warn:user:{api.emails['responder']}"]
    guided = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook"))
    assert {t["id"]: t["state"] for t in guided["targets"]} == {"contain": "urgent", "resolve": "ok"}
    api.clock.advance(timedelta(minutes=12))  # 61 min: missed
    await asyncio.gather(check(api), check(api))
    await check(api)
    (missed,) = await events(api, ref, "target_missed")
    assert missed["data"]["paged"] == ["schedule:engineering-manager"] and missed["data"]["problems"] == []
    warned = f"clock:contain:warn:user:{api.emails['responder']}"
    assert await walks(api, incident_id) == ["clock:contain:schedule:engineering-manager", warned]
    guided = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook"))
    assert {t["id"]: t["state"] for t in guided["targets"]}["contain"] == "overdue"


async def test_the_milestone_stops_its_clock_and_a_missing_breach_target_is_said(api: Api) -> None:
    ref, incident_id = await declared_p1(api)
    api.clock.advance(timedelta(minutes=30))
    for phase in ("containment", "eradication"):  # entering eradication records `contained`
        await ok(
            await api.admin.post(f"/api/v1/incidents/{ref}/phase", json={"phase": phase, "reason": "go"})
        )
    api.clock.advance(timedelta(hours=3, minutes=40))  # 4 h 10 min: resolve (4 h) missed, contain met
    await check(api)
    assert [e["data"]["clock"] for e in await events(api, ref, "target_warning")] == []
    (missed,) = await events(api, ref, "target_missed")
    assert missed["data"]["clock"] == "resolve" and missed["data"]["paged"] == []
    assert "no schedule 'engineering-manager'" in missed["data"]["problems"][0]
    guided = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook"))
    assert {t["id"]: t["state"] for t in guided["targets"]} == {"contain": "met", "resolve": "overdue"}
    assert await walks(api, incident_id) == []


async def test_severities_without_targets_and_resolved_incidents_are_left_alone(api: Api) -> None:
    p3 = await ok(
        await api.admin.post("/api/v1/incidents", json={"title": "Slow search", "severity": "P3"}), 201
    )
    ref, _ = await declared_p1(api)
    await fill_required_roles(api, ref)
    await ok(await api.admin.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "fixed"}))
    api.clock.advance(timedelta(days=2))
    await check(api)
    for incident in (p3["ref"], ref):
        assert (
            await events(api, incident, "target_warning")
            == await events(api, incident, "target_missed")
            == []
        )
