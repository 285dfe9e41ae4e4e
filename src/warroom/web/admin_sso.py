"""Single sign-on administration (admins only): the providers people sign in with, and the group rules
that give them their role and teams (add a rule, remove one)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warroom.auth import service as auth
from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, InvalidInput, NotFound, invalid
from warroom.identity import service as sso
from warroom.identity.domain import ROLE_RANK
from warroom.web.deps import PageAdmin, csrf_checked, form_data, writing
from warroom.web.forms import FormState, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
FIELDS = frozenset({"group", "role", "team"})


async def _page(
    request: Request, context: AppContext, user: User, *, form: FormState | None = None, status: int = 200
) -> Response:
    async with context.db.read() as session:
        providers = await sso.providers(session=session, settings=context.settings)
        rules = await sso.rule_views(session=session)
        teams = [(t.slug, t.name) for t, _members in await auth.list_teams(session=session)]
    return render(
        request, "admin_sso.html", status=status, user=user, providers=providers, rules=rules, teams=teams,
        role_options=[(r, r) for r in sorted(ROLE_RANK, key=ROLE_RANK.__getitem__, reverse=True)],
        form=form or FormState(),
        passwords_off=context.settings.local_passwords == "break_glass_only",
        scim_on=context.settings.scim_token is not None, title="Single sign-on",
    )  # fmt: skip


@router.get("/admin/sso")
async def sso_page(request: Request, user: PageAdmin, context: ContextDep) -> Response:
    return await _page(request, context, user)


@router.post("/admin/sso/rules")
async def add_rule(request: Request, user: PageAdmin, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        group, role = text(values, "group"), text(values, "role")
        if not group:
            raise invalid("group", "is required")
        if role not in ROLE_RANK:
            raise invalid("role", "choose a role")
        async with writing(context) as session:
            rule = await sso.add_rule(
                session=session, group=group[:255], role=role, team=text(values, "team") or None,
                now=context.clock.now(),
            )  # fmt: skip
    except (InvalidInput, Conflict) as error:
        state = refused(values, error, fields=FIELDS)
        return await _page(request, context, user, form=state, status=error.status)
    return redirect(request, f"/admin/sso#rule-{rule.id}", flash=f"People in {group} are now {role}s")


@router.post("/admin/sso/rules/{rule_id}/remove")
async def remove_rule(rule_id: int, request: Request, user: PageAdmin, context: ContextDep) -> Response:
    try:
        async with writing(context) as session:
            await sso.remove_rule(session=session, rule_id=rule_id)
    except NotFound as error:
        return redirect(request, "/admin/sso", flash=error.detail, tone="error")
    done = "Rule removed: its group's members lose what it gave at their next sign-in"
    return redirect(request, "/admin/sso", flash=done)
