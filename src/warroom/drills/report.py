"""The drill report: the incident's timeline read into drill events, measured against the procedure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.drills.domain import Event, Injected, Measure, Targets, compute_report, recall
from warroom.drills.models import DrillRun
from warroom.drills.schemas import Scenario
from warroom.incidents.models import Task
from warroom.observables.models import Asset, IncidentAsset, Observable
from warroom.procedure.domain import NEXT_BUSINESS_DAY, parse_duration
from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.playbook_schema import Playbook
from warroom.procedure.schemas import Procedure
from warroom.timeline.models import TimelineEvent

_SIMPLE = {
    "acknowledged": "acknowledged",
    "review_published": "review_held",
    "drill_ended": "ended",
    "resolved": "ended",
}


def _events(row: TimelineEvent, steps: dict[int, str]) -> list[Event]:
    data, at = row.data, row.at
    if row.kind in _SIMPLE:
        return [Event(at, _SIMPLE[row.kind])]
    match row.kind:
        case "declared":
            return [
                Event(at, "declared"),
                Event(at, "severity", data["severity"]),
                Event(at, "type", data["type"]),
            ]
        case "severity_changed":
            return [Event(at, "severity", str(data.get("new", "")))]
        case "updated" if "type" in data:
            return [Event(at, "type", str(data["type"]))]
        case "stakeholder_update":
            told = [Event(at, "told", str(audience)) for audience in data.get("audiences") or []]
            return [Event(at, "stakeholder_update"), *told]
        case "role_assigned":
            return [Event(at, "role", str(data.get("role", "")))]
        case "task_done" | "task_waived" if data.get("task_id") in steps:
            return [Event(at, "step", steps[data["task_id"]])]
        case "exit_check_ticked" | "exit_check_unticked":
            kind = "tick" if row.kind == "exit_check_ticked" else "untick"
            return [Event(at, kind, f"{data.get('phase')}:{data.get('criterion')}")]
        case "phase_changed":
            return [Event(at, "left", str(data.get("old", "")))]
    return []


def expected_playbook(scenario: Scenario, procedure: Procedure) -> Playbook | None:
    """The playbook the scenario names, else the one its expected incident type starts."""
    named = scenario.expect.playbook
    if named is not None:
        return next((p for p in procedure.playbooks if p.id == named), None)
    return procedure.playbook_for(scenario.expect.incident_type)


def targets_for(scenario: Scenario, loaded: LoadedProcedure) -> Targets:
    """The expected severity's targets; a next-business-day target cannot be measured in minutes."""
    expect, procedure = scenario.expect, loaded.procedure
    severity = procedure.severity(expect.severity)
    response = (
        None if severity.response_target == NEXT_BUSINESS_DAY else parse_duration(severity.response_target)
    )
    cadence = parse_duration(severity.update_cadence) if severity.update_cadence else None
    playbook = expected_playbook(scenario, procedure)
    gates = [s.id for s in playbook.steps if s.gate] if playbook else []
    return Targets(
        acknowledge=response,
        declare=response,
        severity=expect.severity,
        incident_type=expect.incident_type,
        roles=list(expect.roles or severity.required_roles),
        gated_steps=gates or None,  # no playbook, or none of its steps gated: "n/a"
        first_update=cadence,
        cadence=cadence,
        exit_criteria={p.id: len(p.exit_criteria) for p in procedure.phases},
        audiences=list(expect.communications),
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
        "detail": m.detail,
        "finding": m.finding,
    }


async def _recall(session: AsyncSession, incident_id: int, scenario: Scenario) -> Measure:
    """What the responders recorded on the incident (observables and the assets it touches)."""
    found = {
        (kind, value)
        for kind, value in await session.execute(
            select(Observable.type, Observable.value).where(Observable.incident_id == incident_id)
        )
    }
    linked = select(IncidentAsset.asset_id).where(IncidentAsset.incident_id == incident_id)
    on_observables = select(Observable.asset_id).where(Observable.incident_id == incident_id)
    names = await session.scalars(
        select(Asset.name).where(or_(Asset.id.in_(linked), Asset.id.in_(on_observables)))
    )
    injected = [Injected(o.kind, o.value, tuple(o.hosts)) for o in scenario.observables]
    return recall(injected, found, {n.lower() for n in names})


async def drill_report(
    *, session: AsyncSession, run: DrillRun, loaded: LoadedProcedure, now: datetime
) -> list[Measure]:
    """Measured from when the drill fired; before it fired, or before an incident exists, nothing to read."""
    if run.fired_at is None or run.incident_id is None:
        return []
    tasks = await session.execute(
        select(Task.id, Task.step_id).where(Task.incident_id == run.incident_id, Task.step_id.is_not(None))
    )
    steps = {task_id: str(step_id) for task_id, step_id in tasks}
    rows = await session.scalars(
        select(TimelineEvent).where(TimelineEvent.incident_id == run.incident_id).order_by(TimelineEvent.seq)
    )
    events = [e for row in rows for e in _events(row, steps)]
    scenario = Scenario.model_validate(run.scenario)
    measures = compute_report(run.fired_at, events, targets_for(scenario, loaded), now)
    measures.insert(-1, await _recall(session, run.incident_id, scenario))
    return measures
