"""Alert use cases outside the hot path: list, read, (un)acknowledge, resolve, attach. Callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.domain import COUNT_CAP, Lookup
from warroom.alerts.incident_notes import note_on_incident
from warroom.alerts.models import Alert, AlertEvent, RawEvent
from warroom.auth.models import User
from warroom.catalog.models import Service
from warroom.errors import Conflict, NotFound
from warroom.inbound import is_digits, primary_key
from warroom.incidents.models import Incident
from warroom.incidents.visibility import Viewer, visible_to
from warroom.paging.engine import restart_paging, stop_paging
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

OPSGENIE_STATUS = {"triggered": "open", "acknowledged": "open", "resolved": "closed"}
OPSGENIE_ACTIONS = {
    "create": "Create",
    "acknowledge": "Acknowledge",
    "unacknowledge": "UnAcknowledge",
    "close": "Close",
    "notes": "AddNote",
}


@dataclass(frozen=True)
class AlertFilter:
    status: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    service: str | None = None
    integration_id: int | None = None
    incident_id: int | None = None
    text: str | None = None
    since: datetime | None = None


OPEN_STATUSES = frozenset({"triggered", "acknowledged"})


def _filtered(query: Select[Any], f: AlertFilter) -> Select[Any]:
    if set(f.status) == OPEN_STATUSES:
        # The alerts page's default. As IN (...) PostgreSQL, with a freshly grown table's stale statistics,
        # sorted every open alert (285 ms at a million); as <> it reads the newest-first index in order.
        query = query.where(Alert.status != "resolved")
    elif f.status and set(f.status) != {*OPEN_STATUSES, "resolved"}:
        query = query.where(Alert.status.in_(f.status))
    if f.severity:
        query = query.where(Alert.severity.in_(f.severity))
    if f.service:
        query = query.where(Alert.service_id.in_(select(Service.id).where(Service.slug == f.service)))
    if f.integration_id is not None:
        query = query.where(Alert.integration_id == f.integration_id)
    if f.incident_id is not None:
        query = query.where(Alert.incident_id == f.incident_id)
    if f.text:
        pattern = f"%{f.text.lower()}%"
        query = query.where(
            or_(func.lower(Alert.title).like(pattern), func.lower(Alert.dedup_key).like(pattern))
        )
    if f.since:
        query = query.where(Alert.last_seen_at >= f.since)
    return query


def seen_by(viewer: Viewer) -> ColumnElement[bool]:
    """An alert on a restricted incident is part of that incident: only those who may see the incident
    see the alert (its title is often the incident's story); everyone else is told it does not exist."""
    if viewer.sees_all:
        return true()
    return or_(
        Alert.incident_id.is_(None),
        exists().where(Incident.id == Alert.incident_id, visible_to(viewer)),
    )


async def list_alerts(
    *, session: AsyncSession, filters: AlertFilter, limit: int, offset: int, viewer: Viewer
) -> tuple[list[Alert], int]:
    """A page of alerts, newest first, and how many match, counted up to COUNT_CAP + 1 (more means "more
    than COUNT_CAP"): an exact count reads every match, 25-40 ms at a million alerts and growing with them."""
    total = await capped_count(session, capped_count_query(filters, viewer))
    query = newest_first(filters, viewer).limit(limit).offset(offset)
    return list((await session.scalars(query)).all()), total


def capped_count_query(filters: AlertFilter, viewer: Viewer) -> Select[Any]:
    matches = _filtered(select(Alert.id), filters).where(seen_by(viewer)).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(matches)


# A capped count must stop at its cap. A table that grew by a storm since its last ANALYZE is planned from
# default estimates, and PostgreSQL then picks a bitmap scan, which reads every match before the LIMIT sees
# one: 54 ms at a million alerts, against 3.5 ms as an index-only scan, and ~2 ms either way once analysed.
WITHOUT_BITMAPS = "SELECT current_setting('enable_bitmapscan'), set_config('enable_bitmapscan', 'off', true)"
RESTORE_BITMAPS = "SELECT set_config('enable_bitmapscan', :value, true)"


async def capped_count(session: AsyncSession, query: Select[Any]) -> int:
    """`query`'s count (see capped_count_query), planned without bitmap scans on PostgreSQL; the setting is
    this transaction's only, and put back as it was."""
    if session.get_bind().dialect.name != "postgresql":
        return int(await session.scalar(query) or 0)
    before = (await session.execute(text(WITHOUT_BITMAPS))).one()[0]
    total = await session.scalar(query)
    await session.execute(text(RESTORE_BITMAPS), {"value": before})
    return int(total or 0)


def newest_first(filters: AlertFilter, viewer: Viewer) -> Select[Any]:
    """The alerts list's query, before its page is cut."""
    query = _filtered(select(Alert), filters).where(seen_by(viewer))
    return query.order_by(Alert.last_seen_at.desc(), Alert.id.desc())


async def get_alert(*, session: AsyncSession, ref: str, viewer: Viewer, for_update: bool = False) -> Alert:
    """By number, by uid, or by the dedup key of an open alert (what `warroom ack KEY` passes); 404 when
    the viewer may not see it."""
    if is_digits(ref):
        query = select(Alert).where(Alert.id == (primary_key(ref) or -1))
    elif len(ref) == 36 and ref.count("-") == 4:
        query = select(Alert).where(Alert.uid == ref)
    else:
        query = select(Alert).where(Alert.dedup_key == ref, Alert.status != "resolved")
    query = query.where(seen_by(viewer))
    if for_update:
        query = query.with_for_update()
    found = list((await session.scalars(query.limit(2))).all())
    if not found:
        raise NotFound(f"no alert {ref!r}")
    if len(found) > 1:
        raise Conflict(f"several open alerts have the key {ref!r}; use the alert's number")
    return found[0]


async def _event(
    session: AsyncSession, alert: Alert, action: str, actor: str, now: datetime, **data: Any
) -> None:
    session.add(AlertEvent(alert_id=alert.id, request_id=None, at=now, action=action, actor=actor, data=data))
    await note_on_incident(session=session, alert_id=alert.id, action=action, actor=actor, now=now)
    await session.flush()


async def acknowledge(*, session: AsyncSession, alert: Alert, actor: User, now: datetime) -> bool:
    """Acknowledge: paging stops, unsent messages are cancelled, and the alert's history says who."""
    if alert.status != "triggered":
        return False
    alert.status, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", now, actor.email
    await _event(session, alert, "acknowledged", actor.email, now)
    await stop_paging(session=session, alert_ids=[alert.id], state="acknowledged", actor=actor.email, now=now)
    return True


async def acknowledge_with_incident(
    *, session: AsyncSession, incident_id: int, actor: str, now: datetime
) -> list[int]:
    """The incident was acknowledged (its button, a role, chat, or one of its alerts): its alerts still
    triggered are acknowledged with it and stop paging, each history saying so. Returns their ids."""
    found = select(Alert.id).where(Alert.incident_id == incident_id, Alert.status == "triggered")
    ids = list((await session.scalars(found.with_for_update())).all())
    if not ids:
        return []
    await session.execute(
        update(Alert)
        .where(Alert.id.in_(ids))
        .values(status="acknowledged", acknowledged_at=now, acknowledged_by=actor)
    )
    session.add_all(
        AlertEvent(alert_id=i, request_id=None, at=now, action="acknowledged", actor=actor,
                   data={"with_incident": f"INC-{incident_id}"})
        for i in ids
    )  # fmt: skip
    await stop_paging(session=session, alert_ids=ids, state="acknowledged", actor=actor, now=now)
    await session.flush()
    return ids


async def unacknowledge(*, session: AsyncSession, alert: Alert, actor: User, now: datetime) -> bool:
    """Back to triggered: paging starts again from the first step (old step jobs no-op), on its history."""
    if alert.status == "resolved":
        raise Conflict(f"alert {alert.id} is resolved; only an acknowledged alert can be unacknowledged")
    if alert.status != "acknowledged":
        return False
    alert.status, alert.acknowledged_at, alert.acknowledged_by = "triggered", None, None
    await _event(session, alert, "unacknowledged", actor.email, now)
    await restart_paging(
        session=session, alert_id=alert.id, now=now, reason=f"unacknowledged by {actor.email}"
    )
    return True


async def resolve(*, session: AsyncSession, alert: Alert, actor: User, now: datetime) -> bool:
    if alert.status == "resolved":
        return False
    alert.status, alert.resolved_at, alert.resolved_by = "resolved", now, actor.email
    await _event(session, alert, "resolved", actor.email, now)
    await stop_paging(session=session, alert_ids=[alert.id], state="resolved", actor=actor.email, now=now)
    return True


async def attach(
    *, session: AsyncSession, alert: Alert, incident: Incident, actor: User | str, now: datetime
) -> None:
    if alert.incident_id == incident.id:
        raise Conflict(f"alert {alert.id} is already attached to INC-{incident.id}")
    alert.incident_id = incident.id
    label = actor if isinstance(actor, str) else actor.email
    await record(
        session,
        incident,
        label,
        EventKind.alert_attached,
        now,
        alert_id=alert.id,
        title=alert.title,
        severity=alert.severity,
        dedup_key=alert.dedup_key,
    )
    session.add(
        AlertEvent(
            alert_id=alert.id,
            request_id=None,
            at=now,
            action="attached",
            actor=label,
            data={"incident": f"INC-{incident.id}"},
        )
    )
    await session.flush()


async def alert_events(*, session: AsyncSession, alert_id: int) -> list[AlertEvent]:
    query = select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.at, AlertEvent.id)
    return list((await session.scalars(query)).all())


