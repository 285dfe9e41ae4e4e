"""/api/v1/schedules (with their layers and overrides), /api/v1/oncall, and iCal feeds.

Escalation policies are in `policy_api`."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import (
    CatalogWriter,
    ContextDep,
    CurrentUser,
    IncidentWriter,
    InternalReader,
    ReadSession,
    WriteSession,
)
from warroom.errors import NotFound
from warroom.oncall import ical, service
from warroom.oncall.models import Schedule, ScheduleLayer, ScheduleOverride
from warroom.oncall.schemas import (
    LayerIn,
    LayerPatch,
    OnCallOut,
    OverrideCreate,
    OverrideOut,
    OverridePatch,
    ScheduleCreate,
    ScheduleOut,
    SchedulePatch,
    SpanOut,
)
from warroom.problems import media_response

router = APIRouter(prefix="/api/v1", tags=["on-call"])
feeds = APIRouter(tags=["on-call"])


async def _names(session: AsyncSession) -> dict[str, str]:
    return {str(u.id): u.email for u in (await session.scalars(select(User))).all()}


async def schedule_out(session: AsyncSession, context: AppContext, schedule: Schedule) -> ScheduleOut:
    names = await _names(session)
    layers = (
        await session.scalars(
            select(ScheduleLayer).where(ScheduleLayer.schedule_id == schedule.id).order_by(ScheduleLayer.id)
        )
    ).all()
    return ScheduleOut(
        id=schedule.id,
        slug=schedule.slug,
        name=schedule.name,
        time_zone=schedule.time_zone,
        layers=[
            {
                "id": layer.id,
                "name": layer.name,
                "priority": layer.priority,
                "time_zone": layer.time_zone,
                "participants": [names.get(str(p), str(p)) for p in layer.participant_ids],
                "start": layer.start.isoformat(),
                "end": layer.end.isoformat() if layer.end else None,
                "shift": f"{layer.shift_length} {layer.shift_unit}",
                "shift_length": layer.shift_length,
                "shift_unit": layer.shift_unit,
                "restrictions": layer.restrictions,
            }
            for layer in layers
        ],
        ical_url=f"{context.settings.resolved_base_url()}/ical/schedules/{schedule.ical_token}.ics",
    )


@router.get("/schedules", response_model=list[ScheduleOut])
async def list_schedules(
    _user: InternalReader, session: ReadSession, context: ContextDep
) -> list[ScheduleOut]:
    return [await schedule_out(session, context, s) for s in await service.list_schedules(session=session)]


@router.post("/schedules", status_code=201, response_model=ScheduleOut)
async def create_schedule(
    body: ScheduleCreate, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> ScheduleOut:
    schedule = await service.create_schedule(session=session, data=body, now=context.clock.now())
    return await schedule_out(session, context, schedule)


@router.get("/schedules/{ref}", response_model=ScheduleOut)
async def read_schedule(
    ref: str, _user: InternalReader, session: ReadSession, context: ContextDep
) -> ScheduleOut:
    return await schedule_out(session, context, await service.get_schedule(session=session, ref=ref))


@router.patch("/schedules/{ref}", response_model=ScheduleOut)
async def update_schedule(
    ref: str, body: SchedulePatch, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> ScheduleOut:
    """Rename it (name, slug) or change its display time zone; its layers keep their own zones."""
    schedule = await service.get_schedule(session=session, ref=ref)
    await service.update_schedule(session=session, schedule=schedule, patch=body)
    return await schedule_out(session, context, schedule)


@router.post("/schedules/{ref}/layers", status_code=201, response_model=ScheduleOut)
async def add_layer(
    ref: str, body: LayerIn, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> ScheduleOut:
    schedule = await service.get_schedule(session=session, ref=ref)
    await service.add_layer(session=session, schedule=schedule, data=body)
    return await schedule_out(session, context, schedule)


@router.patch("/schedules/{ref}/layers/{layer_id}", response_model=ScheduleOut)
async def update_layer(
    ref: str,
    layer_id: int,
    body: LayerPatch,
    _admin: CatalogWriter,
    session: WriteSession,
    context: ContextDep,
) -> ScheduleOut:
    """Change a rotation: the fields sent replace the old ones (`participants`, `restrictions` wholesale)."""
    schedule = await service.get_schedule(session=session, ref=ref)
    layer = await service.get_layer(session=session, schedule=schedule, layer_id=layer_id)
    await service.update_layer(session=session, schedule=schedule, layer=layer, patch=body)
    return await schedule_out(session, context, schedule)


@router.delete("/schedules/{ref}/layers/{layer_id}", status_code=204)
async def delete_layer(ref: str, layer_id: int, _admin: CatalogWriter, session: WriteSession) -> None:
    schedule = await service.get_schedule(session=session, ref=ref)
    layer = await service.get_layer(session=session, schedule=schedule, layer_id=layer_id)
    await service.delete_layer(session=session, layer=layer)


def override_out(row: ScheduleOverride, names: dict[str, str]) -> OverrideOut:
    return OverrideOut(
        id=row.id,
        start=row.starts_at,
        end=row.ends_at,
        user=names.get(str(row.user_id)),
        source="override",
        created_by=row.created_by,
        created_at=row.created_at,
    )


@router.get("/schedules/{ref}/overrides", response_model=list[OverrideOut])
async def list_overrides(
    ref: str,
    _user: InternalReader,
    session: ReadSession,
    context: ContextDep,
    since: Annotated[datetime | None, Query(description="Those ending after this (default: now).")] = None,
) -> list[OverrideOut]:
    schedule = await service.get_schedule(session=session, ref=ref)
    rows = await service.list_overrides(
        session=session, schedule=schedule, since=since or context.clock.now()
    )
    names = await _names(session)
    return [override_out(row, names) for row in rows]


@router.post("/schedules/{ref}/overrides", status_code=201, response_model=OverrideOut)
async def add_override(
    ref: str, body: OverrideCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> OverrideOut:
    """Someone covers a window (responders may swap shifts without an admin)."""
    schedule = await service.get_schedule(session=session, ref=ref)
    row = await service.add_override(
        session=session, schedule=schedule, data=body, actor=user.email, now=context.clock.now()
    )
    return override_out(row, await _names(session))


@router.patch("/schedules/{ref}/overrides/{override_id}", response_model=OverrideOut)
async def update_override(
    ref: str, override_id: int, body: OverridePatch, _user: IncidentWriter, session: WriteSession
) -> OverrideOut:
    """Move an override's window or hand it to someone else."""
    schedule = await service.get_schedule(session=session, ref=ref)
    row = await service.get_override(session=session, schedule=schedule, override_id=override_id)
    await service.update_override(session=session, override=row, patch=body)
    return override_out(row, await _names(session))


