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

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Select, select, text, true
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from warroom import json_text
from warroom.alerts.domain import IntakeRejected
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.derive import derive
from warroom.alerts.intake.dispatch import decode
from warroom.alerts.intake.driver_rows import fetch, fetch_now
from warroom.alerts.intake.flood import FloodMeter
from warroom.alerts.intake.store import Batch, add_derived, stored_result
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.alerts.models import IntakeBacklog, Integration, RawEvent

log = structlog.get_logger("warroom.intake")

# At 100 (the default rate limit) PostgreSQL's paced 200/s (two processes) had requests deferred and waiting
# out backlog passes: p99 203 ms against 5 ms. Deferring is for storms.
DEFER_REQUESTS_PER_SECOND = 500
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
    """Counts each integration's requests a second: past the limit, they join the backlog, and so does
    every request of the second after one that went past it (sticky). Joining the backlog is always safe
    for order; what a sticky meter spares is each second's first requests going the inline way only to be
    sent to the backlog by their integration's backlog, a look-up per group and groups split between
    the two ways."""
    return FloodMeter(limit=DEFER_REQUESTS_PER_SECOND, sticky=True)


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
    # By the index: a sequential scan read through every row derived since the last vacuum.
    first = select(IntakeBacklog.id).order_by(IntakeBacklog.id).limit(1)
    return (await session.scalar(first)) is not None


@dataclass(frozen=True)
class Claimed:
    """One backlog request: its place, its raw row and its integration's service and config."""

    backlog_id: int
    raw_id: int
    request_id: str
    integration_id: int
    received_at: datetime
    content_type: str
    headers: dict[str, str]
    body: bytes
    route: dict[str, Any]
    service_id: int
    config: dict[str, Any]


_JSON_COLUMNS = (6, 8, 10)  # headers, route, config: text on SQLite's driver, read by json_text


def _oldest(limit: int, dialect: str) -> Select[Any]:
    """The backlog's oldest `limit` requests with what deriving them needs, in arrival order. The oldest
    are picked first, then their raw rows looked up one index probe each: joined plainly, PostgreSQL
    hashed every raw request on each pass, whenever raw_events had no statistics yet (a storm's first
    minutes): 64-141 ms a pass of 200, against 2 ms as a LATERAL look-up, which SQLite lacks and does not
    need (its planner probes the index)."""
    oldest = select(IntakeBacklog).order_by(IntakeBacklog.id).limit(limit).subquery()
    raw = RawEvent.__table__
    same_request = raw.c.request_id == oldest.c.request_id
    matching: ColumnElement[bool] = same_request & (raw.c.received_at == oldest.c.received_at)
    found: Any = raw
    if dialect == "postgresql":
        found = select(raw).where(matching).limit(1).lateral()
        matching = true()
    return (
        select(
            oldest.c.id,
            found.c.id,
            found.c.request_id,
            found.c.integration_id,
            found.c.received_at,
            found.c.content_type,
            found.c.headers,
            found.c.body,
            found.c.route,
            Integration.service_id,
            Integration.config,
        )
        .select_from(oldest)
        .join(found, matching)
        .join(Integration, Integration.id == oldest.c.integration_id)
        .order_by(oldest.c.id)
    )


async def _claimed(session: AsyncSession, limit: int) -> list[Claimed]:
    """The backlog's oldest `limit` requests; none while another process derives (PostgreSQL)."""
    dialect = (await session.connection()).dialect.name
    if dialect == "postgresql":
        locked = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        if not locked:
            return []
    return [Claimed(*row) for row in await session.execute(_oldest(limit, dialect))]


def claimed_now(connection: Any, dialect: Dialect, limit: int) -> list[Claimed]:
    """_claimed on a synchronous DB-API connection in its transaction (the intake writer's thread)."""
    if dialect.name == "postgresql":
        if not fetch_now(connection, "SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK])[0][0]:
            return []
        return [Claimed(*row) for row in fetch_now(connection, _sql(dialect, limit), [])]
    rows = []
    for row in fetch_now(connection, _sql(dialect, limit), []):
        values = list(row)
        values[4] = datetime.fromisoformat(values[4]).replace(tzinfo=UTC)  # stored as naive UTC text
        for column in _JSON_COLUMNS:
            values[column] = json_text.loads(values[column])
        rows.append(Claimed(*values))
    return rows


@lru_cache(maxsize=16)  # a statement per engine's dialect and pass size
def _sql(dialect: Dialect, limit: int) -> str:
    return str(_oldest(limit, dialect.name).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _work(batch: Batch, claimed: Claimed) -> IntakeWork | None:
    """The stored request as the writer was handed it (None: its adapter refuses it now, as its result
    says)."""
    request = IntakeRequest(
        claimed.body, claimed.content_type, claimed.received_at, claimed.headers, claimed.config
    )
    try:
        decoded = decode(claimed.route, request)
    except IntakeRejected as error:
        log.warning("backlog request refused on deriving", request_id=claimed.request_id, error=str(error))
        refused = {"events": [], "refused": str(error)}
        batch.raw_results.append(stored_result(claimed.raw_id, claimed.received_at, refused))
        return None
    return IntakeWork(
        integration_id=claimed.integration_id,
        service_id=claimed.service_id,
        request_id=claimed.request_id,
        received_at=claimed.received_at,
        content_type=claimed.content_type,
        headers=claimed.headers,
        body=claimed.body,
        route=claimed.route,
        events=decoded.events,
        lookup=decoded.lookup,
        change=decoded.change,
        raw_id=claimed.raw_id,
    )


def backlog_batch(claimed: list[Claimed]) -> tuple[Batch, list[IntakeWork]]:
    """A batch that takes `claimed` off the backlog, their triage on the flood queue (a backlog is a
    flood's: it waits behind no one's pages), and the works to derive into it."""
    batch = Batch(flood=FloodMeter(limit=0), derived_backlog=[row.backlog_id for row in claimed])
    return batch, [work for row in claimed if (work := _work(batch, row))]


async def derive_backlog(session: AsyncSession, limit: int = DERIVE_BATCH) -> int:
    """Derive the backlog's oldest `limit` requests in the session's transaction (not committed); how
    many were taken off the backlog."""
    claimed = await _claimed(session, limit)
    batch, works = backlog_batch(claimed)
    add_derived(batch, works, await derive(session, works), stored=True)
    await batch.write(session)
    return len(claimed)


async def set_aside_oldest(session: AsyncSession, error: Exception) -> str | None:
    """Take the backlog's oldest request off it, underived, its result saying why (deriving it alone
    failed with `error`), so one bad request cannot hold up those behind it; its request id."""
    claimed = await _claimed(session, 1)
    if not claimed:
        return None
    oldest = claimed[0]
    batch = Batch(derived_backlog=[oldest.backlog_id])
    why = {"events": [], "error": repr(error)}
    batch.raw_results.append(stored_result(oldest.raw_id, oldest.received_at, why))
    await batch.write(session)
    return oldest.request_id
