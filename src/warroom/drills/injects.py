"""Timed injects: durable jobs, one per inject, due at the drill's fire time plus the inject's offset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.drills.models import DrillRun
from warroom.drills.schemas import Scenario
from warroom.errors import Conflict
from warroom.incidents.models import Incident
from warroom.jobs.kinds import JobRun
from warroom.jobs.service import JobSpec, stage
from warroom.procedure.domain import parse_duration
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

INJECT_KIND = "drill.inject"


async def stage_injects(
    *, session: AsyncSession, run: DrillRun, scenario: Scenario, fired_at: datetime
) -> None:
    for index, inject in enumerate(scenario.injects):
        spec = JobSpec(
            kind=INJECT_KIND,
            payload={"run_id": run.id, "index": index},
            run_at=fired_at + parse_duration(inject.at),
            idempotency_key=f"drill-{run.id}-inject-{index}",
        )
        await stage(session=session, spec=spec, now=fired_at)


async def run_inject(run: JobRun, payload: dict[str, Any]) -> None:
    """A new fact becomes a timeline note on the drill's incident; a second alert goes through the intake."""
    drill = await run.session.get(DrillRun, int(payload["run_id"]))
    if drill is None:
        return  # the run was deleted: nothing to inject into
    inject = Scenario.model_validate(drill.scenario).injects[int(payload["index"])]
    if inject.alert is not None:
        # The intake writer commits on its own turn, which this job's open transaction would block (SQLite):
        # queue it on the run; the periodic check sends it outside any transaction.
        drill.pending_alerts = [*drill.pending_alerts, inject.alert]
        return
    incident = await run.session.get(Incident, drill.incident_id) if drill.incident_id else None
    if incident is None:
        # No incident yet to tell: fail this attempt so the job retries with backoff.
        raise Conflict(f"drill {drill.id} has no incident yet for its inject at {inject.at}")
    await record(
        run.session, incident, "drill", EventKind.note, run.now, body=f"[DRILL inject] {inject.text}"
    )
