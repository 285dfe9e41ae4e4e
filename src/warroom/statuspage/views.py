"""What the public sees, read from the database: only published incidents and maintenances, only public
fields, shaped as Atlassian Statuspage's public v2 API documents them (ids as strings, times ISO 8601 with
the page's offset). Nothing here reads the internal incident a status incident may link to."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.config import Settings
from warroom.statuspage import domain
from warroom.statuspage.components import all_components
from warroom.statuspage.models import (
    StatusComponent,
    StatusIncident,
    StatusIncidentComponent,
    StatusIncidentUpdate,
)

Json = dict[str, Any]


@dataclass(frozen=True)
class PageInfo:
    id: str
    name: str
    url: str
    time_zone: str
    base_url: str

    def incident_url(self, status_incident_id: int) -> str:
        return f"{self.url}/incidents/{status_incident_id}"


def page_info(settings: Settings) -> PageInfo:
    """One page per installation; its id is stable (derived from the secret key, which it does not reveal)."""
    secret = settings.ensure_secret_key().get_secret_value().encode()
    page_id = hmac.new(secret, b"status-page", hashlib.sha256).hexdigest()[:12]
    base = settings.resolved_base_url()
    return PageInfo(
        page_id, settings.status_page_name, f"{base}/status", settings.status_page_time_zone, base
    )


def iso(value: datetime | None, page: PageInfo) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(page.time_zone)).isoformat(timespec="milliseconds")


@dataclass
class Board:
    """Every component and group, in page order, with each group's components and computed status."""

    rows: list[StatusComponent]
    children: dict[int, list[StatusComponent]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for row in self.rows:
            if row.group_id is not None:
                self.children.setdefault(row.group_id, []).append(row)

    def status(self, row: StatusComponent) -> str:
        if not row.is_group:
            return row.status
        return domain.worst(c.status for c in self.children.get(row.id, []))

    def top(self) -> list[StatusComponent]:
        """Groups and ungrouped components (a component whose group is gone counts as ungrouped)."""
        groups = {r.id for r in self.rows if r.is_group}
        return [r for r in self.rows if r.group_id is None or r.group_id not in groups]

    def leaves(self) -> list[StatusComponent]:
        return [r for r in self.rows if not r.is_group]

    def by_id(self) -> dict[int, StatusComponent]:
        return {r.id: r for r in self.rows}

    def in_order(self) -> list[StatusComponent]:
        """Top-level items, each group followed by its components: the order of components.json."""
        out: list[StatusComponent] = []
        for row in self.top():
            out.append(row)
            out.extend(self.children.get(row.id, []) if row.is_group else [])
        return out


async def board(session: AsyncSession) -> Board:
    return Board(await all_components(session=session))


def component_json(row: StatusComponent, board_: Board, page: PageInfo) -> Json:
    out: Json = {
        "id": str(row.id),
        "name": row.name,
        "status": board_.status(row),
        "created_at": iso(row.created_at, page),
        "updated_at": iso(row.updated_at, page),
        "position": row.position,
        "description": row.description or None,
        "showcase": row.showcase,
        "start_date": row.start_date.isoformat() if row.start_date else None,
        "group_id": str(row.group_id) if row.group_id is not None and not row.is_group else None,
        "page_id": page.id,
        "group": row.is_group,
        "only_show_if_degraded": row.only_show_if_degraded,
    }
    if row.is_group:
        out["components"] = [str(c.id) for c in board_.children.get(row.id, [])]
    return out


def page_json(page: PageInfo, updated_at: datetime | None) -> Json:
    return {
        "id": page.id,
        "name": page.name,
        "url": page.url,
        "time_zone": page.time_zone,
        "updated_at": iso(updated_at, page),
    }


def published(kind: str) -> Select[StatusIncident]:
    return select(StatusIncident).where(StatusIncident.kind == kind, StatusIncident.published_at.is_not(None))


@dataclass
class Published:
    """Published incidents or maintenances with their updates (newest first) and components."""

    items: list[StatusIncident]
    updates: dict[int, list[StatusIncidentUpdate]]
    components: dict[int, list[int]]


async def load(session: AsyncSession, query: Select[StatusIncident]) -> Published:
    items = list((await session.scalars(query)).all())
    ids = [i.id for i in items]
    updates: dict[int, list[StatusIncidentUpdate]] = {i: [] for i in ids}
    components: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        rows = await session.scalars(
            select(StatusIncidentUpdate)
            .where(StatusIncidentUpdate.status_incident_id.in_(ids))
            .order_by(StatusIncidentUpdate.display_at.desc(), StatusIncidentUpdate.id.desc())
        )
        for update in rows.all():
            updates[update.status_incident_id].append(update)
        links = await session.execute(
            select(StatusIncidentComponent.status_incident_id, StatusIncidentComponent.component_id)
            .where(StatusIncidentComponent.status_incident_id.in_(ids))
            .order_by(StatusIncidentComponent.id)
        )
        for incident_id, component_id in links.all():
            components[incident_id].append(component_id)
    return Published(items, updates, components)


def update_json(update: StatusIncidentUpdate, page: PageInfo) -> Json:
    return {
        "id": str(update.id),
        "status": update.status,
        "body": update.body,
        "incident_id": str(update.status_incident_id),
        "created_at": iso(update.created_at, page),
        "updated_at": iso(update.updated_at, page),
        "display_at": iso(update.display_at, page),
        "affected_components": update.affected_components or None,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_json(item: StatusIncident, data: Published, board_: Board, page: PageInfo) -> Json:
    rows = board_.by_id()
    out: Json = {
        "id": str(item.id),
        "name": item.name,
        "status": item.status,
        "created_at": iso(item.published_at or item.created_at, page),
        "updated_at": iso(item.updated_at, page),
        "monitoring_at": iso(item.monitoring_at, page),
        "resolved_at": iso(item.resolved_at, page),
        "impact": item.impact,
        "shortlink": page.incident_url(item.id),
        "started_at": iso(item.started_at, page),
        "page_id": page.id,
        "incident_updates": [update_json(u, page) for u in data.updates.get(item.id, [])],
        "components": [
            component_json(rows[c], board_, page) for c in data.components.get(item.id, []) if c in rows
        ],
    }
    if item.kind == "maintenance":
        out["scheduled_for"] = iso(item.scheduled_for, page)
        out["scheduled_until"] = iso(item.scheduled_until, page)
    return out


def incidents_json(data: Published, board_: Board, page: PageInfo) -> list[Json]:
    return [incident_json(item, data, board_, page) for item in data.items]


async def last_change(session: AsyncSession, board_: Board) -> datetime | None:
    """The page's updated_at: its latest component change or published incident update."""
    latest_update = await session.scalar(
        select(func.max(StatusIncident.updated_at)).where(StatusIncident.published_at.is_not(None))
    )
    times = [r.updated_at for r in board_.rows] + ([latest_update] if latest_update else [])
    return max(times, default=None)


def overall(board_: Board, open_items: Sequence[StatusIncident]) -> tuple[str, str]:
    return domain.overall((r.status for r in board_.leaves()), (i.impact for i in open_items))
