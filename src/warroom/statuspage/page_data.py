"""What the public pages show, gathered from the database: the banner, components by group with their
uptime bars, active incidents and maintenances, and past incidents by day. Published items only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.statuspage import domain, views
from warroom.statuspage.components import histories
from warroom.statuspage.models import StatusComponent, StatusIncident, StatusIncidentUpdate
from warroom.statuspage.views import Board, Published

UPTIME_DAYS = 90
PAST_DAYS = 14


@dataclass(frozen=True)
class Bar:
    day: date
    tone: str  # a component status, or "none" for a day without data
    title: str


@dataclass(frozen=True)
class Row:
    component: StatusComponent
    status: str
    bars: list[Bar]
    uptime: float | None


@dataclass(frozen=True)
class Section:
    """A group with its components, or one ungrouped component (group is None)."""

    group: StatusComponent | None
    status: str
    rows: list[Row]


@dataclass(frozen=True)
class Item:
    """An incident or maintenance as the page shows it: newest update first."""

    incident: StatusIncident
    updates: list[StatusIncidentUpdate]
    components: list[str]


@dataclass
class StatusPage:
    indicator: str
    description: str
    sections: list[Section]
    active: list[Item]
    maintenances: list[Item]
    past: list[tuple[date, list[Item]]] = field(default_factory=list)
    components: list[StatusComponent] = field(default_factory=list)


def _bar(day: domain.Day) -> Bar:
    if day.worst is None:
        return Bar(day.day, "none", f"{day.day:%d %b %Y}: no data")
    text = f"{day.day:%d %b %Y}: {domain.LABELS[day.worst].lower()}"
    if day.outage_minutes:
        text += f", {round(day.outage_minutes)} min counted as down"
    return Bar(day.day, day.worst, text)


def _row(component: StatusComponent, board: Board, changes: Sequence[domain.Change], now: datetime) -> Row:
    found = domain.uptime(changes, now=now, days=UPTIME_DAYS)
    return Row(component, board.status(component), [_bar(d) for d in found.days], found.percent)


def _visible(component: StatusComponent) -> bool:
    return component.showcase and (not component.only_show_if_degraded or component.status != "operational")


async def sections(session: AsyncSession, board: Board, now: datetime) -> list[Section]:
    since = datetime.combine(now.astimezone(UTC).date() - timedelta(days=UPTIME_DAYS - 1), time(), UTC)
    history = await histories(session=session, since=since)
    out: list[Section] = []
    for top in board.top():
        members = board.children.get(top.id, []) if top.is_group else [top]
        rows = [_row(c, board, history.get(c.id, []), now) for c in members if _visible(c)]
        if rows:
            out.append(Section(top if top.is_group else None, board.status(top), rows))
    return out


def items(data: Published, board: Board) -> list[Item]:
    names = {r.id: r.name for r in board.rows}
    return [
        Item(i, data.updates.get(i.id, []), [names[c] for c in data.components.get(i.id, []) if c in names])
        for i in data.items
    ]


def shown_on(item: StatusIncident) -> date:
    """The day an item belongs to in the history: a maintenance's window, an incident's start."""
    when = item.scheduled_for if item.kind == "maintenance" and item.scheduled_for else item.started_at
    return when.astimezone(UTC).date()


async def past(session: AsyncSession, board: Board, now: datetime) -> list[tuple[date, list[Item]]]:
    """The last 14 days, today first, each with the incidents (and completed maintenances) of that day."""
    today = now.astimezone(UTC).date()
    since = datetime.combine(today - timedelta(days=PAST_DAYS - 1), time(), UTC)
    query = select(StatusIncident).where(
        StatusIncident.published_at.is_not(None),
        or_(
            (StatusIncident.kind == "incident") & (StatusIncident.started_at >= since),
            (StatusIncident.kind == "maintenance")
            & (StatusIncident.status == "completed")
            & (StatusIncident.scheduled_for >= since),
        ),
    )
    data = await views.load(session, query.order_by(StatusIncident.started_at.desc()))
    by_day: dict[date, list[Item]] = {}
    for item in items(data, board):
        by_day.setdefault(shown_on(item.incident), []).append(item)
    return [(today - timedelta(days=n), by_day.get(today - timedelta(days=n), [])) for n in range(PAST_DAYS)]


async def status_page(session: AsyncSession, now: datetime) -> StatusPage:
    board = await views.board(session)
    active = await views.load(
        session,
        views.published("incident")
        .where(StatusIncident.status != "resolved")
        .order_by(StatusIncident.started_at.desc()),
    )
    maintenances = await views.load(
        session,
        views.published("maintenance")
        .where(StatusIncident.status.in_(domain.OPEN_MAINTENANCE))
        .order_by(StatusIncident.scheduled_for),
    )
    indicator, description = views.overall(board, active.items)
    return StatusPage(
        indicator,
        description,
        await sections(session, board, now),
        items(active, board),
        items(maintenances, board),
        await past(session, board, now),
        board.leaves(),
    )
