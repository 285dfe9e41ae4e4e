"""Drill trends: each fired drill's headline figures, grouped per scenario and per team, oldest first, so a
team sees whether its weak spots are closing. Findings, not grades: the count of gaps, not a score."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import Team
from warroom.drills.domain import Measure
from warroom.drills.models import DrillRun
from warroom.drills.report import drill_report
from warroom.procedure.loader import LoadedProcedure

HEADLINES = {"time to acknowledge": "acknowledge_seconds", "time to declare": "declare_seconds"}


@dataclass(frozen=True)
class DrillFigures:
    run_id: int
    scenario_id: str
    title: str
    team: str | None
    fired_at: datetime
    figures: dict[str, int | None]
    findings: int

    def view(self) -> dict[str, Any]:
        return {
            "drill": self.run_id, "scenario": self.scenario_id, "title": self.title, "team": self.team,
            "fired_at": self.fired_at, **self.figures, "findings": self.findings,
        }  # fmt: skip


def _seconds(measure: Measure | None) -> int | None:
    return None if measure is None or measure.took is None else int(measure.took.total_seconds())


def figures_of(run: DrillRun, team: str | None, measures: list[Measure]) -> DrillFigures:
    by_name = {m.name: m for m in measures}
    figures = {key: _seconds(by_name.get(name)) for name, key in HEADLINES.items()}
    assert run.fired_at is not None  # only fired runs are measured
    return DrillFigures(
        run.id, run.scenario_id, str(run.scenario.get("title", run.scenario_id)), team, run.fired_at,
        figures, sum(1 for m in measures if m.finding),
    )  # fmt: skip


def group(drills: list[DrillFigures], key: str) -> list[dict[str, Any]]:
    """One row per scenario (or team): how many drills, and the first and latest figures side by side."""
    grouped: dict[str, list[DrillFigures]] = defaultdict(list)
    for drill in sorted(drills, key=lambda d: (d.fired_at, d.run_id)):
        grouped[(drill.scenario_id if key == "scenario" else drill.team) or "(no team)"].append(drill)
    rows = []
    for name, runs in sorted(grouped.items()):
        first, last = runs[0], runs[-1]
        rows.append({
            key: name, "drills": len(runs), "last_fired_at": last.fired_at,
            "first": {**first.figures, "findings": first.findings},
            "latest": {**last.figures, "findings": last.findings},
            "runs": [r.view() for r in runs],
        })  # fmt: skip
    return rows


async def drill_trends(*, session: AsyncSession, loaded: LoadedProcedure, now: datetime) -> dict[str, Any]:
    """Every drill that fired and reached an incident, measured as its report measures it."""
    runs = await session.scalars(
        select(DrillRun).where(DrillRun.fired_at.is_not(None), DrillRun.incident_id.is_not(None))
    )
    teams = {team_id: slug for team_id, slug in await session.execute(select(Team.id, Team.slug))}
    drills = []
    for run in runs:
        measures = await drill_report(session=session, run=run, loaded=loaded, now=now)
        drills.append(figures_of(run, teams.get(run.team_id) if run.team_id else None, measures))
    return {
        "by_scenario": group(drills, "scenario"),
        "by_team": group(drills, "team"),
        "generated_at": now,
    }
