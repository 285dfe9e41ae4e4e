"""Running the public status page from the signed-in UI: publish a status incident (its public title, status,
message and component statuses), post updates, publish drafts, and schedule maintenance. Every form calls the
same service as the API; a refusal comes back as a message at the top of the page and changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import DomainError
from warroom.incidents.domain import incident_ref
from warroom.incidents.visibility import viewer_of
from warroom.statuspage import domain, service
from warroom.statuspage.models import StatusIncident, StatusSubscriber
from warroom.statuspage.schemas import IncidentCreate, MaintenanceCreate, UpdateCreate
from warroom.statuspage.views import board, load, page_info
from warroom.web.deps import PageInternal, PageWriter, csrf_checked, form_data, writing
from warroom.web.forms import FormValues, as_list, parsed, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
HERE = "/status-page"
Change = Callable[[AsyncSession, service.Ctx], Awaitable[Any]]


@router.get(HERE)
async def manage(request: Request, user: PageInternal, context: ContextDep) -> Response:
    async with context.db.read() as session:
        components = await board(session)
        recent = select(StatusIncident).order_by(StatusIncident.created_at.desc()).limit(50)
        data = await load(session, recent)
        subscribers = await session.scalar(select(func.count()).select_from(StatusSubscriber))
    names = {r.id: r.name for r in components.rows}
    open_items = [i for i in data.items if i.status not in ("resolved", "completed")]
    return render(
        request, "status_manage.html", user=user, title="Status page", board=components,
        open_items=open_items, done=[i for i in data.items if i not in open_items][:10], data=data,
        names=names, refs={i.id: incident_ref(i.incident_id) for i in data.items if i.incident_id},
        labels=domain.LABELS, component_statuses=domain.COMPONENT_STATUSES,
        incident_statuses=domain.INCIDENT_STATUSES, impacts=domain.IMPACTS,
        next_maintenance=domain.MAINTENANCE_NEXT,
        subscribers=subscribers or 0, public_url=page_info(context.settings).url,
    )  # fmt: skip


async def _act(request: Request, context: AppContext, user: User, change: Change, done: str) -> Response:
    try:
        async with writing(context) as session:
            ctx = service.Ctx(
                actor=user,
                now=context.clock.now(),
                page=page_info(context.settings),
                viewer=viewer_of(user, context.procedure.procedure),
            )
            await change(session, ctx)
    except DomainError as error:
        problems = "; ".join(f"{p.field}: {p.message}" for p in error.problems[:3])
        return redirect(request, HERE, flash=problems or error.detail, tone="error")
    except ValidationError as error:
        problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        return redirect(request, HERE, flash=problem, tone="error")
    return redirect(request, HERE, flash=done)


def _component_changes(values: FormValues) -> list[dict[str, Any]]:
    """`component-<id>` selects; an empty one leaves that component as it is."""
    out = []
    for name in values:
        status = text(values, name)
        if name.startswith("component-") and status:
            out.append({"id": name.removeprefix("component-"), "status": status})
    return out


@router.post(f"{HERE}/incidents")
async def create_incident(request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    fields = {name: text(values, name) for name in ("name", "status", "impact", "body")}
    data = {**fields, "components": _component_changes(values), "incident": text(values, "incident") or None,
            "publish": text(values, "draft") != "yes"}  # fmt: skip

    async def change(session: AsyncSession, ctx: service.Ctx) -> None:
        model = parsed(IncidentCreate, data, "the status incident was not published")
        await service.create_incident(session=session, data=model, ctx=ctx)

    done = "Saved as a draft (not public)" if not data["publish"] else f"Published: {fields['name']}"
    return await _act(request, context, user, change, done)


@router.post(f"{HERE}/incidents/{{item_id}}/publish")
async def publish(item_id: int, request: Request, user: PageWriter, context: ContextDep) -> Response:
    async def change(session: AsyncSession, ctx: service.Ctx) -> None:
        item = await service.get_status_incident(session=session, status_incident_id=item_id, for_update=True)
        await service.publish(session=session, item=item, ctx=ctx)

    return await _act(request, context, user, change, "Published on the status page")


@router.post(f"{HERE}/incidents/{{item_id}}/updates")
async def post_update(item_id: int, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    data = {
        "status": text(values, "status"),
        "body": text(values, "body"),
        "components": _component_changes(values),
    }

    async def change(session: AsyncSession, ctx: service.Ctx) -> None:
        model = parsed(UpdateCreate, data, "the update was not posted")
        item = await service.get_status_incident(session=session, status_incident_id=item_id, for_update=True)
        await service.post_update(session=session, item=item, data=model, ctx=ctx)

    return await _act(request, context, user, change, "Update posted")


def _utc(value: str) -> datetime | str:
    """A datetime-local field, read as UTC (the form says so); anything else is left to pydantic to refuse."""
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return value
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found


@router.post(f"{HERE}/maintenances")
async def create_maintenance(request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    data = {name: text(values, name) for name in ("name", "body")} | {
        "scheduled_for": _utc(text(values, "scheduled_for")),
        "scheduled_until": _utc(text(values, "scheduled_until")),
        "components": as_list(values, "components"),
    }

    async def change(session: AsyncSession, ctx: service.Ctx) -> None:
        model = parsed(MaintenanceCreate, data, "the maintenance was not scheduled")
        await service.create_maintenance(session=session, data=model, ctx=ctx)

    return await _act(request, context, user, change, f"Maintenance scheduled: {data['name']}")
