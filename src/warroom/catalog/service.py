"""The service catalog. Functions flush; the caller commits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import Team
from warroom.catalog.models import Service
from warroom.errors import Conflict, NotFound, invalid

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


async def create_service(
    *,
    session: AsyncSession,
    slug: str,
    name: str,
    now: datetime,
    description: str = "",
    team_slug: str | None = None,
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
    service = Service(slug=slug, name=name, description=description, team_id=team_id, created_at=now)
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
