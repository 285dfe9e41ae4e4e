"""The dashboard: open incidents by severity with live target clocks, triggered alerts, who is on call now,
recently resolved incidents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts import service as alerts
from warroom.alerts import views as alert_views
from warroom.alerts.schemas import AlertOut
from warroom.auth.domain import Permission, allows
from warroom.auth.models import User
from warroom.deps import ContextDep
from warroom.incidents import service, views
from warroom.incidents.schemas import IncidentOut
from warroom.incidents.visibility import viewer_of
from warroom.oncall.domain import Span
from warroom.oncall.service import on_call_everywhere
from warroom.procedure.loader import LoadedProcedure
from warroom.reviews import actions
from warroom.reviews import views as review_views
from warroom.reviews.schemas import ActionItemOut
from warroom.web.deps import PageReader, csrf_checked
from warroom.web.incident_data import severity_rank
from warroom.web.render import render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
OPEN_SHOWN = 100
ALERTS_SHOWN = 20
RESOLVED_SHOWN = 10
OVERDUE_SHOWN = 10


@dataclass(frozen=True)
class OnCall:
    schedule: str
    slug: str
    person: str | None
    until: datetime


@dataclass
class Dashboard:
    open: list[tuple[IncidentOut, int]] = field(default_factory=list)  # (incident, severity rank)
    open_total: int = 0
    alerts: list[AlertOut] = field(default_factory=list)
    alerts_total: int = 0
    on_call: list[OnCall] = field(default_factory=list)
    resolved: list[tuple[IncidentOut, int]] = field(default_factory=list)
    overdue: list[ActionItemOut] = field(default_factory=list)


async def _incidents(
    session: AsyncSession,
    loaded: LoadedProcedure,
    statuses: tuple[str, ...],
    limit: int,
    now: datetime,
    user: User,
) -> tuple[list[tuple[IncidentOut, int]], int]:
    rows, total = await service.list_incidents(
        session=session,
        viewer=viewer_of(user, loaded.procedure),
        filters=service.IncidentFilter(status=statuses),
        limit=limit,
        offset=0,
    )
    shown = await views.incidents_out(
        session=session,
        loaded=loaded,
        incidents=rows,
        now=now,
        show_roles=allows(user.role, Permission.incident_internal),
    )
    procedure = loaded.procedure
    return [(i, severity_rank(procedure, i.severity)) for i in shown], total


async def _on_call(session: AsyncSession, now: datetime) -> list[OnCall]:
    found = await on_call_everywhere(session=session, at=now)
    ids = {int(span.user) for _, span in found if span.user is not None}
    names = dict((await session.execute(select(User.id, User.name).where(User.id.in_(ids)))).all())
    return [_on_call_row(schedule.name, schedule.slug, span, names) for schedule, span in found]


def _on_call_row(name: str, slug: str, span: Span, names: dict[int, str]) -> OnCall:
    person = names.get(int(span.user), span.user) if span.user is not None else None
    return OnCall(schedule=name, slug=slug, person=person, until=span.end)


async def load_dashboard(
    *, session: AsyncSession, loaded: LoadedProcedure, user: User, now: datetime
) -> Dashboard:
    board = Dashboard()
    board.open, board.open_total = await _incidents(session, loaded, ("active",), OPEN_SHOWN, now, user)
    # Most severe first; within a severity, those still waiting for a response first, oldest first.
    board.open.sort(key=lambda pair: (pair[1], pair[0].acknowledged_at is not None, pair[0].declared_at))
    board.resolved, _ = await _incidents(session, loaded, ("resolved", "closed"), RESOLVED_SHOWN, now, user)
    if allows(user.role, Permission.incident_internal):
        rows, board.alerts_total = await alerts.list_alerts(
            session=session,
            filters=alerts.AlertFilter(status=("triggered",)),
            limit=ALERTS_SHOWN,
            offset=0,
            viewer=viewer_of(user, loaded.procedure),
        )
        board.alerts = await alert_views.alerts_out(session, rows)
        board.on_call = await _on_call(session, now)
        items = await actions.list_action_items(
            session=session, viewer=viewer_of(user, loaded.procedure), today=now.date(), overdue=True
        )
        board.overdue = await review_views.action_items_out(session, items[:OVERDUE_SHOWN], now.date())
    return board


@router.get("/")
async def dashboard(request: Request, user: PageReader, context: ContextDep) -> Response:
    now = context.clock.now()
    async with context.db.read() as session:
        board = await load_dashboard(session=session, loaded=context.procedure, user=user, now=now)
    template = "dashboard_regions.html" if request.query_params.get("fragment") else "dashboard.html"
    return render(request, template, user=user, board=board, now=now, title="Dashboard")
