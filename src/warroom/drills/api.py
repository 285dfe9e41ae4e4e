"""Drill HTTP routes: admins only, since a participant who could list drills would know one is coming."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from warroom.auth.models import User
from warroom.deps import ContextDep, ReadSession, UserManager, WriteSession
from warroom.drills.domain import findings
from warroom.drills.models import DrillRun
from warroom.drills.report import drill_report, measure_view
from warroom.drills.scenarios import SHIPPED_DIR, ScenarioInvalid, load_scenario_file, load_scenario_text
from warroom.drills.schemas import Scenario
from warroom.drills.service import RunRequest, create_run, list_runs, run_view, team_by_slug
from warroom.drills.trends import drill_trends
from warroom.errors import FieldProblem, InvalidInput, NotFound

router = APIRouter(prefix="/api/v1/drills", tags=["drills"])
_RNG = random.SystemRandom()  # the unannounced time must not be guessable from a seed
FINDING_DUE = timedelta(days=14)  # proposed action items: due in two weeks; the review can change it


class ScenarioUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(min_length=1, max_length=200_000)


class DrillCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: str | None = Field(default=None, description="A shipped scenario's id.")
    scenario_yaml: str | None = Field(
        default=None, max_length=200_000, description="Or an uploaded scenario."
    )
    mode: Literal["game_day", "unannounced"]
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    team: str | None = Field(
        default=None,
        max_length=64,
        description="The team drilled (its slug); else the team of the service hit.",
    )


def _invalid(exc: ScenarioInvalid) -> InvalidInput:
    return InvalidInput(
        "the scenario is not valid", problems=[FieldProblem("scenario", p) for p in exc.problems]
    )


def shipped() -> dict[str, Scenario]:
    return {s.id: s for s in (load_scenario_file(p) for p in sorted(SHIPPED_DIR.glob("*.yaml")))}


def _scenario(body: DrillCreate) -> Scenario:
    if body.scenario_yaml:
        try:
            return load_scenario_text(body.scenario_yaml)
        except ScenarioInvalid as exc:
            raise _invalid(exc) from None
    found = shipped().get(body.scenario or "")
    if found is None:
        raise InvalidInput(f"no scenario {body.scenario!r}; shipped: {', '.join(sorted(shipped()))}")
    return found


@router.get("/scenarios")
async def scenarios(_user: UserManager) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in shipped().values()]


@router.post("/scenarios/check")
async def check_scenario(body: ScenarioUpload, _user: UserManager) -> dict[str, Any]:
    """Validate an uploaded scenario: 422 naming each problem, else the parsed scenario."""
    try:
        return load_scenario_text(body.yaml).model_dump(mode="json")
    except ScenarioInvalid as exc:
        raise _invalid(exc) from None


@router.post("", status_code=201)
async def start_drill(
    body: DrillCreate, user: UserManager, session: WriteSession, context: ContextDep
) -> dict[str, Any]:
    scenario = _scenario(body)
    if body.mode == "unannounced" and (body.ends_at is None or body.ends_at <= body.starts_at):
        raise InvalidInput("an unannounced drill needs ends_at after starts_at")
    if scenario.expect.severity not in {s.id for s in context.procedure.procedure.severities}:
        raise InvalidInput(
            f"the scenario expects severity {scenario.expect.severity!r}, unknown to the procedure"
        )
    team_id = await team_by_slug(session, body.team) if body.team else None
    request = RunRequest(scenario, body.mode, body.starts_at, body.ends_at, team_id=team_id)
    run = await create_run(
        session=session, request=request, actor_id=user.id, now=context.clock.now(), rng=_RNG
    )
    await session.commit()
    return run_view(run)


@router.get("")
async def drills(_user: UserManager, session: ReadSession) -> list[dict[str, Any]]:
    return [run_view(run) for run in await list_runs(session=session)]


async def _run(session: ReadSession, drill_id: int) -> DrillRun:
    run = await session.get(DrillRun, drill_id)
    if run is None:
        raise NotFound(f"no drill {drill_id}")
    return run


@router.get("/trends")
async def trends(_user: UserManager, session: ReadSession, context: ContextDep) -> dict[str, Any]:
    """Each fired drill's time to acknowledge and declare and its findings, per scenario and per team."""
    return await drill_trends(session=session, loaded=context.procedure, now=_now(context))


@router.get("/{drill_id}/report")
async def report(
    drill_id: int, _user: UserManager, session: ReadSession, context: ContextDep
) -> dict[str, Any]:
    run = await _run(session, drill_id)
    measures = await drill_report(session=session, run=run, loaded=context.procedure, now=_now(context))
    owner = await session.get(User, run.created_by) if run.created_by else None
    proposed = findings(measures, owner=owner.email if owner else "", now=_now(context), due_in=FINDING_DUE)
    return {
        "drill": run_view(run),
        "measures": [measure_view(m) for m in measures],
        "proposed_action_items": [{"title": a.title, "owner": a.owner, "due": a.due} for a in proposed],
        "generated_at": _now(context),
    }


def _now(context: ContextDep) -> datetime:
    return context.clock.now()
