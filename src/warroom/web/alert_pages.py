"""Alerts: a filtered list; acknowledge, resolve, attach to an incident."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams

from warroom.alerts import service as alerts
from warroom.alerts import views as alert_views
from warroom.alerts.domain import SEVERITIES
from warroom.alerts.models import Alert
from warroom.auth.models import User
from warroom.catalog.service import list_services
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, InvalidInput, NotFound, invalid
from warroom.inbound import row_id
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import viewer_of
from warroom.web.deps import PageInternal, PageWriter, csrf_checked, form_data, writing
from warroom.web.forms import FormState, refused, text
from warroom.web.render import redirect, render, safe_next

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
STATUSES = ("triggered", "acknowledged", "resolved")
PAGE_SIZE = 50


@dataclass(frozen=True)
class AlertQuery:
    status: tuple[str, ...]
    severity: tuple[str, ...]
    service: str
    q: str
    offset: int

    @classmethod
    def of(cls, params: QueryParams) -> AlertQuery:
        offset = params.get("offset", "0")
        return cls(
            status=tuple(s for s in params.getlist("status") if s in STATUSES)
            or ("triggered", "acknowledged"),
            severity=tuple(s for s in params.getlist("severity") if s in SEVERITIES),
            service=params.get("service", "")[:64],
            q=params.get("q", "")[:200],
            offset=min(row_id(offset) or 0, 1_000_000),
        )

    def url(self, **changes: object) -> str:
        """This query's address with some parameters changed (the pages and tabs link with it)."""
        offset = changes.pop("offset", self.offset)
        fields: dict[str, object] = {
            "status": self.status,
            "severity": self.severity,
            "service": self.service,
            "q": self.q,
            **changes,
        }
        pairs = [(k, v) for k, vs in fields.items() for v in (vs if isinstance(vs, tuple) else (vs,)) if v]
        if offset:
            pairs.append(("offset", offset))
        return "/alerts" + (f"?{urlencode(pairs)}" if pairs else "")


async def _list_page(
    request: Request,
    context: AppContext,
    user: User,
    query: AlertQuery,
    *,
    attach: dict[int, FormState] | None = None,
    status: int = 200,
) -> Response:
    filters = alerts.AlertFilter(
        status=query.status, severity=query.severity, service=query.service or None, text=query.q or None
    )
    async with context.db.read() as session:
        rows, total = await alerts.list_alerts(
            session=session,
            filters=filters,
            limit=PAGE_SIZE,
            offset=query.offset,
            viewer=viewer_of(user, context.procedure.procedure),
        )
        shown = await alert_views.alerts_out(session, rows)
        services = await list_services(session=session)
    return render(
        request,
        "alerts.html",
        status=status,
        user=user,
        alerts=shown,
        total=total,
        query=query,
        statuses=STATUSES,
        severities=SEVERITIES,
        services=services,
        page_size=PAGE_SIZE,
        attach_forms=attach or {},
        here=query.url(),
        now=context.clock.now(),
        title="Alerts",
    )


@router.get("/alerts")
async def alert_list(request: Request, user: PageInternal, context: ContextDep) -> Response:
    return await _list_page(request, context, user, AlertQuery.of(request.query_params))


AlertChange = Callable[[AsyncSession, Alert], Awaitable[None]]


async def _alert_action(
    request: Request, context: AppContext, user: User, alert_id: int, change: AlertChange, done: str
) -> Response:
    values = await form_data(request)
    back = safe_next(text(values, "back") or "/alerts")
    viewer = viewer_of(user, context.procedure.procedure)
    try:
        async with writing(context) as session:
            alert = await alerts.get_alert(session=session, ref=str(alert_id), viewer=viewer, for_update=True)
            await change(session, alert)
    except (Conflict, InvalidInput) as error:
        return redirect(request, back, flash=f"Alert #{alert_id}: {error.detail}", tone="error")
    return redirect(request, back, flash=f"Alert #{alert_id} {done}")


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(alert_id: int, request: Request, user: PageWriter, context: ContextDep) -> Response:
    async def change(session: AsyncSession, alert: Alert) -> None:
        await alerts.acknowledge(session=session, alert=alert, actor=user, now=context.clock.now())

    return await _alert_action(request, context, user, alert_id, change, "acknowledged")


@router.post("/alerts/{alert_id}/resolve")
async def resolve(alert_id: int, request: Request, user: PageWriter, context: ContextDep) -> Response:
    async def change(session: AsyncSession, alert: Alert) -> None:
        await alerts.resolve(session=session, alert=alert, actor=user, now=context.clock.now())

    return await _alert_action(request, context, user, alert_id, change, "resolved")


@router.post("/alerts/{alert_id}/attach")
async def attach(alert_id: int, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    back = safe_next(text(values, "back") or "/alerts")
    wanted = text(values, "incident")
    viewer = viewer_of(user, context.procedure.procedure)
    try:
        async with writing(context) as session:
            alert = await alerts.get_alert(session=session, ref=str(alert_id), viewer=viewer, for_update=True)
            if not wanted:
                raise invalid("incident", "give the incident, like INC-12")
            try:
                incident = await get_incident(session=session, ref=wanted, viewer=viewer, for_update=True)
            except NotFound as error:
                raise invalid("incident", error.detail) from None
            await alerts.attach(
                session=session, alert=alert, incident=incident, actor=user, now=context.clock.now()
            )
    except (Conflict, InvalidInput) as error:
        query = AlertQuery.of(QueryParams(urlsplit(back).query))
        forms = {alert_id: refused(values, error)}
        return await _list_page(request, context, user, query, attach=forms, status=error.status)
    return redirect(request, back, flash=f"Alert #{alert_id} attached to INC-{incident.id}")
