"""Integrations: create, rotate, look up by key (cached briefly: it is read on every intake request)."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.intake.webhook import compile_config
from warroom.alerts.models import Integration, RawEvent
from warroom.alerts.schemas import INTEGRATION_KINDS, IntegrationCreate, IntegrationPatch
from warroom.auth.domain import may_read_team_secret
from warroom.auth.models import User
from warroom.auth.service import team_ids_of
from warroom.catalog.models import Service
from warroom.catalog.service import get_service
from warroom.db import SessionFactories
from warroom.errors import NotFound, invalid

CACHE_SECONDS = 5.0
# What an intake URL or how-to shows in place of a key its reader may not see.
HIDDEN_KEY = "<key: shown to admins and the owning team>"


def new_key() -> str:
    """32 hex characters: the shape of a PagerDuty routing key, so senders that check it accept ours."""
    return secrets.token_hex(16)


def _check_config(kind: str, config: dict[str, Any]) -> None:
    if kind == "webhook":
        try:
            compile_config(config)
        except ValueError as error:
            raise invalid("config", str(error)) from None
    elif config:
        raise invalid("config", f"{kind} integrations take no config")


async def _service_id(session: AsyncSession, slug: str) -> int:
    try:
        return (await get_service(session=session, slug=slug)).id
    except NotFound as error:
        raise invalid("service", error.detail) from None


async def create_integration(*, session: AsyncSession, data: IntegrationCreate, now: datetime) -> Integration:
    if data.kind not in INTEGRATION_KINDS:
        raise invalid("kind", f"unknown kind; allowed: {', '.join(INTEGRATION_KINDS)}")
    _check_config(data.kind, data.config)
    integration = Integration(
        kind=data.kind,
        name=data.name or f"{data.kind} for {data.service}",
        service_id=await _service_id(session, data.service),
        key=new_key(),
        signing_secret=data.signing_secret or None,
        config=data.config,
        rate_limit_per_minute=data.rate_limit_per_minute,
        created_at=now,
    )
    session.add(integration)
    await session.flush()
    return integration


async def get_integration(*, session: AsyncSession, integration_id: int) -> Integration:
    integration = await session.get(Integration, integration_id)
    if integration is None:
        raise NotFound(f"no integration {integration_id}")
    return integration


async def update_integration(
    *, session: AsyncSession, integration: Integration, patch: IntegrationPatch
) -> None:
    if patch.config is not None:
        _check_config(integration.kind, patch.config)
        integration.config = patch.config
    if patch.service is not None:
        integration.service_id = await _service_id(session, patch.service)
    if patch.name is not None:
        integration.name = patch.name
    if patch.signing_secret is not None:
        integration.signing_secret = patch.signing_secret or None
    if patch.rate_limit_per_minute is not None:
        integration.rate_limit_per_minute = patch.rate_limit_per_minute
    await session.flush()


async def rotate_key(*, session: AsyncSession, integration: Integration, now: datetime) -> str:
    integration.key, integration.key_rotated_at = new_key(), now
    await session.flush()
    return integration.key


class IntegrationRow(NamedTuple):
    integration: Integration
    service: str  # the slug
    team_id: int | None  # the owning team: its service's
    last_event_at: datetime | None


@dataclass(frozen=True)
class KeyAccess:
    """Which integration keys one person may read (auth.domain.may_read_team_secret)."""

    role: str
    teams: frozenset[int]

    def allows(self, row: IntegrationRow) -> bool:
        return may_read_team_secret(self.role, row.team_id, self.teams)

    def key(self, row: IntegrationRow) -> str | None:
        """The key if this person may read it, else None."""
        return row.integration.key if self.allows(row) else None


async def key_access(*, session: AsyncSession, user: User) -> KeyAccess:
    return KeyAccess(user.role, await team_ids_of(session=session, user_id=user.id))


async def list_integrations(
    *, session: AsyncSession, integration_id: int | None = None
) -> list[IntegrationRow]:
    """Each integration (or the one asked for) with its service's slug and team, and when it last received
    anything."""
    last = (
        select(func.max(RawEvent.received_at))
        .where(RawEvent.integration_id == Integration.id)
        .correlate(Integration)
        .scalar_subquery()
    )
    query = select(Integration, Service.slug, Service.team_id, last).join(
        Service, Service.id == Integration.service_id
    )
    if integration_id is not None:
        query = query.where(Integration.id == integration_id)
    rows = await session.execute(query.order_by(Integration.id))
    return [IntegrationRow(i, slug, team, at) for i, slug, team, at in rows.all()]


def intake_url(base_url: str, kind: str, key: str | None) -> tuple[str, str]:
    """Where a sender posts, and a one-line how-to for pointing it at us (a key of None: HIDDEN_KEY in its
    place, since some senders' URLs hold the key)."""
    key = HIDDEN_KEY if key is None else key
    if kind == "pagerduty":
        return (
            f"{base_url}/v2/enqueue",
            f"Events API v2: set the URL to {base_url}/v2/enqueue, routing key {key}",
        )
    if kind == "opsgenie":
        return f"{base_url}/v2/alerts", f"Opsgenie API: set the API URL/host to {base_url}, API key {key}"
    url = f"{base_url}/intake/{kind}/{key}"
    return url, f"Webhook: POST to {url}"


@dataclass(frozen=True)
class IntegrationInfo:
    id: int
    kind: str
    service_id: int
    signing_secret: str | None
    config: dict[str, Any]
    rate_limit_per_minute: int


@dataclass
class IntegrationCache:
    """Key -> integration, for a few seconds, so each intake request costs no lookup query.

    One lookup per key at a time: when an entry lapsed under a storm, every request arriving during its
    lookup used to run one of its own (614 lookups in 15 s at 4,500 requests/s over 256 connections,
    where 6 were due); they now wait for the one in flight."""

    entries: dict[str, tuple[float, IntegrationInfo | None]] = field(default_factory=dict)
    _lookups: dict[str, asyncio.Task[IntegrationInfo | None]] = field(default_factory=dict)
    _generation: int = 0  # forget() moves it on: a lookup begun before then stores nothing

    async def find(self, db: SessionFactories, key: str) -> IntegrationInfo | None:
        hit = self.entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        lookup = self._lookups.get(key)
        if lookup is None:
            lookup = asyncio.create_task(self._look_up(db, key, self._generation))
            lookup.add_done_callback(_raised_to_waiters)
            self._lookups[key] = lookup
        # (shielded: a waiter that goes away, its client gone, must not cancel the others' lookup)
        return await asyncio.shield(lookup)

    async def _look_up(self, db: SessionFactories, key: str, generation: int) -> IntegrationInfo | None:
        try:
            async with db.read() as session:
                row = await session.scalar(select(Integration).where(Integration.key == key))
        finally:
            if generation == self._generation:
                self._lookups.pop(key, None)
        info = None if row is None else _info(row)
        if generation == self._generation:
            if len(self.entries) > 10_000:
                self.entries.clear()  # keys guessed by a scanner must not grow memory without bound
            self.entries[key] = (time.monotonic() + CACHE_SECONDS, info)
        return info

    def forget(self) -> None:
        self.entries.clear()
        self._lookups.clear()  # (those in flight may have read the old row: later requests look again)
        self._generation += 1


def _info(row: Integration) -> IntegrationInfo:
    return IntegrationInfo(
        row.id, row.kind, row.service_id, row.signing_secret, dict(row.config), row.rate_limit_per_minute
    )


def _raised_to_waiters(lookup: asyncio.Task[IntegrationInfo | None]) -> None:
    """A failed lookup's error is raised to every request waiting on it; this marks it as seen, so one
    whose waiters all went away is not reported again when the task is collected."""
    if not lookup.cancelled():
        lookup.exception()
