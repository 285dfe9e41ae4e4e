"""An incident's blast radius: upstream, what its services depend on that has open alerts or incidents (the
likely cause); downstream, what depends on its services (likely affected), offered to add to the incident.
"Is the whole site down, or just the payment gateway?" Other incidents are named only if the viewer may see
them; a hidden one is counted, never named."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert
from warroom.catalog.dependencies import edges, reachable
from warroom.catalog.models import Service
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident, IncidentService
from warroom.incidents.visibility import Viewer, visible_to

OPEN = ("triggered", "acknowledged")


@dataclass
class Neighbour:
    service: str  # its slug
    name: str
    depth: int  # 1: a direct dependency (or dependant)
    open_alerts: int = 0
    incidents: list[str] = field(default_factory=list)  # open incidents the viewer may see
    hidden_incidents: int = 0  # open incidents the viewer may not see: counted, not named
    in_incident: bool = False


async def _open_alerts(session: AsyncSession, ids: list[int]) -> dict[int, int]:
    query = (
        select(Alert.service_id, func.count())
        .where(Alert.service_id.in_(ids), Alert.status.in_(OPEN))
        .group_by(Alert.service_id)
    )
    rows = (await session.execute(query)).all()
    return {service_id: count for service_id, count in rows if service_id is not None}


async def _open_incidents(
    session: AsyncSession, ids: list[int], incident: Incident, viewer: Viewer
) -> tuple[dict[int, list[str]], Counter[int]]:
    base = (
        select(IncidentService.service_id, Incident.id)
        .join(Incident, Incident.id == IncidentService.incident_id)
        .where(IncidentService.service_id.in_(ids), Incident.status == "active", Incident.id != incident.id)
    )
    seen = {(s, i) for s, i in (await session.execute(base.where(visible_to(viewer)))).all()}
    named: dict[int, list[str]] = {}
    for service_id, incident_id in sorted(seen):
        named.setdefault(service_id, []).append(incident_ref(incident_id))
    hidden: Counter[int] = Counter(s for s, i in (await session.execute(base)).all() if (s, i) not in seen)
    return named, hidden


async def blast_radius(
    *, session: AsyncSession, incident: Incident, viewer: Viewer
) -> tuple[list[Neighbour], list[Neighbour]]:
    """(upstream with open alerts or incidents, downstream), nearest first."""
    own = list((await session.scalars(
        select(IncidentService.service_id).where(IncidentService.incident_id == incident.id)
    )).all())  # fmt: skip
    graph = await edges(session)
    up = reachable(own, graph)
    down = reachable(own, [(b, a) for a, b in graph])
    ids = sorted(set(up) | set(down))
    if not ids:
        return [], []
    services = {s.id: s for s in (await session.scalars(select(Service).where(Service.id.in_(ids)))).all()}
    alerts = await _open_alerts(session, ids)
    named, hidden = await _open_incidents(session, ids, incident, viewer)

    def neighbour(service_id: int, depth: int) -> Neighbour:
        row = services[service_id]
        return Neighbour(row.slug, row.name, depth, alerts.get(service_id, 0), named.get(service_id, []),
                         hidden[service_id], service_id in own)  # fmt: skip

    upstream = [neighbour(i, d) for i, d in sorted(up.items(), key=lambda x: (x[1], services[x[0]].slug))]
    downstream = [neighbour(i, d) for i, d in sorted(down.items(), key=lambda x: (x[1], services[x[0]].slug))]
    troubled = [n for n in upstream if n.open_alerts or n.incidents or n.hidden_incidents]
    return troubled, downstream
