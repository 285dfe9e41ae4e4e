"""Apply normalised intake events to the database: the alerts (set-wise, see derive), then one multi-row
insert per table for what follows from them (raw requests, alert events, triage jobs, service changes).

Runs inside the intake writer's group-commit transaction, so it uses Core statements and no ORM objects:
the hot path must stay lean, and every statement here is served by an index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from warroom import json_text
from warroom.alerts.domain import AlertEventIn
from warroom.alerts.incident_changes import note_changes_on_open_incidents
from warroom.alerts.incident_notes import note_on_incident
from warroom.alerts.intake.derive import Derived, derive, queued_outcomes
from warroom.alerts.intake.driver_rows import execute_many, insert_rows
from warroom.alerts.intake.flood import DEFAULT_QUEUE, FloodMeter
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.alerts.models import AlertEvent, IntakeBacklog, RawEvent, ServiceChange
from warroom.jobs.models import Job
from warroom.jobs.service import JobSpec, job_row, notify_workers
from warroom.paging.engine import restart_paging, stop_paging

# A stored request's outcome, once derived (replay, or a request derived after its answer); one statement
# for a group, so each dialect's placeholders.
# On SQLite (in-process) once per row; on PostgreSQL once for all, by arrays: 200 statements a backlog pass
# cost ~300 µs a request there.
# By primary key: joined by request id, PostgreSQL hashed every raw request whenever raw_events had no
# statistics yet (32 ms a pass of 200 at 100,000 requests, growing with them; 3 ms by key).
RAW_RESULT = {
    "sqlite": "UPDATE raw_events SET result = ? WHERE id = ?",
    "postgresql": "UPDATE raw_events AS r SET result = v.result::json"
    " FROM unnest(%s::text[], %s::integer[], %s::timestamptz[]) AS v(result, id, received_at)"
    " WHERE r.id = v.id AND r.received_at = v.received_at",
}
BACKLOG_DONE = {
    "sqlite": "DELETE FROM intake_backlog WHERE id = ?",
    "postgresql": "DELETE FROM intake_backlog WHERE id = ANY(%s::integer[])",
}


@dataclass
class Batch:
    """Rows that follow from a group of requests, inserted together once the group's events are applied."""

    raw_events: list[dict[str, Any]] = field(default_factory=list)
    raw_results: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    alert_events: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    # Requests stored to derive later (backlog.py), and the backlog rows this batch derives (their ids)
    backlog: list[dict[str, Any]] = field(default_factory=list)
    derived_backlog: list[int] = field(default_factory=list)
    # (alert, new state, who, when) for each acknowledge or resolve: paging stops
    stops: list[tuple[int, str, str | None, datetime]] = field(default_factory=list)
    replay: bool = False  # a replay re-derives alerts; what it noted on incidents the first time stays once
    flood: FloodMeter | None = None  # the writer's: which queue each new alert's triage goes to (flood.py)

    def inserts(self) -> list[tuple[Table, list[dict[str, Any]]]]:
        """Each table's rows for the group (those with any)."""
        tables = (
            (RawEvent, self.raw_events),
            (ServiceChange, self.changes),
            (AlertEvent, self.alert_events),
            (Job, self.jobs),
            (IntakeBacklog, self.backlog),
        )
        return [(cast(Table, model.__table__), rows) for model, rows in tables if rows]

    async def write(self, session: AsyncSession) -> None:
        """One multi-row insert per table for the whole group, then what follows from it."""
        connection = await session.connection()
        for table, rows in self.inserts():
            await insert_rows(connection, table, rows)
        for queue in sorted({str(job["queue"]) for job in self.jobs}):
            await notify_workers(session, queue)
        if self.changes and not self.replay:
            await note_changes_on_open_incidents(session=session, changes=self.changes)
        for alert_id, state, actor, at in self.stops:
            if state == "unacknowledged":
                await restart_paging(
                    session=session, alert_id=alert_id, now=at, reason=f"unacknowledged by {actor}"
                )
            else:
                await stop_paging(session=session, alert_ids=[alert_id], state=state, actor=actor, now=at)
            await note_on_incident(session=session, alert_id=alert_id, action=state, actor=actor, now=at)
        for sql, many in self.updates(connection.dialect):
            await execute_many(connection, sql, many)

    def updates(self, dialect: Dialect) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """The stored requests' outcomes (replay, backlog) and the backlog rows derived: each a statement
        run once per row (executemany)."""
        keyed = dialect.name == "postgresql"  # (partitioned: its primary key is (id, received_at))
        results: list[tuple[Any, ...]] = [
            (json_text.dumps(row["result"]), row["raw_id"], *([row["received_at"]] if keyed else []))
            for row in self.raw_results
        ]
        done: list[tuple[Any, ...]] = [(backlog_id,) for backlog_id in self.derived_backlog]
        statements = [(RAW_RESULT[dialect.name], results), (BACKLOG_DONE[dialect.name], done)]
        if dialect.name == "postgresql":  # one row of arrays: one column each
            return [(sql, [tuple(map(list, zip(*many, strict=True)))]) for sql, many in statements if many]
        return [(sql, many) for sql, many in statements if many]


