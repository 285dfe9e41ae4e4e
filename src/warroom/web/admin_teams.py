"""Team administration (admins only): teams with their members, add a team, add and remove a member."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warroom.auth import service as auth
from warroom.auth.models import User
from warroom.auth.schemas import TeamCreate
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, InvalidInput, NotFound, invalid
from warroom.web.deps import PageAdmin, csrf_checked, form_data, writing
from warroom.web.forms import FormState, FormValues, parsed, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
NEW = "new"
FIELDS = frozenset({"slug", "name"})


async def _page(
    request: Request,
    context: AppContext,
    user: User,
    *,
    forms: dict[str, FormState] | None = None,
    status: int = 200,
) -> Response:
    async with context.db.read() as session:
        teams = await auth.list_teams(session=session)
        users = await auth.list_users(session=session)
    people = [(u.email, f"{u.name} ({u.email})") for u in users if u.is_active]
    return render(
        request,
        "admin_teams.html",
        status=status,
        user=user,
        teams=teams,
        people=people,
        forms=forms or {},
        title="Teams",
    )


@router.get("/admin/teams")
async def teams(request: Request, user: PageAdmin, context: ContextDep) -> Response:
    return await _page(request, context, user)


def _create_data(values: FormValues) -> TeamCreate:
    fields = {"slug": text(values, "slug"), "name": text(values, "name")}
    return parsed(TeamCreate, fields, "the team was not added")


@router.post("/admin/teams")
async def create(request: Request, user: PageAdmin, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            data = _create_data(values)
            team = await auth.create_team(
                session=session, slug=data.slug, name=data.name, now=context.clock.now()
            )
    except (InvalidInput, Conflict) as error:
        state = refused(values, error, fields=FIELDS)
        return await _page(request, context, user, forms={NEW: state}, status=error.status)
    return redirect(request, f"/admin/teams#team-{team.slug}", flash=f"Team {team.name} added")


@router.post("/admin/teams/{team}/members")
async def add_member(team: str, request: Request, user: PageAdmin, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            found = await auth.get_team(session=session, slug=team)
            ref = text(values, "user")
            if not ref:
                raise invalid("user", "choose a person")
            try:
                member = await auth.resolve_user(session=session, ref=ref)
            except NotFound as error:
                raise invalid("user", error.detail) from None
            await auth.add_team_member(session=session, team=found, user=member)
    except InvalidInput as error:
        state = refused(values, error, fields=frozenset({"user"}))
        return await _page(request, context, user, forms={f"add-{team}": state}, status=error.status)
    except NotFound as error:
        return redirect(request, "/admin/teams", flash=error.detail, tone="error")
    return redirect(request, f"/admin/teams#team-{team}", flash=f"{member.email} added to {found.name}")


@router.post("/admin/teams/{team}/members/{user_id}/remove")
async def remove_member(
    team: str, user_id: int, request: Request, user: PageAdmin, context: ContextDep
) -> Response:
    try:
        async with writing(context) as session:
            found = await auth.get_team(session=session, slug=team)
            member = await auth.get_user(session=session, user_id=user_id)
            await auth.remove_team_member(session=session, team=found, user=member)
    except NotFound as error:
        return redirect(request, "/admin/teams", flash=error.detail, tone="error")
    return redirect(request, f"/admin/teams#team-{team}", flash=f"{member.email} removed from {found.name}")
