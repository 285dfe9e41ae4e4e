"""Alerts from a group of intake requests, set-wise: one statement serves many events.

The events of a group are cut into segments in arrival order, each naming an alert key at most once (a
statement may not touch one row twice, and the second event on a key must see what the first did). In a
segment, every trigger is one multi-row upsert on the open-alert index, and acknowledges, resolves and notes
of one integration, actor and time are one UPDATE ... WHERE dedup_key IN (...). Events on different keys
commute, so a segment's triggers may run before its changes. Core statements only: this is the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.domain import KEY_MAX, AlertEventIn, fitted, generated_dedup_key
from warroom.alerts.intake.driver_rows import insert_rows, insert_rows_now
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.alerts.models import Alert
from warroom.ids import time_ordered_uuid
from warroom.inbound import fit_identifier, primary_key

ALERTS = cast(Table, Alert.__table__)
OPEN = Alert.status != "resolved"
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
# What a trigger on an open alert's key does instead of inserting (the same text on SQLite and PostgreSQL):
# ON CONFLICT names the partial open-alert index by its predicate, as literal SQL, which PostgreSQL matches by
# its text.
ON_OPEN_ALERT = (
    "ON CONFLICT (integration_id, dedup_key) WHERE status <> 'resolved' DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in REFRESHED_ON_REPEAT)
    + ", count = alerts.count + 1 RETURNING integration_id, dedup_key, id, uid, count"
)
GROUPED_ACTIONS = frozenset({"acknowledge", "unacknowledge", "resolve", "note"})


@dataclass(frozen=True)
class Item:
    """One event of one request, fitted, with the alert key it acts on (None: no key, so dropped)."""

    position: int
    work: IntakeWork
    event: AlertEventIn
    key: str | None


Derived = list[tuple[AlertEventIn, EventOutcome]]


def _alert_values(item: Item) -> dict[str, Any]:
    work, event, key = item.work, item.event, cast(str, item.key)
    return {
        "uid": time_ordered_uuid(),
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


async def _looked_up_key(session: AsyncSession, work: IntakeWork) -> str | None:
    lookup = work.lookup
    if lookup is None or lookup.identifier_type == "alias":
        return lookup.identifier if lookup else None
    match = Alert.uid == lookup.identifier
    if lookup.identifier_type == "tiny":
        match = Alert.id == (primary_key(lookup.identifier) or -1)
    return await session.scalar(
        select(Alert.dedup_key).where(Alert.integration_id == work.integration_id, match)
    )


async def _items(session: AsyncSession, work: IntakeWork, first: int) -> list[Item]:
    looked_up = await _looked_up_key(session, work) if work.lookup is not None else None
    return _fitted_items(work, first, looked_up)


def _fitted_items(work: IntakeWork, first: int, looked_up: str | None) -> list[Item]:
    items = []
    for offset, event in enumerate(map(fitted, work.events)):
        key = event.dedup_key or looked_up
        if event.action == "trigger":
            key = key or generated_dedup_key(work.integration_id, event)
        items.append(Item(first + offset, work, event, None if key is None else fit_identifier(key, KEY_MAX)))
    return items


def queued_outcomes(work: IntakeWork) -> list[EventOutcome]:
    """What a request stored for deriving later answers (alerts.intake.backlog): each event's key where it
    is known without the database (a trigger's, an alias's), no alert yet."""
    alias = work.lookup.identifier if work.lookup and work.lookup.identifier_type == "alias" else None
    return [EventOutcome(i.event.action, "queued", i.key) for i in _fitted_items(work, 0, alias)]


def segments(items: Iterable[Item]) -> Iterator[list[Item]]:
    """Consecutive runs of `items` in which no (integration, key) comes twice."""
    segment: list[Item] = []
    seen: set[tuple[int, str | None]] = set()
    for item in items:
        name = (item.work.integration_id, item.key)
        if name in seen:
            yield segment
            segment, seen = [], set()
        segment.append(item)
        seen.add(name)
    if segment:
        yield segment


def _upserted(items: list[Item]) -> list[dict[str, Any]]:
    # In key order: groups upserting the same keys (server processes on PostgreSQL) lock them in one order.
    ordered = sorted(items, key=lambda item: (item.work.integration_id, item.key or ""))
    return [_alert_values(item) for item in ordered]


async def _triggers(session: AsyncSession, items: list[Item]) -> dict[int, EventOutcome]:
    connection = await session.connection()
    rows = await insert_rows(connection, ALERTS, _upserted(items), then=ON_OPEN_ALERT)
    return _trigger_outcomes(items, rows)


def _trigger_outcomes(items: list[Item], rows: list[tuple[Any, ...]]) -> dict[int, EventOutcome]:
    by_key = {(row[0], row[1]): row[2:] for row in rows}
    outcomes = {}
    for item in items:
        alert_id, uid, count = by_key[(item.work.integration_id, item.key)]
        outcome = "created" if count == 1 else "updated"
        outcomes[item.position] = EventOutcome("trigger", outcome, item.key, alert_id, uid)
    return outcomes


def _change_groups(items: list[Item]) -> Iterator[list[Item]]:
    """Changes one UPDATE can make together: same integration, action, actor and time."""
    groups: dict[tuple[Any, ...], list[Item]] = {}
    for item in items:
        event = item.event
        name: tuple[Any, ...] = (item.work.integration_id, event.action, event.actor, item.work.received_at)
        if event.action not in GROUPED_ACTIONS:
            name = (item.position,)  # an update's columns are its own
        groups.setdefault(name, []).append(item)
    return iter(groups.values())


async def _changes(session: AsyncSession, items: list[Item]) -> dict[int, EventOutcome]:
    """Acknowledge, unacknowledge, resolve, update or note open alerts; with none open, dropped."""
    first = items[0]
    integration_id, action = first.work.integration_id, first.event.action
    where, values, outcome = _state_change(first.event, first.work.received_at)
    keys = [cast(str, item.key) for item in items]
    in_keys = (Alert.integration_id == integration_id, Alert.dedup_key.in_(keys))
    connection = await session.connection()
    changed = await connection.execute(
        update(Alert).where(*in_keys, where).values(**values).returning(Alert.dedup_key, Alert.id, Alert.uid)
    )
    found: dict[str, tuple[str, int | None, str | None]] = {
        row[0]: (outcome, row[1], row[2]) for row in changed
    }
    if len(found) < len(keys):  # already in the asked-for state (accepted, nothing to change), or none open
        opened = await connection.execute(select(Alert.dedup_key, Alert.id, Alert.uid).where(*in_keys, OPEN))
        for row in opened:
            found.setdefault(row[0], ("unchanged", row[1], row[2]))
    result = {}
    for item in items:
        state, alert_id, uid = found.get(cast(str, item.key), ("dropped", None, None))
        result[item.position] = EventOutcome(action, state, item.key, alert_id, uid)
    return result


async def _segment(session: AsyncSession, segment: list[Item]) -> dict[int, EventOutcome]:
    triggers = [item for item in segment if item.event.action == "trigger"]
    outcomes = await _triggers(session, triggers) if triggers else {}
    for item in segment:
        if item.key is None:
            outcomes[item.position] = EventOutcome(item.event.action, "dropped", None)
    changes = [item for item in segment if item.event.action != "trigger" and item.key is not None]
    for group in _change_groups(changes):
        outcomes.update(await _changes(session, group))
    return outcomes


def _per_request(per_work: list[list[Item]], outcomes: dict[int, EventOutcome]) -> list[Derived]:
    return [[(item.event, outcomes[item.position]) for item in items] for items in per_work]


async def derive(session: AsyncSession, works: list[IntakeWork]) -> list[Derived]:
    """Each request's events (fitted) with what became of them, in the requests' order."""
    per_work: list[list[Item]] = []
    position = 0
    for work in works:
        per_work.append(await _items(session, work, position))
        position += len(work.events)
    outcomes: dict[int, EventOutcome] = {}
    for segment in segments(item for items in per_work for item in items):
        outcomes.update(await _segment(session, segment))
    return _per_request(per_work, outcomes)


def only_triggers(work: IntakeWork) -> bool:
    """A request derive_triggers_now can store: triggers only, no alert looked up, no service change."""
    return work.lookup is None and work.change is None and all(e.action == "trigger" for e in work.events)


def derive_triggers_now(connection: Any, dialect: Dialect, works: list[IntakeWork]) -> list[Derived]:
    """derive for requests that only trigger (see only_triggers), on a synchronous DB-API connection in its
    transaction: the same upserts, one per segment."""
    per_work: list[list[Item]] = []
    position = 0
    for work in works:
        per_work.append(_fitted_items(work, position, None))
        position += len(work.events)
    outcomes: dict[int, EventOutcome] = {}
    for segment in segments(item for items in per_work for item in items):
        rows = insert_rows_now(connection, ALERTS, dialect, _upserted(segment), then=ON_OPEN_ALERT)
        outcomes.update(_trigger_outcomes(segment, rows))
    return _per_request(per_work, outcomes)
