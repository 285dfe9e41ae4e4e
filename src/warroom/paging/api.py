"""The one-click acknowledge link: GET shows what it will do, POST does it (no login: the link is the key)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from warroom.alerts.incident_notes import note_on_incident
from warroom.alerts.models import Alert, AlertEvent
from warroom.auth.models import User
from warroom.deps import ContextDep
from warroom.paging.acklinks import BadLink, read_token
from warroom.paging.engine import stop_paging
from warroom.paging.models import Escalation

router = APIRouter(tags=["paging"])
PAGE = "<!doctype html><meta name=viewport content='width=device-width'><title>warroom</title>{}"


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(body), status_code=status)


@router.get("/ack/{token}", response_class=HTMLResponse, summary="Confirm an acknowledgement")
async def confirm(token: str, context: ContextDep) -> HTMLResponse:
    secret = context.settings.ensure_secret_key().get_secret_value()
    try:
        escalation_id, _user = read_token(secret, token, context.clock.now())
    except BadLink as error:
        return _page(f"<p>{escape(str(error))}</p>", 400)
    async with context.db.read() as session:
        escalation = await session.get(Escalation, escalation_id)
        alert = await session.get(Alert, escalation.alert_id) if escalation else None
    if alert is None:
        return _page("<p>This alert no longer exists.</p>", 404)
    return _page(
        f"<h1>{escape(alert.title)}</h1><p>Status: {escape(alert.status)}</p>"
        f"<form method=post><button type=submit>Acknowledge</button></form>"
    )


@router.post("/ack/{token}", response_class=HTMLResponse, summary="Acknowledge from a notification")
async def acknowledge(token: str, context: ContextDep) -> HTMLResponse:
    secret = context.settings.ensure_secret_key().get_secret_value()
    now = context.clock.now()
    try:
        escalation_id, user_id = read_token(secret, token, now)
    except BadLink as error:
        return _page(f"<p>{escape(str(error))}</p>", 400)
    async with context.db.write_turn, context.db.write() as session:
        escalation = await session.get(Escalation, escalation_id)
        alert = await session.get(Alert, escalation.alert_id, with_for_update=True) if escalation else None
        user = await session.get(User, user_id)
        if alert is None or user is None:
            return _page("<p>This alert no longer exists.</p>", 404)
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
    return _page(
        f"<h1>{escape(alert.title)}</h1><p>Acknowledged by {escape(user.email)}. Paging stopped.</p>"
    )
