"""Declare an incident, with the procedure's severities and types described so the declarer picks right."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from warroom.auth.models import User
from warroom.catalog.service import list_services
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import FieldProblem, InvalidInput, invalid
from warroom.inbound import is_digits
from warroom.incidents import service
from warroom.incidents.domain import incident_ref
from warroom.incidents.schemas import IncidentCreate
from warroom.procedure.domain import describe_target
from warroom.web.deps import PageWriter, csrf_checked, form_data, writing
from warroom.web.forms import FormState, FormValues, as_list, field_messages, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
FIELDS = frozenset(
    {"title", "severity", "type", "services", "summary", "customer_impact", "impact_minutes_ago"}
)
RENAMES = {"impact_started_at": "impact_minutes_ago", "detected_at": "impact_minutes_ago"}
MAX_MINUTES_AGO = 60 * 24 * 30


async def _page(
    request: Request, context: AppContext, user: User, form: FormState, status: int = 200
) -> Response:
    async with context.db.read() as session:
        services = await list_services(session=session)
    procedure = context.procedure.procedure
    return render(
        request,
        "declare.html",
        status=status,
        user=user,
        form=form,
        procedure=procedure,
        services=services,
        targets={s.id: describe_target(s.response_target) for s in procedure.severities},
        title="Declare an incident",
    )


@router.get("/declare")
async def declare_page(request: Request, user: PageWriter, context: ContextDep) -> Response:
    procedure = context.procedure.procedure
    first_type = procedure.incident_types[0] if procedure.incident_types else None
    # No severity is chosen for the declarer: picking one is the decision this page exists to inform.
    defaults: dict[str, str | list[str]] = {"type": first_type.id if first_type else ""}
    return await _page(request, context, user, FormState(values=defaults))


def _impact_minutes(values: FormValues) -> int | None:
    raw = text(values, "impact_minutes_ago")
    if not raw:
        return None
    if not is_digits(raw) or len(raw) > 9 or int(raw) > MAX_MINUTES_AGO:
        raise invalid("impact_minutes_ago", f"give whole minutes, 0 to {MAX_MINUTES_AGO}")
    return int(raw)


def _incident_data(values: FormValues, now: datetime) -> IncidentCreate:
    """The form as the API's request shape; every problem at once, not one per submit."""
    problems: list[FieldProblem] = []
    minutes = None
    try:
        minutes = _impact_minutes(values)
    except InvalidInput as error:
        problems += error.problems
    if not text(values, "severity"):
        problems.append(FieldProblem("severity", "choose a severity"))
    try:
        data = IncidentCreate(
            title=text(values, "title"),
            severity=text(values, "severity"),
            type=text(values, "type") or None,
            summary=text(values, "summary"),
            customer_impact=text(values, "customer_impact"),
            services=as_list(values, "services"),
            restricted=text(values, "restricted") == "1",
            drill=text(values, "drill") == "1",
            impact_started_at=now - timedelta(minutes=minutes) if minutes is not None else None,
        )
    except ValidationError as error:
        problems += [FieldProblem(f, m) for f, m in field_messages(error)]
    if problems:
        raise InvalidInput("the incident was not declared", problems)
    return data


@router.post("/declare")
async def declare(request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    now = context.clock.now()
    try:
        data = _incident_data(values, now)
        async with writing(context) as session:
            incident = await service.declare_incident(
                session=session, loaded=context.procedure, actor=user, data=data, now=now
            )
    except InvalidInput as error:
        form = refused(values, error, renames=RENAMES, fields=FIELDS)
        return await _page(request, context, user, form, status=422)
    ref = incident_ref(incident.id)
    return redirect(request, f"/incidents/{ref}", flash=f"{ref} declared")
