"""What services depend on: kept acyclic, walked both ways for an incident's blast radius."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.catalog.models import Service, ServiceDependency
from warroom.errors import invalid

MAX_DEPENDENCIES = 50


async def edges(session: AsyncSession) -> list[tuple[int, int]]:
    """Every (service, depends_on) pair; a catalog is small enough to walk in memory."""
    rows = await session.execute(select(ServiceDependency.service_id, ServiceDependency.depends_on_id))
    return [(a, b) for a, b in rows.all()]


def reachable(start: Iterable[int], edges: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Each service reachable from `start` along `edges` (a -> b), with its distance (start excluded)."""
    graph: dict[int, list[int]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
    seen = dict.fromkeys(start, 0)
    frontier = list(seen)
    while frontier:
        nxt = []
        for node in frontier:
            for target in graph.get(node, []):
                if target not in seen:
                    seen[target] = seen[node] + 1
                    nxt.append(target)
        frontier = nxt
    return {node: depth for node, depth in seen.items() if depth > 0}


async def set_dependencies(*, session: AsyncSession, service: Service, slugs: list[str]) -> list[Service]:
    """Replace what `service` depends on; refuses unknown services, itself, and anything making a cycle."""
    wanted = list(dict.fromkeys(s.strip() for s in slugs if s.strip()))
    if len(wanted) > MAX_DEPENDENCIES:
        raise invalid("depends_on", f"at most {MAX_DEPENDENCIES} dependencies")
    found = {
        s.slug: s for s in (await session.scalars(select(Service).where(Service.slug.in_(wanted)))).all()
    }
    missing = [s for s in wanted if s not in found]
    if missing:
        raise invalid("depends_on", f"no service {', '.join(missing)}")
    if service.slug in found:
        raise invalid("depends_on", f"{service.slug} cannot depend on itself")
    others = [(a, b) for a, b in await edges(session) if a != service.id]
    for slug, target in found.items():
        if service.id in reachable([target.id], others):
            raise invalid("depends_on", f"{slug} already depends on {service.slug}: that would be a cycle")
    await session.execute(delete(ServiceDependency).where(ServiceDependency.service_id == service.id))
    session.add_all(ServiceDependency(service_id=service.id, depends_on_id=found[s].id) for s in wanted)
    await session.flush()
    return [found[s] for s in wanted]


async def depends_on(*, session: AsyncSession, service: Service) -> list[Service]:
    query = (
        select(Service)
        .join(ServiceDependency, ServiceDependency.depends_on_id == Service.id)
        .where(ServiceDependency.service_id == service.id)
        .order_by(Service.slug)
    )
    return list((await session.scalars(query)).all())
