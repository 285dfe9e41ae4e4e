"""Integrations (intake URL and key with a copy button, for admins and the owning team's responders; when
each last received an event; add one, rotate a key) and routing rules (which service an alert goes to; add
and delete)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warroom.alerts import integrations
from warroom.alerts.rules import service as rules_service
from warroom.alerts.rules.domain import FIELDS as RULE_FIELDS
from warroom.alerts.rules.domain import OPS
from warroom.alerts.rules.models import RoutingRule
from warroom.alerts.schemas import INTEGRATION_KINDS, IntegrationCreate, IntegrationPatch
from warroom.auth.models import User
from warroom.catalog.service import list_services
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, FieldProblem, InvalidInput, NotFound, invalid
from warroom.web.deps import PageCatalogWriter, PageInternal, csrf_checked, form_data, writing
from warroom.web.forms import FormState, FormValues, parsed, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
INTEGRATION_FIELDS = frozenset({"kind", "service", "name", "signing_secret"})
EDIT_FIELDS = frozenset({"service", "name", "signing_secret", "rate_limit_per_minute"})
RULE_FORM_FIELDS = frozenset({"name", "service"}) | {
    f"cond-{i}-{part}" for i in range(3) for part in ("field", "op", "value")
}


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
        edit_form=_edit_form,
        title="Integrations and routing",
    )


def _edit_form(integration: Any, service: str) -> FormState:
    return FormState(values={"name": integration.name, "service": service,
                             "rate_limit_per_minute": str(integration.rate_limit_per_minute)})  # fmt: skip


@router.get("/integrations")
async def integration_list(request: Request, user: PageInternal, context: ContextDep) -> Response:
    return await _page(request, context, user)


def _integration_data(values: FormValues) -> IntegrationCreate:
    fields = {name: text(values, name) for name in ("kind", "service", "name", "signing_secret")}
    return parsed(IntegrationCreate, fields, "the integration was not added")


def _integration_patch(values: FormValues) -> IntegrationPatch:
    """Name, service and rate limit as given; the signing secret only when a new one is typed, or cleared."""
    limit = text(values, "rate_limit_per_minute")
    if limit and (not limit.isdigit() or len(limit) > 7):
        raise invalid("rate_limit_per_minute", "give a whole number of events a minute")
    secret = "" if text(values, "clear_secret") else (text(values, "signing_secret") or None)
    fields = {"name": text(values, "name") or None, "service": text(values, "service") or None,
              "signing_secret": secret, "rate_limit_per_minute": int(limit) if limit else None}  # fmt: skip
    return parsed(IntegrationPatch, fields, "the integration was not saved")


@router.post("/integrations/{integration_id}")
async def edit(
    integration_id: int, request: Request, user: PageCatalogWriter, context: ContextDep
) -> Response:
    """Change its name, service, signing secret or rate limit; the key stays (rotate for a new one)."""
    values = await form_data(request)
    try:
        async with writing(context) as session:
            row = await integrations.get_integration(session=session, integration_id=integration_id)
            await integrations.update_integration(
                session=session, integration=row, patch=_integration_patch(values)
            )
    except InvalidInput as error:
        state = refused(values, error, fields=EDIT_FIELDS)
        forms = {f"integration-{integration_id}": state}
        return await _page(request, context, user, forms=forms, status=error.status)
    except NotFound as error:
        return redirect(request, "/integrations", flash=error.detail, tone="error")
    if context.intake:
        context.intake.cache.forget()  # the intake caches integrations by key: the next event reads this
    return redirect(request, f"/integrations#integration-{row.id}", flash=f"Integration {row.name} saved")


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


CONDITION_ROWS = 3  # conditions a rule may have in the form, all of which must match


def _conditions(values: FormValues) -> list[dict[str, Any]]:
    """Every filled condition row (a row with no field is unused); all of them must match an alert."""
    found, problems = [], []
    for index in range(CONDITION_ROWS):
        field, op = text(values, f"cond-{index}-field"), text(values, f"cond-{index}-op") or "equals"
        raw = text(values, f"cond-{index}-value")
        if not field:
            continue
        if op != "exists" and not raw:
            problems.append(FieldProblem(f"cond-{index}-value", "is required"))
            continue
        value: Any = [v.strip() for v in raw.split(",") if v.strip()] if op == "in" else raw
        found.append({"field": field, "op": op, "value": value})
    if problems:
        raise InvalidInput("the rule was not added", problems)
    if not found:
        raise invalid("cond-0-field", "name what to test (e.g. source, or labels.team)")
    return found


@router.post("/routing-rules")
async def create_rule(request: Request, user: PageCatalogWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            if not text(values, "name"):
                raise invalid("name", "is required")
            conditions = _conditions(values)
            try:
                await rules_service.create_routing_rule(
                    session=session,
                    name=text(values, "name"),
                    conditions=conditions,
                    service_slug=text(values, "service"),
                    now=context.clock.now(),
                )
            except InvalidInput as error:  # the service names `conditions[i].x`; the form `cond-i-x`
                raise InvalidInput(error.detail, _rule_problems(error)) from None
    except (InvalidInput, Conflict) as error:
        state = refused(values, error, fields=RULE_FORM_FIELDS)
        return await _page(request, context, user, forms={"rule": state}, status=error.status)
    return redirect(request, "/integrations#routing", flash=f"Routing rule {text(values, 'name')} added")


def _rule_problems(error: InvalidInput) -> list[FieldProblem]:
    """`conditions[1].op must be one of ...` -> the form's `cond-1-op` field: `must be one of ...`."""
    found = []
    for problem in error.problems:
        where, _, rest = problem.message.partition(" ")
        matched = re.fullmatch(r"conditions\[(\d+)\]\.(field|op|value)", where)
        if matched:
            found.append(FieldProblem(f"cond-{matched.group(1)}-{matched.group(2)}", rest))
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
