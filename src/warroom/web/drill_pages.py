"""/drills: schedule a drill from a shipped scenario and read each drill's report (admins only)."""

from __future__ import annotations

import random
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from warroom.auth.models import Team, User
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.drills.api import shipped
from warroom.drills.models import DrillRun
from warroom.drills.report import drill_report, measure_view
from warroom.drills.service import Mode, RunRequest, create_run, list_runs, run_view, team_by_slug
from warroom.drills.trends import drill_trends
from warroom.durations import spoken
from warroom.errors import InvalidInput, NotFound
from warroom.web.deps import PageAdmin, csrf_checked, form_data, writing
from warroom.web.forms import text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
_RNG = random.SystemRandom()


async def _page(
    request: Request, context: AppContext, user: User, *, error: str = "", status: int = 200
) -> Response:
    async with context.db.read() as session:
        runs = [run_view(r) for r in await list_runs(session=session)]
        teams = [
            (slug, name)
            for slug, name in await session.execute(select(Team.slug, Team.name).order_by(Team.name))
        ]
        trends = await drill_trends(session=session, loaded=context.procedure, now=context.clock.now())
    scenarios = sorted(shipped().values(), key=lambda s: s.title)
    return render(
        request,
        "drills.html",
        status=status,
        user=user,
        runs=runs,
        scenarios=scenarios,
        teams=teams,
        trends=trends,
        duration=spoken,
        error=error,
        title="Drills",
    )


@router.get("/drills")
async def drills_page(request: Request, user: PageAdmin, context: ContextDep) -> Response:
    return await _page(request, context, user)


def _when(values: dict[str, str | list[str]], name: str, tz: datetime) -> datetime | None:
    raw = text(values, name)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')}: not a date and time ({raw!r})") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz.tzinfo)


def _request(values: dict[str, str | list[str]], now: datetime, team_id: int | None) -> RunRequest:
    scenario = shipped().get(text(values, "scenario"))
    if scenario is None:
        raise InvalidInput("choose a scenario")
    starts, ends = _when(values, "starts_at", now), _when(values, "ends_at", now)
    if starts is None:
        raise InvalidInput("starts at: required")
    mode: Mode = "unannounced" if text(values, "mode") == "unannounced" else "game_day"
    if mode == "unannounced" and (ends is None or ends <= starts):
        raise InvalidInput("an unannounced drill needs a window end after its start")
    return RunRequest(scenario, mode, starts, ends if mode == "unannounced" else None, team_id=team_id)


@router.post("/drills")
async def start_drill(request: Request, user: PageAdmin, context: ContextDep) -> Response:
    values = await form_data(request)
    now = context.clock.now()
    try:
        async with writing(context) as session:
            team = text(values, "team")
            run_request = _request(values, now, await team_by_slug(session, team) if team else None)
            run = await create_run(session=session, request=run_request, actor_id=user.id, now=now, rng=_RNG)
    except InvalidInput as error:
        return await _page(request, context, user, error=error.detail, status=422)
    return redirect(request, f"/drills/{run.id}", flash="Drill scheduled")


@router.get("/drills/{drill_id}")
async def drill_report_page(
    drill_id: int, request: Request, user: PageAdmin, context: ContextDep
) -> Response:
    async with context.db.read() as session:
        run = await session.get(DrillRun, drill_id)
        if run is None:
            raise NotFound(f"no drill {drill_id}")
        measures = [
            measure_view(m)
            for m in await drill_report(
                session=session, run=run, loaded=context.procedure, now=context.clock.now()
            )
        ]
    return render(
        request, "drill.html", user=user, run=run_view(run), measures=measures, duration=spoken,
        title=f"Drill {drill_id}",
    )  # fmt: skip