@router.post("/schedules/{ref}/overrides/import", status_code=201)
async def import_overrides(
    ref: str, request: Request, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> dict[str, object]:
    """Overrides from an iCal file (text/calendar body): events naming a person become their overrides."""
    schedule = await service.get_schedule(session=session, ref=ref)
    created, skipped = await service.import_overrides(
        session=session,
        schedule=schedule,
        calendar=await request.body(),
        actor=user.email,
        now=context.clock.now(),
    )
    return {"created": created, "skipped": skipped}


@router.get("/schedules/{ref}/final", response_model=list[SpanOut])
async def final_schedule(
    ref: str,
    _user: InternalReader,
    session: ReadSession,
    context: ContextDep,
    start: datetime | None = None,
    days: Annotated[int, Query(ge=1, le=92)] = 14,
) -> list[SpanOut]:
    """Who is on call over a range, with gaps (nobody on call) as `user: null, source: gap`."""
    schedule = await service.get_schedule(session=session, ref=ref)
    begin = start or context.clock.now()
    spans = await service.final_schedule(
        session=session, schedule=schedule, start=begin, end=begin + timedelta(days=days)
    )
    names = await _names(session)
    return [
        SpanOut(start=s.start, end=s.end, user=names.get(s.user or "", s.user), source=s.source)
        for s in spans
    ]


@router.delete("/schedules/{ref}", status_code=204)
async def delete_schedule(ref: str, _admin: CatalogWriter, session: WriteSession) -> None:
    """Policy steps that target it then page nobody for it (their other targets still page)."""
    await session.delete(await service.get_schedule(session=session, ref=ref))


@router.delete("/schedules/{ref}/overrides/{override_id}", status_code=204)
async def delete_override(ref: str, override_id: int, _user: IncidentWriter, session: WriteSession) -> None:
    schedule = await service.get_schedule(session=session, ref=ref)
    await session.delete(
        await service.get_override(session=session, schedule=schedule, override_id=override_id)
    )


@router.get("/me/shifts", response_model=list[SpanOut])
async def my_shifts(
    user: CurrentUser,
    session: ReadSession,
    context: ContextDep,
    days: Annotated[int, Query(ge=1, le=92)] = 14,
) -> list[SpanOut]:
    """My upcoming on-call shifts across every schedule (source: the schedule's slug)."""
    now = context.clock.now()
    shifts = []
    for schedule in await service.list_schedules(session=session):
        spans = await service.final_schedule(
            session=session, schedule=schedule, start=now, end=now + timedelta(days=days)
        )
        shifts += [
            SpanOut(start=s.start, end=s.end, user=user.email, source=schedule.slug)
            for s in spans
            if s.user == str(user.id)
        ]
    return sorted(shifts, key=lambda span: span.start)


@router.get("/oncall", response_model=list[OnCallOut])
async def who_is_on_call(
    _user: InternalReader, session: ReadSession, context: ContextDep, at: datetime | None = None
) -> list[OnCallOut]:
    moment = at or context.clock.now()
    names = await _names(session)
    out = []
    for schedule in await service.list_schedules(session=session):
        span = await service.on_call_at(session=session, schedule=schedule, at=moment)
        out.append(
            OnCallOut(
                schedule=schedule.slug,
                user=names.get(span.user or "", span.user),
                source=span.source,
                until=span.end,
            )
        )
    return out


ICAL = media_response("text/calendar", "An iCalendar feed")


@feeds.get(
    "/ical/schedules/{token}.ics",
    summary="A schedule's iCal feed (the token is the secret)",
    response_class=Response,
    responses=ICAL,
)
async def schedule_feed(token: str, session: ReadSession, context: ContextDep) -> Response:
    schedule = await session.scalar(select(Schedule).where(Schedule.ical_token == token))
    if schedule is None:
        raise NotFound("no such feed")
    now = context.clock.now()
    spans = await service.final_schedule(
        session=session, schedule=schedule, start=now - timedelta(days=7), end=now + timedelta(days=60)
    )
    names = await _names(session)
    named = [type(s)(s.start, s.end, names.get(s.user or "", s.user), s.source) for s in spans]
    body = ical.schedule_ical(named, schedule.name, f"warroom-{schedule.slug}")
    return Response(body, media_type="text/calendar")


def user_feed_token(secret: str, user_id: int) -> str:
    """The per-user feed's secret: derived, so nothing is stored; it changes if the server's key does."""
    return hmac.new(secret.encode(), f"ical:user:{user_id}".encode(), hashlib.sha256).hexdigest()[:40]


@router.get("/me/ical", summary="The URL of my on-call shifts as an iCal feed")
async def my_feed(user: CurrentUser, context: ContextDep) -> dict[str, str]:
    token = user_feed_token(context.settings.ensure_secret_key().get_secret_value(), user.id)
    return {"ical_url": f"{context.settings.resolved_base_url()}/ical/users/{user.id}/{token}.ics"}


@feeds.get(
    "/ical/users/{user_id}/{token}.ics",
    summary="A person's on-call shifts across every schedule",
    response_class=Response,
    responses=ICAL,
)
async def user_feed(user_id: int, token: str, session: ReadSession, context: ContextDep) -> Response:
    expected = user_feed_token(context.settings.ensure_secret_key().get_secret_value(), user_id)
    user = await session.get(User, user_id)
    if user is None or not hmac.compare_digest(token, expected):
        raise NotFound("no such feed")
    now = context.clock.now()
    shifts = []
    for schedule in await service.list_schedules(session=session):
        spans = await service.final_schedule(
            session=session, schedule=schedule, start=now - timedelta(days=7), end=now + timedelta(days=60)
        )
        shifts += [
            type(s)(s.start, s.end, user.email, schedule.slug) for s in spans if s.user == str(user_id)
        ]
    body = ical.user_ical(shifts, user.email, f"On call: {user.email}", f"warroom-user-{user_id}")
    return Response(body, media_type="text/calendar")
