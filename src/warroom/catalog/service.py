"""The service catalog. Functions flush; the caller commits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import Team
from warroom.catalog.models import Service
from warroom.errors import Conflict, NotFound, invalid
from warroom.oncall.models import EscalationPolicy

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


async def create_service(
    *,
    session: AsyncSession,
    slug: str,
    name: str,
    now: datetime,
    description: str = "",
    team_slug: str | None = None,
    cost_per_minute: float | None = None,
) -> Service:
    if not SLUG_PATTERN.match(slug):
        raise invalid("slug", "use lower-case letters, digits and dashes (at most 64)")
    if await session.scalar(select(Service).where(Service.slug == slug)) is not None:
        raise Conflict(f"a service with slug {slug!r} already exists")
    team_id = None
    if team_slug is not None:
        team = await session.scalar(select(Team).where(Team.slug == team_slug))
        if team is None:
            raise invalid("team", f"no team {team_slug!r}")
        team_id = team.id
    service = Service(
        slug=slug, name=name, description=description, team_id=team_id, cost_per_minute=cost_per_minute,
        created_at=now,
    )  # fmt: skip
    session.add(service)
    await session.flush()
    return service


async def list_services(*, session: AsyncSession) -> list[Service]:
    return list((await session.scalars(select(Service).order_by(Service.slug))).all())


async def get_service(*, session: AsyncSession, slug: str) -> Service:
    service = await session.scalar(select(Service).where(Service.slug == slug))
    if service is None:
        raise NotFound(f"no service {slug!r}")
    return service


async def services_by_slug(*, session: AsyncSession, slugs: Sequence[str], field: str) -> list[Service]:
    """Every named service, or one error naming all the unknown ones."""
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        return []
    found = {
        s.slug: s for s in (await session.scalars(select(Service).where(Service.slug.in_(wanted)))).all()
    }
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        raise invalid(field, f"unknown service(s): {', '.join(missing)}")
    return [found[slug] for slug in wanted]


async def _team_id(session: AsyncSession, team_slug: str | None) -> int | None:
    if not team_slug:
        return None
    team = await session.scalar(select(Team.id).where(Team.slug == team_slug))
    if team is None:
        raise invalid("team", f"no team {team_slug!r}")
    return team


async def _policy_id(session: AsyncSession, policy_slug: str | None) -> int | None:
    if not policy_slug:
        return None
    policy = await session.scalar(select(EscalationPolicy.id).where(EscalationPolicy.slug == policy_slug))
    if policy is None:
        raise invalid("policy", f"no escalation policy {policy_slug!r}")
    return policy


def _cost(text: str) -> float | None:
    if not text.strip():
        return None
    try:
        cost = float(text)
    except ValueError:
        raise invalid("cost_per_minute", "a number, such as 120 or 85.50") from None
    if cost < 0 or cost != cost or cost == float("inf"):
        raise invalid("cost_per_minute", "zero or more")
    return cost


async def update_service(
    *,
    session: AsyncSession,
    service: Service,
    name: str,
    description: str,
    team_slug: str | None,
    policy_slug: str | None,
    cost_per_minute: str = "",
) -> Service:
    """Replace the editable fields (a web form sends them all); an empty team, policy or cost clears it."""
    if not name.strip():
        raise invalid("name", "is required")
    service.team_id = await _team_id(session, team_slug)
    service.escalation_policy_id = await _policy_id(session, policy_slug)
    service.name, service.description = name.strip(), description
    service.cost_per_minute = _cost(cost_per_minute)
    await session.flush()
    return service


@dataclass(frozen=True)
class ServiceRow:
    service: Service
    team_slug: str | None
    team_name: str | None
    policy_slug: str | None
    policy_name: str | None


async def service_rows(*, session: AsyncSession) -> list[ServiceRow]:
    """Every service with its owning team and escalation policy, in one query."""
    query = (
        select(Service, Team.slug, Team.name, EscalationPolicy.slug, EscalationPolicy.name)
        .outerjoin(Team, Team.id == Service.team_id)
        .outerjoin(EscalationPolicy, EscalationPolicy.id == Service.escalation_policy_id)
        .order_by(Service.slug)
    )
    return [ServiceRow(*row) for row in (await session.execute(query)).all()]
