"""Schedules (layers, overrides): store and change them, and answer "who is on call" from the pure maths.

Escalation policies are in `policy_service`. Callers commit.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.auth.service import resolve_user
from warroom.errors import Conflict, NotFound, invalid
from warroom.inbound import is_digits, primary_key
from warroom.oncall import domain, ical
from warroom.oncall.models import Schedule, ScheduleLayer, ScheduleOverride
from warroom.oncall.schemas import (
    LayerIn,
    LayerPatch,
    OverrideCreate,
    OverridePatch,
    RestrictionIn,
    ScheduleCreate,
    SchedulePatch,
)

LAYER_COLUMNS = ("name", "priority", "start", "end", "shift_length", "shift_unit", "time_zone")


async def user_ref_id(session: AsyncSession, ref: str, field: str) -> int:
    try:
        return (await resolve_user(session=session, ref=ref)).id
    except NotFound as error:
        raise invalid(field, error.detail) from None


def rotation_of(layer: ScheduleLayer) -> domain.Rotation:
    restrictions = tuple(
        domain.Restriction(
            tuple(r["days"]),
            datetime.fromisoformat(f"2000-01-01T{r['start']}").time(),
            datetime.fromisoformat(f"2000-01-01T{r['end']}").time(),
        )
        for r in layer.restrictions
    )
    return domain.Rotation(
        participants=tuple(str(p) for p in layer.participant_ids),
        start=layer.start,
        shift_length=layer.shift_length,
        shift_unit=layer.shift_unit,  # type: ignore[arg-type]
        time_zone=layer.time_zone,
        restrictions=restrictions,
        end=layer.end,
    )


def _check_zone(field: str, name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise invalid(
            field, f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'"
        ) from None


def _restrictions(restrictions: list[RestrictionIn]) -> list[dict[str, Any]]:
    return [{"days": r.days, "start": r.start.isoformat(), "end": r.end.isoformat()} for r in restrictions]


async def _participant_ids(session: AsyncSession, refs: list[str], field: str) -> list[int]:
    return [await user_ref_id(session, ref, field) for ref in refs]


async def _layer_row(session: AsyncSession, schedule_id: int, data: LayerIn, index: int) -> ScheduleLayer:
    participants = await _participant_ids(session, data.participants, f"layers[{index}].participants")
    row = ScheduleLayer(
        schedule_id=schedule_id,
        name=data.name,
        priority=data.priority,
        participant_ids=participants,
        start=data.start,
        end=data.end,
        shift_length=data.shift_length,
        shift_unit=data.shift_unit,
        time_zone=data.time_zone,
        restrictions=_restrictions(data.restrictions),
    )
    try:
        rotation_of(row)
    except ValueError as error:
        raise invalid(f"layers[{index}]", str(error)) from None
    return row


async def create_schedule(*, session: AsyncSession, data: ScheduleCreate, now: datetime) -> Schedule:
    if await session.scalar(select(Schedule).where(Schedule.slug == data.slug)) is not None:
        raise Conflict(f"a schedule {data.slug!r} already exists")
    _check_zone("time_zone", data.time_zone)
    schedule = Schedule(
        slug=data.slug,
        name=data.name,
        time_zone=data.time_zone,
        ical_token=secrets.token_urlsafe(24),
        created_at=now,
    )
    names = [layer.name for layer in data.layers]
    if len(set(names)) != len(names):
        raise invalid("layers", "layer names must be unique within a schedule")
    session.add(schedule)
    await session.flush()
    for index, layer in enumerate(data.layers):
        session.add(await _layer_row(session, schedule.id, layer, index))
    await session.flush()
    return schedule


async def update_schedule(*, session: AsyncSession, schedule: Schedule, patch: SchedulePatch) -> Schedule:
    changes = patch.changes()
    if "time_zone" in changes:
        _check_zone("time_zone", changes["time_zone"])
    slug = changes.get("slug", schedule.slug)
    if slug != schedule.slug and await session.scalar(select(Schedule.id).where(Schedule.slug == slug)):
        raise Conflict(f"a schedule {slug!r} already exists")
    for name, value in changes.items():
        setattr(schedule, name, value)
    await session.flush()
    return schedule


async def _check_layer_name(session: AsyncSession, schedule: Schedule, name: str) -> None:
    taken = await session.scalar(
        select(ScheduleLayer.id).where(ScheduleLayer.schedule_id == schedule.id, ScheduleLayer.name == name)
    )
    if taken is not None:
        raise Conflict(f"schedule {schedule.slug} already has a layer named {name!r}")


async def add_layer(*, session: AsyncSession, schedule: Schedule, data: LayerIn) -> ScheduleLayer:
    await _check_layer_name(session, schedule, data.name)
    row = await _layer_row(session, schedule.id, data, 0)
    session.add(row)
    await session.flush()
    return row


async def get_layer(*, session: AsyncSession, schedule: Schedule, layer_id: int) -> ScheduleLayer:
    layer = await session.get(ScheduleLayer, layer_id)
    if layer is None or layer.schedule_id != schedule.id:
        raise NotFound(f"no layer {layer_id} in schedule {schedule.slug}")
    return layer


async def update_layer(
    *, session: AsyncSession, schedule: Schedule, layer: ScheduleLayer, patch: LayerPatch
) -> ScheduleLayer:
    """Change the fields sent; the layer as a whole is checked (a valid rotation) before anything changes."""
    changes = patch.changes()
    if changes.get("name", layer.name) != layer.name:
        await _check_layer_name(session, schedule, changes["name"])
    values: dict[str, Any] = {name: changes.get(name, getattr(layer, name)) for name in LAYER_COLUMNS}
    values["participant_ids"] = (
        await _participant_ids(session, changes["participants"], "participants")
        if "participants" in changes
        else layer.participant_ids
    )
    values["restrictions"] = (
        _restrictions(changes["restrictions"]) if "restrictions" in changes else layer.restrictions
    )
    try:
        rotation_of(ScheduleLayer(schedule_id=schedule.id, **values))
    except ValueError as error:
        raise invalid("body", str(error)) from None
    for name, value in values.items():
        setattr(layer, name, value)
    await session.flush()
    return layer


async def delete_layer(*, session: AsyncSession, layer: ScheduleLayer) -> None:
    await session.delete(layer)
    await session.flush()


async def get_schedule(*, session: AsyncSession, ref: str) -> Schedule:
    by_id = Schedule.id == (primary_key(ref) or -1)
    query = select(Schedule).where(by_id if is_digits(ref) else Schedule.slug == ref)
    schedule = await session.scalar(query)
    if schedule is None:
        raise NotFound(f"no schedule {ref!r}")
    return schedule


async def add_override(
    *, session: AsyncSession, schedule: Schedule, data: OverrideCreate, actor: str, now: datetime
) -> ScheduleOverride:
    _check_window(data.starts_at, data.ends_at)
    row = ScheduleOverride(
        schedule_id=schedule.id,
        user_id=await user_ref_id(session, data.user, "user"),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise invalid("ends_at", "must be after starts_at")


async def get_override(*, session: AsyncSession, schedule: Schedule, override_id: int) -> ScheduleOverride:
    override = await session.get(ScheduleOverride, override_id)
    if override is None or override.schedule_id != schedule.id:
        raise NotFound(f"no override {override_id} on {schedule.slug}")
    return override


async def list_overrides(
    *, session: AsyncSession, schedule: Schedule, since: datetime
) -> list[ScheduleOverride]:
    """The schedule's overrides that end after `since`, earliest first."""
    query = (
        select(ScheduleOverride)
        .where(ScheduleOverride.schedule_id == schedule.id, ScheduleOverride.ends_at > since)
        .order_by(ScheduleOverride.starts_at, ScheduleOverride.id)
    )
    return list((await session.scalars(query)).all())


