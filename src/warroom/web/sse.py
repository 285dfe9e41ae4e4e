"""Server-sent events for the live pages, fed by this process's LiveFeed (see live.py for why it polls).

- `/live/dashboard`: `changed` whenever any incident or alert changed; the page then refetches its regions.
- `/live/incidents/{ref}`: each new timeline event as a rendered `<li>` (`event: timeline`, `id:` its seq,
  so a reconnecting browser resumes with Last-Event-ID and misses nothing), then `changed` for the other
  regions.
  Stakeholders may not read the timeline, so they get `changed` only.

A stream ends itself after STREAM_LIFETIME, and at once when the process is told to stop (see
LiveFeed.drain_on_exit_signals); the browser reconnects (`retry:`), to this or another server process, and
picks up where it left off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from jinja2 import Template
from sqlalchemy import select

from warroom.auth.domain import Permission, allows
from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.inbound import row_id
from warroom.incidents import service
from warroom.incidents.models import Incident
from warroom.incidents.visibility import Viewer, viewer_of, visible_to
from warroom.web.deps import OptionalUser
from warroom.web.incident_data import new_events
from warroom.web.live import STOP, Change
from warroom.web.render import web_state

router = APIRouter(include_in_schema=False)
STREAM_LIFETIME = 55.0
HEARTBEAT = 15.0
SETTLE = 0.1  # gather a burst of changes into one message
RETRY_MS = 1000


def message(data: str, *, event: str | None = None, event_id: int | None = None) -> str:
    lines = [f"event: {event}"] if event else []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {line}" for line in (data.splitlines() or [""])]
    return "\n".join(lines) + "\n\n"


async def _next_changes(queue: asyncio.Queue[Change], wait: float) -> list[Change]:
    """Wait up to `wait` seconds for news; then take whatever else arrives within SETTLE."""
    try:
        first = await asyncio.wait_for(queue.get(), wait)
    except TimeoutError:
        return []
    await asyncio.sleep(SETTLE)
    found = [first]
    while not queue.empty():
        found.append(queue.get_nowait())
    return found


def _headers() -> dict[str, str]:
    return {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


async def _stream(request: Request, context: AppContext, watch: Watch) -> AsyncIterator[str]:
    feed = web_state(request).feed
    ends = time.monotonic() + STREAM_LIFETIME
    async with feed.subscribe() as queue:
        yield f"retry: {RETRY_MS}\n\n"
        async for chunk in watch.catch_up(context):
            yield chunk
        while (left := ends - time.monotonic()) > 0:
            changes = await _next_changes(queue, min(HEARTBEAT, left))
            if STOP in changes or await request.is_disconnected():
                return
            if not changes:
                yield ": ping\n\n"
                continue
            async for chunk in watch.on(context, changes):
                yield chunk
            await asyncio.sleep(watch.min_gap)  # what arrives meanwhile goes out together next time


class Watch:
    """What one stream cares about; the dashboard's cares about everything.

    During an alert storm something changes every poll; the dashboard then refetches at most once per
    `min_gap` seconds instead of as often as the poller ticks.
    """

    min_gap = 1.0

    async def catch_up(self, context: AppContext) -> AsyncIterator[str]:
        return
        yield

    async def on(self, context: AppContext, changes: list[Change]) -> AsyncIterator[str]:
        yield message("1", event="changed")


class IncidentWatch(Watch):
    min_gap = 0.0

    def __init__(
        self, incident_id: int, after: int, internal: bool, template: Template, viewer: Viewer
    ) -> None:
        self.incident_id, self.after, self.internal = incident_id, after, internal
        self.template, self.viewer = template, viewer

    async def catch_up(self, context: AppContext) -> AsyncIterator[str]:
        async for chunk in self._events(context):
            yield chunk

    async def on(self, context: AppContext, changes: list[Change]) -> AsyncIterator[str]:
        if any(c.incident_id == self.incident_id for c in changes) and await self._visible(context):
            async for chunk in self._events(context):
                yield chunk
            yield message("1", event="changed")

    async def _visible(self, context: AppContext) -> bool:
        """Still visible to the viewer: an incident restricted while its page is open goes quiet."""
        query = select(Incident.id).where(Incident.id == self.incident_id, visible_to(self.viewer))
        async with context.db.read() as session:
            return await session.scalar(query) is not None

    async def _events(self, context: AppContext) -> AsyncIterator[str]:
        if not self.internal:
            return
        async with context.db.read() as session:
            events = await new_events(
                session=session, loaded=context.procedure, incident_id=self.incident_id, after=self.after
            )
        for event in events:
            yield message(self.template.render(event=event), event="timeline", event_id=event.seq)
            self.after = event.seq


def _refuse(user: User | None, permission: Permission) -> Response | None:
    if user is None:
        return Response("sign in first", status_code=401, media_type="text/plain")
    if not allows(user.role, permission):
        return Response("not allowed", status_code=403, media_type="text/plain")
    return None


@router.get("/live/dashboard")
async def dashboard_stream(request: Request, user: OptionalUser, context: ContextDep) -> Response:
    refused = _refuse(user, Permission.incident_read)
    if refused is not None:
        return refused
    return StreamingResponse(
        _stream(request, context, Watch()), media_type="text/event-stream", headers=_headers()
    )


@router.get("/live/incidents/{ref}")
async def incident_stream(
    ref: str, request: Request, user: OptionalUser, context: ContextDep, after: int = 0
) -> Response:
    refused = _refuse(user, Permission.incident_read)
    if refused is not None or user is None:
        return refused or Response(status_code=401)
    async with context.db.read() as session:
        viewer = viewer_of(user, context.procedure.procedure)
        incident = await service.get_incident(session=session, ref=ref, viewer=viewer)
    resume = request.headers.get("last-event-id", "")
    watch = IncidentWatch(
        incident.id,
        row_id(resume) or max(after, 0),
        allows(user.role, Permission.incident_internal),
        web_state(request).templates.get_template("timeline_item.html"),
        viewer,
    )
    return StreamingResponse(
        _stream(request, context, watch), media_type="text/event-stream", headers=_headers()
    )
