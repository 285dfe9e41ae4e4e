"""Escalation policies: each readable (steps, waits, targets by name, repeats, re-page timeout) and editable,
steps replaced as a whole through the same service the API's PATCH uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import Team, User
from warroom.catalog.models import Service
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, FieldProblem, InvalidInput, NotFound, invalid
from warroom.inbound import is_digits
from warroom.oncall import policy_service as policies
from warroom.oncall.models import EscalationPolicy, EscalationStep, Schedule
from warroom.oncall.schemas import PolicyCreate, PolicyPatch
from warroom.web import policy_editor as editor
from warroom.web.deps import PageCatalogWriter, PageInternal, csrf_checked, form_data, writing
from warroom.web.forms import FormState, FormValues, as_list, field_messages, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
FIELDS = frozenset({"name", "repeat", "unack_minutes"})
KINDS = {"user": User, "schedule": Schedule, "team": Team}


@dataclass(frozen=True)
class Target:
    kind: str
    ref: str  # email or slug, as typed in the edit form
    name: str


@dataclass(frozen=True)
class PolicyView:
    policy: EscalationPolicy
    steps: list[tuple[int, list[Target]]]  # (delay seconds, targets)
    services: list[str]


async def _targets(session: AsyncSession, steps: list[EscalationStep]) -> dict[tuple[str, int], Target]:
    """Every target of every step by name, one query per kind."""
    wanted: dict[str, set[int]] = {}
    for step in steps:
        for t in step.targets:
            wanted.setdefault(t["type"], set()).add(int(t["id"]))
    found: dict[tuple[str, int], Target] = {}
    for kind, ids in wanted.items():
        model: Any = KINDS[kind]
        ref = model.email if kind == "user" else model.slug
        for row_id, row_ref, name in (
            await session.execute(select(model.id, ref, model.name).where(model.id.in_(ids)))
        ).all():
            found[(kind, row_id)] = Target(kind, row_ref, name or row_ref)
    return found


async def load_views(session: AsyncSession, slug: str | None = None) -> list[PolicyView]:
    query = select(EscalationPolicy).order_by(EscalationPolicy.name)
    if slug is not None:
        query = query.where(EscalationPolicy.slug == slug)
    rows = list((await session.scalars(query)).all())
    ids = [p.id for p in rows]
    steps = list(
        (
            await session.scalars(
                select(EscalationStep)
                .where(EscalationStep.policy_id.in_(ids))
                .order_by(EscalationStep.position)
            )
        ).all()
    )
    names = await _targets(session, steps)
    served = (
        await session.execute(
            select(Service.escalation_policy_id, Service.name)
            .where(Service.escalation_policy_id.in_(ids))
            .order_by(Service.name)
        )
    ).all()
    return [
        PolicyView(
            policy=p,
            steps=[
                (
                    s.delay_seconds,
                    [
                        names.get((t["type"], int(t["id"])), Target(t["type"], "?", "(deleted)"))
                        for t in s.targets
                    ],
                )
                for s in steps
                if s.policy_id == p.id
            ],
            services=[name for pid, name in served if pid == p.id],
        )
        for p in rows
    ]


async def _page(
    request: Request,
    context: AppContext,
    user: User,
    slug: str | None,
    *,
    form: FormState | None = None,
    create: FormState | None = None,
    status: int = 200,
) -> Response:
    async with context.db.read() as session:
        views = await load_views(session, slug)
        choices = await editor.choices(session)
    if slug is not None and not views:
        raise NotFound(f"no escalation policy {slug!r}")
    edit = form
    if slug is not None and edit is None:
        p = views[0]
        edit = FormState(
            values={
                "name": p.policy.name,
                **editor.step_values(p.steps),
                "repeat": str(p.policy.repeat),
                "unack_minutes": str(p.policy.unack_timeout_seconds // 60)
                if p.policy.unack_timeout_seconds
                else "",
            }
        )
    title = views[0].policy.name if slug is not None else "Escalation policies"
    return render(
        request,
        "policies.html",
        status=status,
        user=user,
        views=views,
        one=slug is not None,
        edit=edit,
        create=create or FormState(values={"repeat": "0"}),
        choices=choices,
        row_count=editor.row_count,
        title=title,
    )


@router.get("/policies")
async def policy_list(request: Request, user: PageInternal, context: ContextDep) -> Response:
    return await _page(request, context, user, None)


@router.get("/policies/{slug}")
async def policy_detail(slug: str, request: Request, user: PageInternal, context: ContextDep) -> Response:
    return await _page(request, context, user, slug)


def _fields(values: FormValues) -> dict[str, Any]:
    repeat, unack = text(values, "repeat") or "0", text(values, "unack_minutes")
    if not is_digits(repeat) or len(repeat) > 6:
        raise invalid("repeat", "give a whole number from 0 to 20")
    if unack and (not is_digits(unack) or len(unack) > 6):
        raise invalid("unack_minutes", "give whole minutes, or leave it empty for no re-page")
    return {
        "name": text(values, "name"),
        "steps": editor.parse_rows(values),
        "repeat": int(repeat),
        "unack_timeout_seconds": int(unack) * 60 if unack else None,
    }


def _validated(model: type[Any], fields: dict[str, Any]) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        renames = {"unack_timeout_seconds": "unack_minutes"}
        problems = [FieldProblem(renames.get(f, f), m) for f, m in field_messages(error)]
        raise InvalidInput("the policy was not saved", problems) from None


def _patch(values: FormValues) -> PolicyPatch:
    patch: PolicyPatch = _validated(PolicyPatch, _fields(values))
    return patch


@router.post("/policies")
async def create(request: Request, user: PageCatalogWriter, context: ContextDep) -> Response:
    """A new policy from the editor: slug, name, the services that page through it, and its steps."""
    values = await form_data(request)
    try:
        fields = {**_fields(values), "slug": text(values, "slug"), "services": as_list(values, "services")}
        data: PolicyCreate = _validated(PolicyCreate, fields)
        async with writing(context) as session:
            policy = await policies.create_policy(session=session, data=data, now=context.clock.now())
    except (InvalidInput, Conflict, NotFound) as error:
        state = refused(values, error, fields=FIELDS | {"slug", "services"} | editor.row_fields(values))
        return await _page(request, context, user, None, create=state, status=error.status)
    return redirect(request, f"/policies/{policy.slug}", flash=f"{policy.name} created")


@router.post("/policies/{policy}")
async def edit(policy: str, request: Request, user: PageCatalogWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            row = await policies.get_policy(session=session, slug=policy)
            await policies.update_policy(session=session, policy=row, patch=_patch(values))
    except InvalidInput as error:
        state = refused(values, error, fields=FIELDS | editor.row_fields(values))
        return await _page(request, context, user, policy, form=state, status=422)
    return redirect(
        request, f"/policies/{policy}", flash=f"{row.name} saved: running escalations use the new steps"
    )
