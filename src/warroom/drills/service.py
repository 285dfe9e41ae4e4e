"""Drill runs: scheduling (the chosen time stays hidden), firing through the real intake, linking."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert
from warroom.auth.models import Team
from warroom.catalog.models import Service
from warroom.context import AppContext
from warroom.drills.domain import choose_fire_time
from warroom.drills.injects import stage_injects
from warroom.drills.intake import find_integration, send_alert
from warroom.drills.models import DrillRun
from warroom.drills.schemas import Scenario
from warroom.errors import FieldProblem, InvalidInput
from warroom.incidents.models import Incident, IncidentService

Mode = Literal["game_day", "unannounced"]


@dataclass(frozen=True)
class RunRequest:
    scenario: Scenario
    mode: Mode
    start: datetime  # game day: the set time; unannounced: the window's start
    end: datetime | None = None  # unannounced only
    service_id: int | None = None
    team_id: int | None = None


async def create_run(
    *, session: AsyncSession, request: RunRequest, actor_id: int | None, now: datetime, rng: random.Random
) -> DrillRun:
    end = request.end or request.start
    if request.mode == "unannounced":
        if request.end is None:
            raise ValueError("an unannounced drill needs a window end")
        fire_at = choose_fire_time(request.start, end, rng)
    else:
        fire_at = request.start
    run = DrillRun(
        scenario_id=request.scenario.id,
        scenario=request.scenario.model_dump(mode="json"),
        service_id=request.service_id,
        team_id=request.team_id,
        mode=request.mode,
        window_start=request.start,
        window_end=end,
        fire_at=fire_at,
        alert_keys=[],
        pending_alerts=[],
        created_by=actor_id,
        created_at=now,
    )
    session.add(run)
    await session.flush()
    return run


async def team_by_slug(session: AsyncSession, slug: str) -> int:
    """The team's id; 422 naming the known teams when there is none by that slug."""
    found = await session.scalar(select(Team.id).where(Team.slug == slug))
    if found is None:
        known = ", ".join(await session.scalars(select(Team.slug).order_by(Team.slug))) or "none yet"
        raise InvalidInput(f"team: no team {slug!r} (teams: {known})", [FieldProblem("team", "unknown team")])
    return found


def run_view(run: DrillRun) -> dict[str, Any]:
    """What anyone may see of a run: the window, never the chosen time of an unannounced drill."""
    view: dict[str, Any] = {
        "id": run.id,
        "scenario_id": run.scenario_id,
        "title": run.scenario.get("title", run.scenario_id),
        "mode": run.mode,
        "window_start": run.window_start,
        "window_end": run.window_end,
        "fired": run.fired_at is not None,
        "incident_id": run.incident_id,
        "team_id": run.team_id,
    }
    if run.mode == "game_day":
        view["starts_at"] = run.fire_at
    return view


async def list_runs(*, session: AsyncSession) -> list[DrillRun]:
    return list(await session.scalars(select(DrillRun).order_by(DrillRun.id.desc())))


async def fire_run(context: AppContext, run_id: int) -> None:
    """Send the scenario's opening alerts through the intake; the writer commits them itself."""
    async with context.db.write_turn, context.db.write() as session:
        run = await session.get(DrillRun, run_id)
        if run is None or run.fired_at is not None:
            return
        scenario = Scenario.model_validate(run.scenario)
        targets = [
            (a, await find_integration(session, a.integration, a.format)) for a in scenario.opening_alerts()
        ]
        run.fired_at = context.clock.now()
        await stage_injects(session=session, run=run, scenario=scenario, fired_at=run.fired_at)
        await session.commit()
    keys: list[str] = []
    for alert, integration in targets:
        keys += await send_alert(context, integration, alert)
    async with context.db.write_turn, context.db.write() as session:
        run = await session.get(DrillRun, run_id)
        if run is not None:
            run.alert_keys = keys
            await session.commit()


async def send_pending_alerts(context: AppContext) -> None:
    """Alerts that timed injects queued: sent through the intake outside any open transaction."""
    async with context.db.write_turn, context.db.write() as session:
        runs = [
            r
            for r in await session.scalars(select(DrillRun).where(DrillRun.fired_at.is_not(None)))
            if r.pending_alerts
        ]
        work = []
        for run in runs:
            scenario = Scenario.model_validate(run.scenario)
            for alert in (a for a in scenario.alerts if a.id in run.pending_alerts):
                work.append((run.id, alert, await find_integration(session, alert.integration, alert.format)))
            run.pending_alerts = []
        await session.commit()
    for run_id, alert, door in work:
        keys = await send_alert(context, door, alert)
        async with context.db.write_turn, context.db.write() as session:
            stored = await session.get(DrillRun, run_id)
            if stored is not None:
                stored.alert_keys = [*stored.alert_keys, *keys]
                await session.commit()


async def link_incident(*, session: AsyncSession, run: DrillRun) -> bool:
    """Once triage has put a drill alert on an incident, link it and mark that incident as a drill."""
    if run.incident_id is not None or not run.alert_keys:
        return False
    incident_id = await session.scalar(
        select(Alert.incident_id).where(Alert.dedup_key.in_(run.alert_keys), Alert.incident_id.is_not(None))
    )
    if incident_id is None:
        return False
    incident = await session.get(Incident, incident_id)
    if incident is not None:
        incident.drill = True
    run.incident_id = incident_id
    if run.team_id is None:
        run.team_id = await session.scalar(
            select(Service.team_id)
            .join(IncidentService, IncidentService.service_id == Service.id)
            .where(IncidentService.incident_id == incident_id, Service.team_id.is_not(None))
            .order_by(IncidentService.id)
            .limit(1)
        )
    return True


async def fire_due_runs(context: AppContext) -> None:
    """Periodic: fire every run whose time has come (never before), then link fired runs to incidents."""
    now = context.clock.now()
    async with context.db.read() as session:
        due = list(
            await session.scalars(
                select(DrillRun.id).where(DrillRun.fired_at.is_(None), DrillRun.fire_at <= now)
            )
        )
    for run_id in due:
        await fire_run(context, run_id)
    await send_pending_alerts(context)
    async with context.db.write_turn, context.db.write() as session:
        pending = await session.scalars(
            select(DrillRun).where(DrillRun.fired_at.is_not(None), DrillRun.incident_id.is_(None))
        )
        for run in pending:
            await link_incident(session=session, run=run)
        await session.commit()