async def request_status(
    *, session: AsyncSession, integration_id: int, request_id: str
) -> dict[str, Any] | None:
    """Opsgenie's GET /v2/alerts/requests/{id}: what a request did, from its stored raw event."""
    raw = await session.scalar(
        select(RawEvent).where(RawEvent.request_id == request_id, RawEvent.integration_id == integration_id)
    )
    outcome = (raw.result.get("events") or [{}])[0] if raw is not None else {}
    if raw is None or outcome.get("outcome") == "queued":  # not derived yet (alerts.intake.backlog)
        return None
    done = outcome.get("outcome") not in (None, "dropped")
    return {
        "success": done,
        "isSuccess": done,
        "action": OPSGENIE_ACTIONS.get(raw.route.get("op", ""), "Create"),
        "processedAt": raw.received_at.isoformat(),
        "integrationId": str(integration_id),
        "status": f"{outcome.get('outcome', 'dropped')} alert",
        "alertId": outcome.get("alert_uid") or "",
        "alias": outcome.get("dedup_key") or "",
    }


async def opsgenie_alert(
    *, session: AsyncSession, integration_id: int, lookup: Lookup
) -> dict[str, Any] | None:
    """Opsgenie's GET /v2/alerts/{identifier}: the alert in Opsgenie's field names (alias: the latest one)."""
    query = select(Alert).where(Alert.integration_id == integration_id)
    if lookup.identifier_type == "alias":
        query = query.where(Alert.dedup_key == lookup.identifier).order_by(Alert.id.desc())
    elif lookup.identifier_type == "tiny":
        query = query.where(Alert.id == (primary_key(lookup.identifier) or -1))
    else:
        query = query.where(Alert.uid == lookup.identifier)
    alert = await session.scalar(query.limit(1))
    if alert is None:
        return None
    return {
        "id": alert.uid,
        "tinyId": str(alert.id),
        "alias": alert.dedup_key,
        "message": alert.title,
        "status": OPSGENIE_STATUS[alert.status],
        "acknowledged": alert.acknowledged_at is not None,
        "isSeen": alert.acknowledged_at is not None,
        "count": alert.count,
        "description": alert.description,
        "priority": alert.raw_severity or "P3",
        "source": alert.source,
        "tags": [t for t in (alert.labels.get("tags") or "").split(",") if t],
        "createdAt": alert.first_seen_at.isoformat(),
        "updatedAt": alert.last_seen_at.isoformat(),
        "lastOccurredAt": alert.last_seen_at.isoformat(),
        "integration": {"id": str(integration_id), "type": "API"},
        "details": alert.details.get("details", {}),
    }
