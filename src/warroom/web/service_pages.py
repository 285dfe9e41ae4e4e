"""Services: the catalog with each service's owning team and escalation policy; admins add and edit them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from warroom.auth.models import Team, User
from warroom.catalog import service as catalog
from warroom.catalog.schemas import ServiceCreate
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.oncall.models import EscalationPolicy
from warroom.web.deps import PageCatalogWriter, PageInternal, csrf_checked, form_data, writing
from warroom.web.forms import FormState, FormValues, parsed, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
NEW = "new"  # the add form's key among the page's forms
FIELDS = frozenset({"slug", "name", "description", "team", "policy", "cost_per_minute"})


async def _page(
    request: Request,
    context: AppContext,
    user: User,
    *,
    forms: dict[str, FormState] | None = None,
    status: int = 200,
) -> Response:
    async with context.db.read() as session:
        rows = await catalog.service_rows(session=session)
        teams = (await session.execute(select(Team.slug, Team.name).order_by(Team.name))).all()
        policies = (
            await session.execute(
                select(EscalationPolicy.slug, EscalationPolicy.name).order_by(EscalationPolicy.name)
            )
        ).all()
    edits = {
        r.service.slug: FormState(
            values={
                "name": r.service.name,
                "description": r.service.description,
                "team": r.team_slug or "",
                "policy": r.policy_slug or "",
                "cost_per_minute": ""
                if r.service.cost_per_minute is None
                else f"{r.service.cost_per_minute:g}",
            }
        )
        for r in rows
    }
    return render(
        request,
        "services.html",
        status=status,
        user=user,
        rows=rows,
        teams=[tuple(t) for t in teams],
        policies=[tuple(p) for p in policies],
        forms={**edits, **(forms or {})},
        title="Services",
    )


@router.get("/services")
async def services(request: Request, user: PageInternal, context: ContextDep) -> Response:
    return await _page(request, context, user)


def _create_data(values: FormValues) -> ServiceCreate:
    fields = {name: text(values, name) for name in ("slug", "name", "description")}
    return parsed(
        ServiceCreate, {**fields, "team": text(values, "team") or None}, "the service was not added"
    )


@router.post("/services")
async def create(request: Request, user: PageCatalogWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            data = _create_data(values)
            row = await catalog.create_service(
                session=session,
                slug=data.slug,
                name=data.name,
                description=data.description,
                team_slug=data.team,
                now=context.clock.now(),
            )
            await catalog.update_service(
                session=session,
                service=row,
                name=data.name,
                description=data.description,
                team_slug=data.team,
                policy_slug=text(values, "policy") or None,
                cost_per_minute=text(values, "cost_per_minute"),
            )
    except (InvalidInput, Conflict) as error:
        state = refused(values, error, fields=FIELDS)
        return await _page(request, context, user, forms={NEW: state}, status=error.status)
    return redirect(request, f"/services#service-{row.slug}", flash=f"Service {row.name} added")


@router.post("/services/{service}")
async def edit(service: str, request: Request, user: PageCatalogWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            row = await catalog.get_service(session=session, slug=service)
            await catalog.update_service(
                session=session,
                service=row,
                name=text(values, "name"),
                description=text(values, "description"),
                team_slug=text(values, "team") or None,
                policy_slug=text(values, "policy") or None,
                cost_per_minute=text(values, "cost_per_minute"),
            )
    except InvalidInput as error:
        state = refused(values, error, fields=FIELDS)
        return await _page(request, context, user, forms={service: state}, status=error.status)
    except NotFound as error:
        return redirect(request, "/services", flash=error.detail, tone="error")
    return redirect(request, f"/services#service-{service}", flash=f"Service {row.name} saved")