async def update_override(
    *, session: AsyncSession, override: ScheduleOverride, patch: OverridePatch
) -> ScheduleOverride:
    changes = patch.changes()
    starts_at = changes.get("starts_at", override.starts_at)
    ends_at = changes.get("ends_at", override.ends_at)
    _check_window(starts_at, ends_at)
    if "user" in changes:
        override.user_id = await user_ref_id(session, changes["user"], "user")
    override.starts_at, override.ends_at = starts_at, ends_at
    await session.flush()
    return override


async def schedule_model(*, session: AsyncSession, schedule_id: int, around: datetime) -> domain.Schedule:
    """The schedule as the pure maths sees it (users as their ids, as text)."""
    layers = (
        await session.scalars(select(ScheduleLayer).where(ScheduleLayer.schedule_id == schedule_id))
    ).all()
    overrides = (
        await session.scalars(
            select(ScheduleOverride).where(
                ScheduleOverride.schedule_id == schedule_id,
                ScheduleOverride.ends_at > around - timedelta(days=400),
            )
        )
    ).all()
    return domain.Schedule(
        layers=tuple(domain.Layer(layer.name, layer.priority, rotation_of(layer)) for layer in layers),
        overrides=tuple(domain.Override(str(o.user_id), o.starts_at, o.ends_at) for o in overrides),
    )


