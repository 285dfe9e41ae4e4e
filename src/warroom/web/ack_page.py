"""The one-click acknowledge link: GET shows what it will do, POST does it (no login: the link is the key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
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
# The link answers a person in a browser: every outcome, a refusal too, is a page.
_PAGE = {"content": {"text/html": {"schema": {"type": "string"}}}}
PAGES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The link is malformed, forged or expired", **_PAGE},
    404: {"description": "The alert no longer exists", **_PAGE},
}


async def alert_title(session: AsyncSession, alert: Alert) -> str:
    """What the link's page calls the alert: anyone holding the link reads it, so an alert on a restricted
    incident is named only as that."""
    if alert.incident_id is None:
        return alert.title
    restricted = await session.scalar(select(Incident.restricted).where(Incident.id == alert.incident_id))
    return f"Alert on restricted incident INC-{alert.incident_id}" if restricted else alert.title


def _page(
    request: Request,
    detail: str,
    status: int = 200,
    *,
    alert: Alert | None = None,
    named: str = "",
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
        alert_title=named,
        confirm=confirm,
        heading=heading,
        detail=detail,
        title=named or heading,
    )


@router.get(
    "/ack/{token}", response_class=HTMLResponse, summary="Confirm an acknowledgement", responses=PAGES
)
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
        named = await alert_title(session, alert) if alert else ""
    if alert is None:
        return _page(request, "This alert no longer exists.", 404)
    if alert.status != "triggered":
        return _page(request, _settled(alert), alert=alert, named=named)
    return _page(request, "", alert=alert, named=named, confirm=True)


def incident_heading(incident: Incident) -> str:
    """Anyone holding the link reads this: a restricted incident is named only as that."""
    if incident.restricted:
        return f"Restricted incident {incident_ref(incident.id)}"
    return f"{incident_ref(incident.id)} {incident.title}"


async def _incident_page(request: Request, session: AsyncSession, incident_id: int) -> Response:
    """A page from a declared incident: acknowledging it (as the person paged) stops its paging."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        return _page(request, "This incident no longer exists.", 404)
    title = incident_heading(incident)
    if incident.acknowledged_at is not None or incident.status != "active":
        return _page(request, "Already acknowledged: nothing to do.", heading=title)
    return _page(request, f"{incident.severity} incident, declared.", heading=title, confirm=True)


async def _acknowledge_incident(
    request: Request, session: AsyncSession, incident_id: int, user: User, now: datetime
) -> Response:
    incident = await session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        return _page(request, "This incident no longer exists.", 404)
    title = incident_heading(incident)
    # The incident's own acknowledgement: its timeline observer stops the walks its declaration started.
    await incidents.acknowledge(session=session, actor=user, incident=incident, now=now)
    await session.commit()
    return _page(request, f"Acknowledged by {user.email}. Paging stopped.", heading=title)


def _settled(alert: Alert) -> str:
    if alert.status == "acknowledged":
        return f"Already acknowledged by {alert.acknowledged_by or 'someone'}: nothing to do."
    return f"This alert is {alert.status}: nothing to do."


@router.post(
    "/ack/{token}", response_class=HTMLResponse, summary="Acknowledge from a notification", responses=PAGES
)
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
        named = await alert_title(session, alert)
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
    return _page(request, f"Acknowledged by {user.email}. Paging stopped.", alert=alert, named=named)
