"""The drill report: the incident's timeline read into drill events, measured against the procedure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.drills.domain import Event, Measure, Targets, compute_report
from warroom.drills.models import DrillRun
from warroom.drills.schemas import Scenario
from warroom.procedure.domain import NEXT_BUSINESS_DAY, parse_duration
from warroom.procedure.loader import LoadedProcedure
from warroom.timeline.models import TimelineEvent


def _events(row: TimelineEvent) -> list[Event]:
    data, at = row.data, row.at
    match row.kind:
        case "declared":
            return [
                Event(at, "declared"),
                Event(at, "severity", data["severity"]),
                Event(at, "type", data["type"]),
            ]
        case "acknowledged":
            return [Event(at, "acknowledged")]
        case "severity_changed":
            return [Event(at, "severity", str(data.get("new", "")))]
        case "updated" if "type" in data:
            return [Event(at, "type", str(data["type"]))]
        case "role_assigned":
            return [Event(at, "role", str(data.get("role", "")))]
        case "stakeholder_update":
            return [Event(at, "stakeholder_update")]
        case "review_published":
            return [Event(at, "review_held")]
    return []


def targets_for(scenario: Scenario, loaded: LoadedProcedure) -> Targets:
    """The expected severity's targets; a next-business-day target cannot be measured in minutes."""
    expect = scenario.expect
    severity = loaded.procedure.severity(expect.severity)
    response = (
        None if severity.response_target == NEXT_BUSINESS_DAY else parse_duration(severity.response_target)
    )
    return Targets(
        acknowledge=response,
        declare=response,
        severity=expect.severity,
        incident_type=expect.incident_type,
        roles=list(expect.roles or severity.required_roles),
        gated_steps=None,  # playbooks with gated steps are not in the procedure yet: "n/a"
        first_update=parse_duration(severity.update_cadence) if severity.update_cadence else None,
    )


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def measure_view(m: Measure) -> dict[str, Any]:
    return {
        "name": m.name,
        "took_seconds": _seconds(m.took),
        "target_seconds": _seconds(m.target),
        "gap_seconds": _seconds(m.gap),
        "note": m.note,
        "finding": m.finding,
    }


async def drill_report(*, session: AsyncSession, run: DrillRun, loaded: LoadedProcedure) -> list[Measure]:
    """Measured from when the drill fired; before it fired, or before an incident exists, nothing to read."""
    if run.fired_at is None or run.incident_id is None:
        return []
    rows = await session.scalars(
        select(TimelineEvent).where(TimelineEvent.incident_id == run.incident_id).order_by(TimelineEvent.seq)
    )
    events = [e for row in rows for e in _events(row)]
    scenario = Scenario.model_validate(run.scenario)
    return compute_report(run.fired_at, events, targets_for(scenario, loaded))