async def on_call_at(*, session: AsyncSession, schedule: Schedule, at: datetime) -> domain.Span:
    model = await schedule_model(session=session, schedule_id=schedule.id, around=at)
    return domain.on_call_at(model, at)


async def final_schedule(
    *, session: AsyncSession, schedule: Schedule, start: datetime, end: datetime
) -> list[domain.Span]:
    model = await schedule_model(session=session, schedule_id=schedule.id, around=start)
    return domain.final_schedule(model, start, end)


async def list_schedules(*, session: AsyncSession) -> list[Schedule]:
    return list((await session.scalars(select(Schedule).order_by(Schedule.slug))).all())


async def import_overrides(
    *, session: AsyncSession, schedule: Schedule, calendar: bytes, actor: str, now: datetime
) -> tuple[int, list[str]]:
    """Overrides from an iCal file (summary or attendee naming a user's email); returns (created, skipped)."""
    users = {u.email: str(u.id) for u in (await session.scalars(select(User))).all()}

    def user_for(text: str) -> str | None:
        text = text.strip().lower().removeprefix("mailto:")
        return users.get(text) or next((uid for email, uid in users.items() if email in text), None)

    try:
        overrides, skipped = ical.parse_overrides(calendar, user_for, default_zone=schedule.time_zone)
    except ValueError as error:
        raise invalid("body", str(error)) from None
    for override in overrides:
        session.add(
            ScheduleOverride(
                schedule_id=schedule.id,
                user_id=int(override.user),
                starts_at=override.start,
                ends_at=override.end,
                created_by=actor,
                created_at=now,
            )
        )
    await session.flush()
    return len(overrides), skipped


async def schedule_models(
    *, session: AsyncSession, around: datetime
) -> list[tuple[Schedule, domain.Schedule]]:
    """Every schedule with its model for the pure maths near `around`, in three queries in all."""
    schedules = await list_schedules(session=session)
    layers = (await session.scalars(select(ScheduleLayer).order_by(ScheduleLayer.id))).all()
    overrides = (
        await session.scalars(
            select(ScheduleOverride)
            .where(
                ScheduleOverride.starts_at <= around + domain.DEFAULT_HORIZON,
                ScheduleOverride.ends_at > around - domain.DEFAULT_HORIZON,
            )
            .order_by(ScheduleOverride.id)
        )
    ).all()
    return [
        (
            schedule,
            domain.Schedule(
                layers=tuple(
                    domain.Layer(layer.name, layer.priority, rotation_of(layer))
                    for layer in layers
                    if layer.schedule_id == schedule.id
                ),
                overrides=tuple(
                    domain.Override(str(o.user_id), o.starts_at, o.ends_at)
                    for o in overrides
                    if o.schedule_id == schedule.id
                ),
            ),
        )
        for schedule in schedules
    ]


async def on_call_everywhere(*, session: AsyncSession, at: datetime) -> list[tuple[Schedule, domain.Span]]:
    """Who is on call at `at` on every schedule, in three queries however many schedules there are."""
    return [
        (schedule, domain.on_call_at(model, at))
        for schedule, model in await schedule_models(session=session, around=at)
    ]
