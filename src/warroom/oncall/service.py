"""Schedules and escalation policies: store them, and answer "who is on call" from the pure maths."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import Team, TeamMember, User
from warroom.auth.service import resolve_user
from warroom.catalog.models import Service
from warroom.errors import Conflict, NotFound, invalid
from warroom.oncall import domain, ical
from warroom.oncall.models import EscalationPolicy, EscalationStep, Schedule, ScheduleLayer, ScheduleOverride
from warroom.oncall.schemas import LayerIn, OverrideCreate, PolicyCreate, ScheduleCreate


async def _user_id(session: AsyncSession, ref: str, field: str) -> int:
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


async def _layer_row(session: AsyncSession, schedule_id: int, data: LayerIn, index: int) -> ScheduleLayer:
    participants = [
        await _user_id(session, ref, f"layers[{index}].participants") for ref in data.participants
    ]
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
        restrictions=[
            {"days": r.days, "start": r.start.isoformat(), "end": r.end.isoformat()}
            for r in data.restrictions
        ],
    )
    try:
        rotation_of(row)
    except ValueError as error:
        raise invalid(f"layers[{index}]", str(error)) from None
    return row


async def create_schedule(*, session: AsyncSession, data: ScheduleCreate, now: datetime) -> Schedule:
    if await session.scalar(select(Schedule).where(Schedule.slug == data.slug)) is not None:
        raise Conflict(f"a schedule {data.slug!r} already exists")
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


async def add_layer(*, session: AsyncSession, schedule: Schedule, data: LayerIn) -> ScheduleLayer:
    taken = await session.scalar(
        select(ScheduleLayer.id).where(
            ScheduleLayer.schedule_id == schedule.id, ScheduleLayer.name == data.name
        )
    )
    if taken is not None:
        raise Conflict(f"schedule {schedule.slug} already has a layer named {data.name!r}")
    row = await _layer_row(session, schedule.id, data, 0)
    session.add(row)
    await session.flush()
    return row


async def get_schedule(*, session: AsyncSession, ref: str) -> Schedule:
    query = select(Schedule).where(Schedule.id == int(ref) if ref.isdigit() else Schedule.slug == ref)
    schedule = await session.scalar(query)
    if schedule is None:
        raise NotFound(f"no schedule {ref!r}")
    return schedule


async def add_override(
    *, session: AsyncSession, schedule: Schedule, data: OverrideCreate, actor: str, now: datetime
) -> ScheduleOverride:
    if data.ends_at <= data.starts_at:
        raise invalid("ends_at", "must be after starts_at")
    row = ScheduleOverride(
        schedule_id=schedule.id,
        user_id=await _user_id(session, data.user, "user"),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


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


async def _target(session: AsyncSession, target: dict[str, str], field: str) -> dict[str, Any]:
    kind, ref = target.get("type"), target.get("ref", "")
    if kind == "user":
        return {"type": "user", "id": await _user_id(session, ref, field)}
    model: Any = {"schedule": Schedule, "team": Team}.get(kind or "")
    if model is None:
        raise invalid(field, "type must be user, schedule or team")
    found = await session.scalar(select(model.id).where(model.slug == ref))
    if found is None:
        raise invalid(field, f"no {kind} {ref!r}")
    return {"type": kind, "id": found}


async def create_policy(*, session: AsyncSession, data: PolicyCreate, now: datetime) -> EscalationPolicy:
    if await session.scalar(select(EscalationPolicy).where(EscalationPolicy.slug == data.slug)) is not None:
        raise Conflict(f"an escalation policy {data.slug!r} already exists")
    policy = EscalationPolicy(
        slug=data.slug,
        name=data.name,
        repeat=data.repeat,
        unack_timeout_seconds=data.unack_timeout_seconds,
        created_at=now,
    )
    session.add(policy)
    await session.flush()
    for position, step in enumerate(data.steps):
        targets = [
            await _target(session, t, f"steps[{position}].targets[{i}]") for i, t in enumerate(step.targets)
        ]
        session.add(
            EscalationStep(
                policy_id=policy.id, position=position, delay_seconds=step.delay_seconds, targets=targets
            )
        )
    if data.services:
        found = (await session.scalars(select(Service.slug).where(Service.slug.in_(data.services)))).all()
        if missing := sorted(set(data.services) - set(found)):
            raise invalid("services", f"unknown service(s): {', '.join(missing)}")
        await session.execute(
            update(Service).where(Service.slug.in_(data.services)).values(escalation_policy_id=policy.id)
        )
    await session.flush()
    return policy


async def policy_steps(*, session: AsyncSession, policy_id: int) -> list[EscalationStep]:
    query = (
        select(EscalationStep).where(EscalationStep.policy_id == policy_id).order_by(EscalationStep.position)
    )
    return list((await session.scalars(query)).all())


async def target_users(*, session: AsyncSession, targets: list[dict[str, Any]], at: datetime) -> list[int]:
    """The people a step pages at `at`: users as named, a schedule's on-call person, a team's members."""
    found: list[int] = []
    for target in targets:
        if target["type"] == "user":
            found.append(int(target["id"]))
        elif target["type"] == "schedule":
            schedule = await session.get(Schedule, int(target["id"]))
            span = await on_call_at(session=session, schedule=schedule, at=at) if schedule else None
            if span is not None and span.user is not None:
                found.append(int(span.user))
        else:
            members = await session.scalars(
                select(TeamMember.user_id).where(TeamMember.team_id == int(target["id"]))
            )
            found.extend(members.all())
    active = set((await session.scalars(select(User.id).where(User.id.in_(found), User.is_active))).all())
    return [u for u in dict.fromkeys(found) if u in active]


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