async def apply_works(
    *, session: AsyncSession, works: list[IntakeWork], replay: bool = False, batch: Batch | None = None
) -> list[list[EventOutcome]]:
    """Apply every event of `works` set-wise (see derive) and add the requests to `batch` (written now if
    not given). `replay` re-applies stored requests: their raw rows exist already, and no follow-up jobs
    are queued."""
    own = batch is None
    batch = batch or Batch(replay=replay)
    results = add_derived(batch, works, await derive(session, works), replay=replay)
    if own:
        await batch.write(session)
    return results


def add_derived(
    batch: Batch,
    works: list[IntakeWork],
    derived: list[Derived],
    *,
    replay: bool = False,
    stored: bool = False,
) -> list[list[EventOutcome]]:
    """Add to `batch` what follows from each request's derived events; each request's outcomes. The raw
    requests are stored already if `replay` (which queues no jobs) or `stored` (a backlog's, backlog.py)."""
    results = []
    for work, events in zip(works, derived, strict=True):
        for event, outcome in events:
            _follow_up(batch, work, event, outcome, jobs=not replay)
        outcomes = [outcome for _, outcome in events]
        _add_request(batch, work, outcomes, stored=replay or stored)
        results.append(outcomes)
    return results


def add_queued(batch: Batch, works: list[IntakeWork]) -> list[list[EventOutcome]]:
    """Add `works` to `batch` to be derived after their answer: each raw request, with the outcomes it is
    answered with (queued), and its place in the backlog."""
    results = []
    for work in works:
        outcomes = queued_outcomes(work)
        batch.raw_events.append(_raw_row(work, outcomes))
        batch.backlog.append(
            {
                "request_id": work.request_id,
                "integration_id": work.integration_id,
                "received_at": work.received_at,
            }
        )
        results.append(outcomes)
    return results


async def apply_work(
    *, session: AsyncSession, work: IntakeWork, replay: bool = False, batch: Batch | None = None
) -> list[EventOutcome]:
    """apply_works for one request."""
    (outcomes,) = await apply_works(session=session, works=[work], replay=replay, batch=batch)
    return outcomes


def _follow_up(
    batch: Batch, work: IntakeWork, event: AlertEventIn, outcome: EventOutcome, *, jobs: bool
) -> None:
    if outcome.alert_id is None:
        return
    data = {"outcome": outcome.outcome, "title": event.title, "severity": event.severity}
    if event.note:
        data["note"] = event.note
    batch.alert_events.append(
        {
            "alert_id": outcome.alert_id,
            "request_id": work.request_id,
            "at": work.received_at,
            "action": event.action,
            "actor": event.actor,
            "data": data,
        }
    )
    if outcome.outcome in ("acknowledged", "resolved", "unacknowledged"):
        batch.stops.append((outcome.alert_id, outcome.outcome, event.actor, work.received_at))
    if jobs and outcome.outcome == "created":
        key = f"triage:{outcome.alert_uid}"
        queue = batch.flood.queue_for(work.integration_id, work.received_at) if batch.flood else DEFAULT_QUEUE
        spec = JobSpec("alert.triage", {"alert_id": outcome.alert_id}, queue=queue, idempotency_key=key)
        batch.jobs.append(job_row(spec, work.received_at))


def _raw_row(work: IntakeWork, outcomes: list[EventOutcome]) -> dict[str, Any]:
    return {
        "request_id": work.request_id,
        "integration_id": work.integration_id,
        "received_at": work.received_at,
        "content_type": work.content_type[:200],
        "headers": work.headers,
        "body": work.body,
        "route": work.route,
        "result": {"events": [o.as_dict() for o in outcomes]},
    }


def stored_result(raw_id: int | None, received_at: datetime, result: dict[str, Any]) -> dict[str, Any]:
    """A stored request's result to write (Batch.raw_results), by its raw row's key."""
    if raw_id is None:
        raise ValueError("a stored request's result needs its raw row's id")
    return {"raw_id": raw_id, "received_at": received_at, "result": result}


def _add_request(batch: Batch, work: IntakeWork, outcomes: list[EventOutcome], *, stored: bool) -> None:
    if stored:
        result = {"events": [o.as_dict() for o in outcomes]}
        batch.raw_results.append(stored_result(work.raw_id, work.received_at, result))
    else:
        batch.raw_events.append(_raw_row(work, outcomes))
    if work.change is not None:
        batch.changes.append(
            {
                "service_id": work.service_id,
                "integration_id": work.integration_id,
                "request_id": work.request_id,
                **work.change,
            }
        )
