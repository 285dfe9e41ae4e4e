"""Apply normalised intake events to the database: one upsert per trigger, one update per ack or resolve.

Runs inside the intake writer's group-commit transaction, so it uses Core statements and no ORM objects:
the hot path must stay lean, and every statement here is served by an index.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.domain import KEY_MAX, AlertEventIn, Lookup, fitted, generated_dedup_key
from warroom.alerts.incident_changes import note_changes_on_open_incidents
from warroom.alerts.incident_notes import note_on_incident
from warroom.alerts.models import Alert, AlertEvent, RawEvent, ServiceChange
from warroom.inbound import fit_identifier, row_id
from warroom.jobs.models import Job
from warroom.jobs.service import JobSpec, job_row, notify_workers
from warroom.paging.engine import restart_paging, stop_paging

OPEN = Alert.status != "resolved"


@dataclass
class IntakeWork:
    integration_id: int
    service_id: int
    request_id: str
    received_at: datetime
    content_type: str
    headers: dict[str, str]
    body: bytes
    route: dict[str, Any]
    events: list[AlertEventIn]
    lookup: Lookup | None = None
    change: dict[str, Any] | None = None  # a change event's ServiceChange columns (summary, source, ...)


@dataclass(frozen=True)
class EventOutcome:
    action: str
    outcome: str  # created, updated, acknowledged, unacknowledged, resolved, noted, dropped
    dedup_key: str | None
    alert_id: int | None = None
    alert_uid: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "outcome": self.outcome,
            "dedup_key": self.dedup_key,
            "alert_id": self.alert_id,
            "alert_uid": self.alert_uid,
        }


REFRESHED_ON_REPEAT = (
    "severity",
    "raw_severity",
    "title",
    "description",
    "source",
    "labels",
    "links",
    "details",
    "last_seen_at",
)
# The partial index's predicate, as literal SQL: PostgreSQL matches ON CONFLICT ... WHERE to the index by its
# text, and a bound parameter here stops matching once psycopg prepares the statement (after 5 runs).
OPEN_INDEX_WHERE = text("status <> 'resolved'")
_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: str) -> Any:
    """The dedup upsert, built once per dialect (building it per event cost more than running it)."""
    if dialect not in _UPSERTS:
        table = cast(Table, Alert.__table__)
        statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        refreshed = {name: statement.excluded[name] for name in REFRESHED_ON_REPEAT}
        _UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=[Alert.integration_id, Alert.dedup_key],
            index_where=OPEN_INDEX_WHERE,
            set_={**refreshed, "count": Alert.count + 1},
        ).returning(Alert.id, Alert.uid, Alert.count)
    return _UPSERTS[dialect]


def _alert_values(work: IntakeWork, event: AlertEventIn, key: str) -> dict[str, Any]:
    return {
        "uid": str(uuid.uuid4()),
        "integration_id": work.integration_id,
        "service_id": work.service_id,
        "dedup_key": key,
        "group_key": event.group_key,
        "status": "triggered",
        "severity": event.severity,
        "raw_severity": event.raw_severity,
        "title": event.title[:1024] or key,
        "description": event.description,
        "source": event.source[:255],
        "labels": event.labels,
        "links": event.links,
        "details": event.details,
        "first_seen_at": work.received_at,
        "last_seen_at": work.received_at,
        "count": 1,
        "triaged": False,
    }


async def _trigger(session: AsyncSession, work: IntakeWork, event: AlertEventIn, key: str) -> EventOutcome:
    statement = _upsert(session.get_bind().dialect.name)
    connection = await session.connection()  # Core execution: the ORM's bulk-insert path costs more here
    alert_id, uid, count = (await connection.execute(statement, _alert_values(work, event, key))).one()
    return EventOutcome("trigger", "created" if count == 1 else "updated", key, alert_id, uid)


def _state_change(event: AlertEventIn, now: datetime) -> tuple[Any, dict[str, Any], str]:
    if event.action == "acknowledge":
        return (
            Alert.status == "triggered",
            {"status": "acknowledged", "acknowledged_at": now, "acknowledged_by": event.actor},
            "acknowledged",
        )
    if event.action == "unacknowledge":
        return (
            Alert.status == "acknowledged",
            {"status": "triggered", "acknowledged_at": None, "acknowledged_by": None},
            "unacknowledged",
        )
    if event.action == "resolve":
        return OPEN, {"status": "resolved", "resolved_at": now, "resolved_by": event.actor}, "resolved"
    if event.action == "update":
        return OPEN, _updated_columns(event), "updated"
    return OPEN, {"last_seen_at": now}, "noted"


def _updated_columns(event: AlertEventIn) -> dict[str, Any]:
    """The one field an update names (Opsgenie's PUT .../message, .../description, .../priority)."""
    field = event.details.get("updated")
    if field == "message":
        return {"title": event.title[:1024]}
    if field == "description":
        return {"description": event.description}
    return {"severity": event.severity, "raw_severity": event.raw_severity}


async def _change(session: AsyncSession, work: IntakeWork, event: AlertEventIn, key: str) -> EventOutcome:
    """Acknowledge, unacknowledge, resolve or note the open alert; with none open, the event is dropped."""
    where, values, outcome = _state_change(event, work.received_at)
    found = await session.execute(
        update(Alert)
        .where(Alert.integration_id == work.integration_id, Alert.dedup_key == key, where)
        .values(**values)
        .returning(Alert.id, Alert.uid)
    )
    row = found.first()
    if row is None:
        opened = await session.execute(
            select(Alert.id, Alert.uid).where(
                Alert.integration_id == work.integration_id, Alert.dedup_key == key, OPEN
            )
        )
        row = opened.first()  # already in the asked-for state: accepted, nothing to change
        outcome = "unchanged" if row else "dropped"
    return EventOutcome(event.action, outcome, key, *(row or (None, None)))


async def _resolve_lookup(session: AsyncSession, work: IntakeWork) -> str | None:
    lookup = work.lookup
    if lookup is None or lookup.identifier_type == "alias":
        return lookup.identifier if lookup else None
    match = Alert.uid == lookup.identifier
    if lookup.identifier_type == "tiny":
        match = Alert.id == (row_id(lookup.identifier) or -1)
    return await session.scalar(
        select(Alert.dedup_key).where(Alert.integration_id == work.integration_id, match)
    )


@dataclass
class Batch:
    """Rows that follow from a group of requests, inserted together once the group's events are applied."""

    raw_events: list[dict[str, Any]] = field(default_factory=list)
    raw_results: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    alert_events: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    # (alert, new state, who, when) for each acknowledge or resolve: paging stops
    stops: list[tuple[int, str, str | None, datetime]] = field(default_factory=list)
    replay: bool = False  # a replay re-derives alerts; what it noted on incidents the first time stays once

    async def write(self, session: AsyncSession) -> None:
        """One multi-row insert per table for the whole group."""
        connection = await session.connection()
        for model, rows in (
            (RawEvent, self.raw_events),
            (ServiceChange, self.changes),
            (AlertEvent, self.alert_events),
            (Job, self.jobs),
        ):
            if rows:
                await connection.execute(insert(cast(Table, model.__table__)), rows)
        if self.jobs:
            await notify_workers(session)
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
        for row in self.raw_results:
            await session.execute(
                update(RawEvent).where(RawEvent.request_id == row["request_id"]).values(result=row["result"])
            )


async def apply_work(
    *, session: AsyncSession, work: IntakeWork, replay: bool = False, batch: Batch | None = None
) -> list[EventOutcome]:
    """Apply every event of one request and add the request itself to `batch` (written now if not given).

    `replay` re-applies a stored request: its raw row exists already, and no follow-up jobs are queued.
    """
    own = batch is None
    batch = batch or Batch(replay=replay)
    looked_up = await _resolve_lookup(session, work)
    outcomes = []
    for event in map(fitted, work.events):
        key = event.dedup_key or looked_up
        if event.action == "trigger":
            key = key or generated_dedup_key(work.integration_id, event)
            outcome = await _trigger(session, work, event, fit_identifier(key, KEY_MAX))
        elif key is None:
            outcome = EventOutcome(event.action, "dropped", None)
        else:
            outcome = await _change(session, work, event, fit_identifier(key, KEY_MAX))
        outcomes.append(outcome)
        _follow_up(batch, work, event, outcome, jobs=not replay)
    _add_request(batch, work, outcomes, replay=replay)
    if own:
        await batch.write(session)
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
        spec = JobSpec("alert.triage", {"alert_id": outcome.alert_id}, idempotency_key=key)
        batch.jobs.append(job_row(spec, work.received_at))


def _add_request(batch: Batch, work: IntakeWork, outcomes: list[EventOutcome], *, replay: bool) -> None:
    result = {"events": [o.as_dict() for o in outcomes]}
    if replay:
        batch.raw_results.append({"request_id": work.request_id, "result": result})
    else:
        batch.raw_events.append(
            {
                "request_id": work.request_id,
                "integration_id": work.integration_id,
                "received_at": work.received_at,
                "content_type": work.content_type[:200],
                "headers": work.headers,
                "body": work.body,
                "route": work.route,
                "result": result,
            }
        )
    if work.change is not None:
        batch.changes.append(
            {
                "service_id": work.service_id,
                "integration_id": work.integration_id,
                "request_id": work.request_id,
                **work.change,
            }
        )
