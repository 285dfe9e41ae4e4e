"""One search box for everything (issue #19, item 5): a reference jumps straight to its page (INC-12,
#42 or an alert's number); text finds incidents, alerts, services and people, each list limited to what
the person may see (restricted incidents and their alerts included)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts import service as alerts
from warroom.alerts.models import Alert
from warroom.auth.domain import Permission, allows
from warroom.auth.models import User
from warroom.catalog.models import Service
from warroom.deps import ContextDep
from warroom.incidents.models import Incident
from warroom.incidents.visibility import Viewer, viewer_of, visible_to
from warroom.web.deps import PageReader
from warroom.web.render import render

router = APIRouter(include_in_schema=False)
SHOWN = 10  # per kind
INCIDENT_REF = re.compile(r"^\s*(?:inc-?)?(\d{1,9})\s*$", re.IGNORECASE)
ALERT_REF = re.compile(r"^\s*#(\d{1,9})\s*$")


@dataclass
class Found:
    incidents: list[Incident] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    people: list[User] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.incidents or self.alerts or self.services or self.people)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _containing(pattern: str, *columns: Any) -> ColumnElement[bool]:
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))


async def search(session: AsyncSession, text: str, viewer: Viewer, internal: bool) -> Found:
    """The newest SHOWN of each kind. Nothing is counted: a count reads every match (of 100,000 alerts), a
    page of the newest stops at SHOWN."""
    found = Found()
    pattern = _like(text)
    incidents = select(Incident).where(
        visible_to(viewer), _containing(pattern, Incident.title, Incident.summary)
    )
    found.incidents = list(
        (await session.scalars(incidents.order_by(Incident.declared_at.desc()).limit(SHOWN))).all()
    )
    if not internal:  # stakeholders see incidents only
        return found
    recent = select(Alert).where(alerts.seen_by(viewer), _containing(pattern, Alert.title, Alert.dedup_key))
    found.alerts = list(
        (await session.scalars(recent.order_by(Alert.last_seen_at.desc()).limit(SHOWN))).all()
    )
    services = select(Service).where(_containing(pattern, Service.slug, Service.name))
    found.services = list((await session.scalars(services.order_by(Service.slug).limit(SHOWN))).all())
    people = select(User).where(User.is_active.is_(True), _containing(pattern, User.name, User.email))
    found.people = list((await session.scalars(people.order_by(User.name).limit(SHOWN))).all())
    return found


def jump(text: str, internal: bool) -> str | None:
    """Where a reference leads: INC-12 (or 12) to its incident, #42 to its alert (for who sees alerts)."""
    if (match := INCIDENT_REF.match(text)) is not None:
        return f"/incidents/INC-{int(match.group(1))}"
    if internal and (match := ALERT_REF.match(text)) is not None:
        return f"/alerts/{int(match.group(1))}"
    return None


@router.get("/search")
async def search_page(request: Request, user: PageReader, context: ContextDep) -> Response:
    text = request.query_params.get("q", "")[:200].strip()
    internal = allows(user.role, Permission.incident_internal)
    target = jump(text, internal) if text else None
    if target is not None:
        return RedirectResponse(target, status_code=303)
    found = Found()
    if text:
        async with context.db.read() as session:
            found = await search(session, text, viewer_of(user, context.procedure.procedure), internal)
    return render(request, "search.html", user=user, q=text, found=found, title=f"Search {text}".strip())
