"""POST /api/v1/reports: anyone signed in reports a problem; rate-limited per user."""

from __future__ import annotations

import time

from fastapi import APIRouter
from pydantic import BaseModel, Field

from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep, CurrentUser, WriteSession
from warroom.errors import invalid
from warroom.incidents.domain import incident_ref
from warroom.ratelimit import Throttles
from warroom.reports.service import report_problem

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
# Per process and per app, like the intake limits: guards against a flood, not a quota.
_THROTTLES: dict[int, Throttles] = {}
PER_MINUTE = 4


class ReportIn(BaseModel):
    what: str = Field(max_length=2000, description="What is wrong, e.g. 'the site is down'.")
    service: str = Field(max_length=200, description="The affected service's slug.")
    seeing: str = Field(default="", max_length=20_000, description="What you see.")


class ReportOut(BaseModel):
    ref: str
    paged: str
    severity: str
    next: str


def refuse_a_flood(context: AppContext, user: User) -> None:
    """422 past PER_MINUTE reports a minute from one person (the API and the web page share the count)."""
    throttles = _THROTTLES.setdefault(id(context), Throttles())
    if throttles.admit(user.id, PER_MINUTE, time.monotonic()):
        raise invalid("report", "too many reports: wait a minute and try again")


@router.post("", status_code=201, response_model=ReportOut)
async def report(body: ReportIn, user: CurrentUser, session: WriteSession, context: ContextDep) -> ReportOut:
    refuse_a_flood(context, user)
    now = context.clock.now()
    done = await report_problem(session=session, loaded=context.procedure, actor=user, what=body.what,
                                service=body.service, seeing=body.seeing, now=now)  # fmt: skip
    incident = done.incident
    return ReportOut(ref=incident_ref(incident.id), paged=done.paged, severity=incident.severity,
                     next=f"{done.paged} is paged; {done.response_target}")  # fmt: skip
