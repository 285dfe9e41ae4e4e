"""The one-click acknowledge link: GET shows what it will do, POST does it (no login: the link is the key)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.incident_notes import note_on_incident
from warroom.alerts.models import Alert, AlertEvent
from warroom.auth.models import User
from warroom.deps import ContextDep
from warroom.incidents import service as incidents
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.paging.acklinks import BadLink, read_token
from warroom.paging.engine import stop_paging
from warroom.paging.models import Escalation
from warroom.web.render import render

router = APIRouter(tags=["paging"])


def _page(
    request: Request,
    detail: str,
    status: int = 200,
    *,
    alert: Alert | None = None,
    confirm: bool = False,
    heading: str | None = None,
) -> Response:
    """The link's page in the UI's look (styles, phone layout, security headers); nobody is signed in."""
    heading = heading or ("Acknowledge link" if status < 400 else "This link does not work")
    return render(
        request,
        "ack.html",
        status=status,
        alert=alert,
        confirm=confirm,
        heading=heading,
        detail=detail,
        title=alert.title if alert else heading,
    )


@router.get("/ack/{token}", response_class=HTMLResponse, summary="Confirm an acknowledgement")
async def confirm(token: str, request: Request, context: ContextDep) -> Response:
    secret = context.settings.ensure_secret_key().get_secret_value()
    try:
        escalation_id, _user = read_token(secret, token, context.clock.now())
    except BadLink as error:
        return _page(request, str(error), 400)
    async with context.db.read() as session:
        escalation = await session.get(Escalation, escalation_id)
        if escalation is not None and escalation.incident_id is not None:
            return await _incident_page(request, session, escalation.incident_id)
        alert = await session.get(Alert, escalation.alert_id) if escalation and escalation.alert_id else None
    if alert is None:
        return _page(request, "This alert no longer exists.", 404)
    if alert.status != "triggered":
        return _page(request, _settled(alert), alert=alert)
    return _page(request, "", alert=alert, confirm=True)


async def _incident_page(request: Request, session: AsyncSession, incident_id: int) -> Response:
    """A page from a declared incident: acknowledging it (as the person paged) stops its paging."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        return _page(request, "This incident no longer exists.", 404)
    title = f"{incident_ref(incident.id)} {incident.title}"
    if incident.acknowledged_at is not None or incident.status != "active":
        return _page(request, "Already acknowledged: nothing to do.", heading=title)
    return _page(request, f"{incident.severity} incident, declared.", heading=title, confirm=True)


async def _acknowledge_incident(
    request: Request, session: AsyncSession, incident_id: int, user: User, now: datetime
) -> Response:
    incident = await session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        return _page(request, "This incident no longer exists.", 404)
    title = f"{incident_ref(incident.id)} {incident.title}"
    # The incident's own acknowledgement: its timeline observer stops the walks its declaration started.
    await incidents.acknowledge(session=session, actor=user, incident=incident, now=now)
    await session.commit()
    return _page(request, f"Acknowledged by {user.email}. Paging stopped.", heading=title)


def _settled(alert: Alert) -> str:
    if alert.status == "acknowledged":
        return f"Already acknowledged by {alert.acknowledged_by or 'someone'}: nothing to do."
    return f"This alert is {alert.status}: nothing to do."


@router.post("/ack/{token}", response_class=HTMLResponse, summary="Acknowledge from a notification")
async def acknowledge(token: str, request: Request, context: ContextDep) -> Response:
    secret = context.settings.ensure_secret_key().get_secret_value()
    now = context.clock.now()
    try:
        escalation_id, user_id = read_token(secret, token, now)
    except BadLink as error:
        return _page(request, str(error), 400)
    async with context.db.write_turn, context.db.write() as session:
        escalation = await session.get(Escalation, escalation_id)
        user = await session.get(User, user_id)
        if escalation is not None and escalation.incident_id is not None and user is not None:
            return await _acknowledge_incident(request, session, escalation.incident_id, user, now)
        alert = (
            await session.get(Alert, escalation.alert_id, with_for_update=True)
            if escalation and escalation.alert_id
            else None
        )
        if alert is None or user is None:
            return _page(request, "This alert no longer exists.", 404)
        if alert.status == "triggered":
            alert.status, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", now, user.email
            session.add(
                AlertEvent(
                    alert_id=alert.id,
                    request_id=None,
                    at=now,
                    action="acknowledged",
                    actor=user.email,
                    data={"via": "link"},
                )
            )
            await note_on_incident(
                session=session, alert_id=alert.id, action="acknowledged", actor=user.email, now=now
            )
            await stop_paging(
                session=session, alert_ids=[alert.id], state="acknowledged", actor=user.email, now=now
            )
        await session.commit()
    return _page(request, f"Acknowledged by {user.email}. Paging stopped.", alert=alert)
