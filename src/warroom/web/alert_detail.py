"""One alert, everything about it one click away: labels, annotations and details, its history, the raw
requests that made it, who was paged by which channel and what became of each page, the escalation's
next step and when, and the incident it joined."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts import service as alerts
from warroom.alerts import views as alert_views
from warroom.alerts.models import AlertEvent, RawEvent
from warroom.alerts.schemas import AlertOut
from warroom.auth.models import User
from warroom.deps import ContextDep
from warroom.incidents.visibility import Viewer, viewer_of
from warroom.jobs.models import Job
from warroom.notify.models import OutgoingMessage
from warroom.oncall.models import EscalationPolicy
from warroom.paging.engine import step_key
from warroom.paging.models import Escalation
from warroom.timeline.describe import why_paged
from warroom.web.deps import PageInternal
from warroom.web.render import render

router = APIRouter(include_in_schema=False)
RAW_SHOWN = 5  # the newest raw requests; the rest are in the API
RAW_MAX_CHARACTERS = 20_000


@dataclass(frozen=True)
class Page:
    """A page sent for the alert: to whom, how, and what became of it."""

    person: str
    channel: str
    state: str
    attempts: int
    due_at: datetime
    sent_at: datetime | None
    last_error: str | None


@dataclass
class AlertDetail:
    alert: AlertOut
    events: list[AlertEvent] = field(default_factory=list)
    raw: list[tuple[RawEvent, str]] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    escalation: Escalation | None = None
    policy: str | None = None
    next_step_at: datetime | None = None
    # Why each person was paged (the chain paging.steps records), newest last.
    why: list[tuple[str, str]] = field(default_factory=list)


def shown_body(raw: RawEvent) -> str:
    """The request body as sent, indented when it is JSON; cut to RAW_MAX_CHARACTERS."""
    text = _indented(raw.body.decode("utf-8", errors="replace"))
    return text if len(text) <= RAW_MAX_CHARACTERS else text[:RAW_MAX_CHARACTERS] + "\n… (cut)"


def _indented(text: str) -> str:
    """JSON indented for reading; anything else (a form, plain text) as it came."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


async def _pages(session: AsyncSession, alert_id: int) -> list[Page]:
    rows = await session.execute(
        select(OutgoingMessage, User.name, User.email)
        .outerjoin(User, User.id == OutgoingMessage.user_id)
        .where(OutgoingMessage.alert_id == alert_id)
        .order_by(OutgoingMessage.id)
    )
    return [
        Page(name or email or m.address, m.channel, m.state, m.attempts, m.due_at, m.sent_at, m.last_error)
        for m, name, email in rows.all()
    ]


async def _escalation(session: AsyncSession, detail: AlertDetail) -> None:
    escalation = await session.scalar(select(Escalation).where(Escalation.alert_id == detail.alert.id))
    if escalation is None:
        return
    detail.escalation = escalation
    if escalation.policy_id is not None:
        detail.policy = await session.scalar(
            select(EscalationPolicy.name).where(EscalationPolicy.id == escalation.policy_id)
        )
    key = step_key(escalation.id, escalation.generation, escalation.round, escalation.step)
    detail.next_step_at = await session.scalar(
        select(Job.run_at).where(Job.idempotency_key == key, Job.state == "pending")
    )


async def load_detail(session: AsyncSession, alert_id: int, viewer: Viewer) -> AlertDetail:
    alert = await alerts.get_alert(session=session, ref=str(alert_id), viewer=viewer)
    detail = AlertDetail(alert=(await alert_views.alerts_out(session, [alert]))[0])
    detail.events = await alerts.alert_events(session=session, alert_id=alert.id)
    request_ids = [e.request_id for e in detail.events if e.request_id][-RAW_SHOWN:]
    if request_ids:
        found = await session.scalars(
            select(RawEvent).where(RawEvent.request_id.in_(request_ids)).order_by(RawEvent.id.desc())
        )
        detail.raw = [(raw, shown_body(raw)) for raw in found.all()]
    detail.pages = await _pages(session, alert.id)
    detail.why = [
        (str((e.data or {}).get("user", "")), why_paged(e.data or {}))
        for e in detail.events
        if e.action == "paged"
    ]
    await _escalation(session, detail)
    return detail


@router.get("/alerts/{alert_id}")
async def alert_page(alert_id: int, request: Request, user: PageInternal, context: ContextDep) -> Response:
    viewer = viewer_of(user, context.procedure.procedure)
    async with context.db.read() as session:
        detail = await load_detail(session, alert_id, viewer)
    return render(
        request,
        "alert.html",
        user=user,
        detail=detail,
        alert=detail.alert,
        now=context.clock.now(),
        title=f"Alert #{alert_id} {detail.alert.title}",
    )
