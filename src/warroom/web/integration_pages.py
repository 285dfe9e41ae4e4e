"""Integrations (intake URL and key with a copy button, for admins and the owning team's responders; when
each last received an event; add one, rotate a key) and routing rules (which service an alert goes to; add
and delete)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warroom.alerts import integrations
from warroom.alerts.rules import service as rules_service
from warroom.alerts.rules.domain import FIELDS as RULE_FIELDS
from warroom.alerts.rules.domain import OPS
from warroom.alerts.rules.models import RoutingRule
from warroom.alerts.schemas import INTEGRATION_KINDS, IntegrationCreate
from warroom.auth.models import User
from warroom.catalog.service import list_services
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, FieldProblem, InvalidInput, NotFound, invalid
from warroom.web.deps import PageCatalogWriter, PageInternal, csrf_checked, form_data, writing
from warroom.web.forms import FormState, FormValues, parsed, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
INTEGRATION_FIELDS = frozenset({"kind", "service", "name"})
RULE_FORM_FIELDS = frozenset({"name", "field", "op", "value", "service"})


async def _page(
    request: Request,
    context: AppContext,
    user: User,
    *,
    forms: dict[str, FormState] | None = None,
    status: int = 200,
) -> Response:
    base = context.settings.resolved_base_url()
    async with context.db.read() as session:
        found = await integrations.list_integrations(session=session)
        access = await integrations.key_access(session=session, user=user)
        rules = await rules_service.list_routing_rules(session=session)
        services = await list_services(session=session)
    # The template shows `key` (None when this person may not read it), never the integration row's own.
    rows = [
        (row.integration, row.service, row.last_event_at, key, integrations.intake_url(base, kind, key))
        for row in found
        for kind, key in [(row.integration.kind, access.key(row))]
    ]
    return render(
        request,
        "integrations.html",
        status=status,
        user=user,
        integrations=rows,
        rules=rules,
        services=[(s.slug, s.name) for s in services],
        kinds=[(k, k) for k in INTEGRATION_KINDS],
        rule_fields=[(f, f) for f in RULE_FIELDS],
        ops=[(o, o.replace("_", " ")) for o in OPS],
        forms=forms or {},
        title="Integrations and routing",
    )


@router.get("/integrations")
async def integration_list(request: Request, user: PageInternal, context: ContextDep) -> Response:
    return await _page(request, context, user)


def _integration_data(values: FormValues) -> IntegrationCreate:
    fields = {name: text(values, name) for name in ("kind", "service", "name")}
    return parsed(IntegrationCreate, fields, "the integration was not added")


@router.post("/integrations")
async def create(request: Request, user: PageCatalogWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            if not text(values, "service"):
                raise invalid("service", "choose the service its alerts go to")
            row = await integrations.create_integration(
                session=session, data=_integration_data(values), now=context.clock.now()
            )
    except InvalidInput as error:
        state = refused(values, error, fields=INTEGRATION_FIELDS)
        return await _page(request, context, user, forms={"integration": state}, status=error.status)
    return redirect(request, f"/integrations#integration-{row.id}", flash=f"Integration {row.name} added")


@router.post("/integrations/{integration_id}/rotate")
async def rotate(
    integration_id: int, request: Request, user: PageCatalogWriter, context: ContextDep
) -> Response:
    try:
        async with writing(context) as session:
            row = await integrations.get_integration(session=session, integration_id=integration_id)
            await integrations.rotate_key(session=session, integration=row, now=context.clock.now())
    except NotFound as error:
        return redirect(request, "/integrations", flash=error.detail, tone="error")
    if context.intake:
        context.intake.cache.forget()
    flash = f"New key for {row.name}: the old one no longer works. Update the sender."
    return redirect(request, f"/integrations#integration-{row.id}", flash=flash)


def _condition(values: FormValues) -> dict[str, Any]:
    op = text(values, "op") or "equals"
    raw = text(values, "value")
    if op != "exists" and not raw:
        raise invalid("value", "is required")
    value: Any = [v.strip() for v in raw.split(",") if v.strip()] if op == "in" else raw
    return {"field": text(values, "field"), "op": op, "value": value}


@router.post("/routing-rules")
async def create_rule(request: Request, user: PageCatalogWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            if not text(values, "name"):
                raise invalid("name", "is required")
            condition = _condition(values)
            try:
                await rules_service.create_routing_rule(
                    session=session,
                    name=text(values, "name"),
                    conditions=[condition],
                    service_slug=text(values, "service"),
                    now=context.clock.now(),
                )
            except InvalidInput as error:  # the service names `conditions`; the form has one condition
                raise InvalidInput(error.detail, _rule_problems(error)) from None
    except (InvalidInput, Conflict) as error:
        state = refused(values, error, fields=RULE_FORM_FIELDS)
        return await _page(request, context, user, forms={"rule": state}, status=error.status)
    return redirect(request, "/integrations#routing", flash=f"Routing rule {text(values, 'name')} added")


def _rule_problems(error: InvalidInput) -> list[FieldProblem]:
    """`conditions[0].op must be one of ...` -> the form's `op` field: `must be one of ...`."""
    found = []
    for problem in error.problems:
        where, _, rest = problem.message.partition(" ")
        name = where.rsplit(".", 1)[-1] if where.startswith("conditions[") else ""
        if name in ("field", "op", "value"):
            found.append(FieldProblem(name, rest))
        else:
            found.append(problem)
    return found


@router.post("/routing-rules/{rule_id}/delete")
async def delete_rule(
    rule_id: int, request: Request, user: PageCatalogWriter, context: ContextDep
) -> Response:
    try:
        async with writing(context) as session:
            await rules_service.delete_row(
                session=session, model=RoutingRule, row_id=rule_id, what="routing rule"
            )
    except NotFound as error:
        return redirect(request, "/integrations#routing", flash=error.detail, tone="error")
    return redirect(request, "/integrations#routing", flash="Routing rule deleted")
