"""A flood's requests are answered once stored, and derived into alerts afterwards, set-wise.

Answering a request only after its alerts are derived (the dedup upsert, alert events, triage jobs) holds each
sender for the whole of that work, and in groups no bigger than the senders in flight. Past
DEFER_REQUESTS_PER_SECOND requests a second from one integration (per server process), a request is stored
as it came (its raw row, and its place in `intake_backlog`) and answered 202 with its outcomes `queued`;
the writer derives the backlog in arrival order, DERIVE_BATCH requests a transaction, whenever no request is
waiting to be stored. Other integrations' requests are derived at once, as always, so their pages are not
held behind a flood.

Order: while an integration has requests in the backlog, each of its new requests joins the backlog too
(checked in the storing transaction, so a second server process keeps to it), so an acknowledge never
overtakes the trigger it acknowledges. One deriver at a time (on PostgreSQL, a transaction-scoped advisory
lock), so two processes never derive one integration's backlog out of order. What a crash leaves in the
backlog is derived when a writer next starts, or within IDLE_CHECK_SECONDS by any other running writer.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import delete, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.domain import IntakeRejected
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.derive import derive
from warroom.alerts.intake.dispatch import decode
from warroom.alerts.intake.driver_rows import fetch, fetch_now
from warroom.alerts.intake.flood import FloodMeter
from warroom.alerts.intake.store import Batch, add_derived
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.alerts.models import IntakeBacklog, Integration, RawEvent

log = structlog.get_logger("warroom.intake")

DEFER_REQUESTS_PER_SECOND = 100  # the default integration rate limit: within it, never deferred
DERIVE_BATCH = 200
IDLE_CHECK_SECONDS = 5.0
ADVISORY_LOCK = 7_020_036  # PostgreSQL: one backlog deriver at a time, across server processes
# Which of some integrations have a backlog: one index probe each, however long the backlog.
_HAS_BACKLOG = "EXISTS (SELECT 1 FROM intake_backlog b WHERE b.integration_id = integrations.id)"
_BACKLOGGED = {
    "sqlite": f"SELECT id FROM integrations WHERE id IN ({{marks}}) AND {_HAS_BACKLOG}",
    "postgresql": f"SELECT id FROM integrations WHERE id = ANY(%s) AND {_HAS_BACKLOG}",
}


def defer_meter() -> FloodMeter:
    """Counts each integration's requests a second: past the limit, they join the backlog."""
    return FloodMeter(limit=DEFER_REQUESTS_PER_SECOND)


def _backlogged_query(dialect: Dialect, ids: list[int]) -> tuple[str, list[Any]]:
    if dialect.name == "sqlite":
        return _BACKLOGGED["sqlite"].format(marks=", ".join("?" * len(ids))), list(ids)
    return _BACKLOGGED["postgresql"], [ids]


def _undecided(works: list[IntakeWork], over: list[bool]) -> list[int]:
    return sorted({w.integration_id for w, deferred in zip(works, over, strict=True) if not deferred})


def deferred_now(connection: Any, dialect: Dialect, works: list[IntakeWork], over: list[bool]) -> list[bool]:
    """Which of `works` join the backlog: those past the meter, and those of an integration with a backlog
    (asked in the connection's transaction, a synchronous DB-API connection)."""
    ids = _undecided(works, over)
    found = {row[0] for row in fetch_now(connection, *_backlogged_query(dialect, ids))} if ids else set()
    return [deferred or w.integration_id in found for w, deferred in zip(works, over, strict=True)]


async def deferred(session: AsyncSession, works: list[IntakeWork], over: list[bool]) -> list[bool]:
    """deferred_now in the session's transaction."""
    ids = _undecided(works, over)
    if not ids:
        return list(over)
    connection = await session.connection()
    found = {row[0] for row in await fetch(connection, *_backlogged_query(connection.dialect, ids))}
    return [was or w.integration_id in found for w, was in zip(works, over, strict=True)]


def merged(
    later: list[bool], now: list[list[EventOutcome]], queued: list[list[EventOutcome]]
) -> list[list[EventOutcome]]:
    """Each request's outcomes, in the requests' order, from those derived now and those queued."""
    derived, waiting = iter(now), iter(queued)
    return [next(waiting) if deferred else next(derived) for deferred in later]


async def has_backlog(session: AsyncSession) -> bool:
    return (await session.scalar(select(IntakeBacklog.id).limit(1))) is not None


async def _claimed(session: AsyncSession, limit: int) -> list[Any]:
    """The backlog's oldest `limit` requests, with their raw rows and integrations; none while another
    process derives (PostgreSQL)."""
    if (await session.connection()).dialect.name == "postgresql":
        locked = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        if not locked:
            return []
    rows = await session.execute(
        select(IntakeBacklog.id, RawEvent, Integration.service_id, Integration.config)
        .join(
            RawEvent,
            (RawEvent.request_id == IntakeBacklog.request_id)
            & (RawEvent.received_at == IntakeBacklog.received_at),
        )
        .join(Integration, Integration.id == IntakeBacklog.integration_id)
        .order_by(IntakeBacklog.id)
        .limit(limit)
    )
    return list(rows.all())


def _work(batch: Batch, raw: RawEvent, service_id: int, config: dict[str, Any]) -> IntakeWork | None:
    """The stored request as the writer was handed it (None: its adapter refuses it now, as its result
    says)."""
    request = IntakeRequest(raw.body, raw.content_type, raw.received_at, raw.headers, config)
    try:
        decoded = decode(raw.route, request)
    except IntakeRejected as error:
        log.warning("backlog request refused on deriving", request_id=raw.request_id, error=str(error))
        batch.raw_results.append(
            {"request_id": raw.request_id, "result": {"events": [], "refused": str(error)}}
        )
        return None
    return IntakeWork(
        integration_id=raw.integration_id,
        service_id=service_id,
        request_id=raw.request_id,
        received_at=raw.received_at,
        content_type=raw.content_type,
        headers=raw.headers,
        body=raw.body,
        route=raw.route,
        events=decoded.events,
        lookup=decoded.lookup,
        change=decoded.change,
    )


async def derive_backlog(session: AsyncSession, limit: int = DERIVE_BATCH) -> int:
    """Derive the backlog's oldest `limit` requests in the session's transaction (not committed), their
    triage on the flood queue; how many were taken off the backlog."""
    claimed = await _claimed(session, limit)
    batch = Batch(flood=FloodMeter(limit=0))  # a backlog is a flood's: its triage waits behind no one's pages
    works = [work for _, raw, service, config in claimed if (work := _work(batch, raw, service, config))]
    add_derived(batch, works, await derive(session, works), stored=True)
    await batch.write(session)
    if claimed:
        await session.execute(delete(IntakeBacklog).where(IntakeBacklog.id.in_([row[0] for row in claimed])))
    return len(claimed)


async def set_aside_oldest(session: AsyncSession, error: Exception) -> str | None:
    """Take the backlog's oldest request off it, underived, its result saying why (deriving it alone
    failed with `error`), so one bad request cannot hold up those behind it; its request id."""
    claimed = await _claimed(session, 1)
    if not claimed:
        return None
    backlog_id, raw = claimed[0][0], claimed[0][1]
    batch = Batch()
    batch.raw_results.append({"request_id": raw.request_id, "result": {"events": [], "error": repr(error)}})
    await batch.write(session)
    await session.execute(delete(IntakeBacklog).where(IntakeBacklog.id == backlog_id))
    return str(raw.request_id)
