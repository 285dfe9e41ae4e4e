"""Escalation policies: create, read, change, and whom a step pages. Callers commit.

Changing a policy while alerts are being paged through it: a running escalation keeps its place (the index of
its next step, and its round) and walks the new steps from there. The next step already scheduled still runs
when it was due (its wait came from the old steps); later waits come from the new steps. If the new policy is
shorter than that index, the escalation pages the new last step (the most senior people) instead of stopping
silently: see `paging.engine.run_step`. A lower `repeat` ends a walk after its current round; a new
`unack_timeout_seconds` applies from the next acknowledgement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import Team, TeamMember, User
from warroom.catalog.models import Service
from warroom.errors import Conflict, NotFound, invalid
from warroom.oncall.models import EscalationPolicy, EscalationStep, Schedule
from warroom.oncall.schemas import PolicyCreate, PolicyPatch, StepIn
from warroom.oncall.service import on_call_at, user_ref_id


async def _target(session: AsyncSession, target: dict[str, str], field: str) -> dict[str, Any]:
    kind, ref = target.get("type"), target.get("ref", "")
    if kind == "user":
        return {"type": "user", "id": await user_ref_id(session, ref, field)}
    model: Any = {"schedule": Schedule, "team": Team}.get(kind or "")
    if model is None:
        raise invalid(field, "type must be user, schedule or team")
    found = await session.scalar(select(model.id).where(model.slug == ref))
    if found is None:
        raise invalid(field, f"no {kind} {ref!r}")
    return {"type": kind, "id": found}


async def _step_rows(session: AsyncSession, policy_id: int, steps: list[StepIn]) -> list[EscalationStep]:
    """Every step checked (targets resolved) before any is stored."""
    rows = []
    for position, step in enumerate(steps):
        targets = [
            await _target(session, t, f"steps[{position}].targets[{i}]") for i, t in enumerate(step.targets)
        ]
        rows.append(
            EscalationStep(
                policy_id=policy_id, position=position, delay_seconds=step.delay_seconds, targets=targets
            )
        )
    return rows


async def _service_ids(session: AsyncSession, slugs: list[str]) -> list[int]:
    found = dict(
        (await session.execute(select(Service.slug, Service.id).where(Service.slug.in_(slugs)))).all()
    )
    if missing := sorted(set(slugs) - set(found)):
        raise invalid("services", f"unknown service(s): {', '.join(missing)}")
    return list(found.values())


async def create_policy(*, session: AsyncSession, data: PolicyCreate, now: datetime) -> EscalationPolicy:
    if await session.scalar(select(EscalationPolicy).where(EscalationPolicy.slug == data.slug)) is not None:
        raise Conflict(f"an escalation policy {data.slug!r} already exists")
    services = await _service_ids(session, data.services) if data.services else []
    policy = EscalationPolicy(
        slug=data.slug,
        name=data.name,
        repeat=data.repeat,
        unack_timeout_seconds=data.unack_timeout_seconds,
        created_at=now,
    )
    session.add(policy)
    await session.flush()
    session.add_all(await _step_rows(session, policy.id, data.steps))
    if services:
        await session.execute(
            update(Service).where(Service.id.in_(services)).values(escalation_policy_id=policy.id)
        )
    await session.flush()
    return policy


async def get_policy(*, session: AsyncSession, slug: str) -> EscalationPolicy:
    policy = await session.scalar(select(EscalationPolicy).where(EscalationPolicy.slug == slug))
    if policy is None:
        raise NotFound(f"no escalation policy {slug!r}")
    return policy


async def update_policy(
    *, session: AsyncSession, policy: EscalationPolicy, patch: PolicyPatch
) -> EscalationPolicy:
    """Change what was sent; everything is checked before anything changes (see the module's note on
    escalations already running)."""
    changes = patch.changes()
    steps = await _step_rows(session, policy.id, changes["steps"]) if "steps" in changes else None
    services = await _service_ids(session, changes["services"]) if "services" in changes else None
    for name in ("name", "repeat", "unack_timeout_seconds"):
        if name in changes:
            setattr(policy, name, changes[name])
    if steps is not None:
        await session.execute(delete(EscalationStep).where(EscalationStep.policy_id == policy.id))
        session.add_all(steps)
    if services is not None:
        await session.execute(
            update(Service)
            .where(Service.escalation_policy_id == policy.id, Service.id.not_in(services))
            .values(escalation_policy_id=None)
        )
        await session.execute(
            update(Service).where(Service.id.in_(services)).values(escalation_policy_id=policy.id)
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
    return [user for user, _via in await target_people(session=session, targets=targets, at=at)]


async def target_people(
    *, session: AsyncSession, targets: list[dict[str, Any]], at: datetime
) -> list[tuple[int, str]]:
    """Each active person a step pages at `at`, once, with how the step reached them ("schedule primary,
    layer Weekly", "schedule primary, override", "team sre", "named in the step"): why they were paged."""
    found: list[tuple[int, str]] = []
    for target in targets:
        if target["type"] == "user":
            found.append((int(target["id"]), "named in the step"))
        elif target["type"] == "schedule":
            schedule = await session.get(Schedule, int(target["id"]))
            span = await on_call_at(session=session, schedule=schedule, at=at) if schedule else None
            if schedule is not None and span is not None and span.user is not None:
                how = "override" if span.source == "override" else f"layer {span.source}"
                found.append((int(span.user), f"schedule {schedule.slug}, {how}"))
        else:
            team = await session.get(Team, int(target["id"]))
            members = await session.scalars(
                select(TeamMember.user_id).where(TeamMember.team_id == int(target["id"]))
            )
            found.extend((m, f"team {team.slug if team else target['id']}") for m in members.all())
    ids = [user for user, _via in found]
    active = set((await session.scalars(select(User.id).where(User.id.in_(ids), User.is_active))).all())
    first: dict[int, str] = {}
    for user, via in found:
        if user in active:
            first.setdefault(user, via)
    return list(first.items())
