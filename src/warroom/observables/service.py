"""Observables on an incident: added by hand or in bulk, extracted from its alerts, merged by normal form, and
kept from leaving the response team when their TLP says so. The caller holds the incident's row lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert
from warroom.auth.models import User
from warroom.errors import FieldProblem, InvalidInput, NotFound
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.observables import domain
from warroom.observables.extract import extract
from warroom.observables.models import Asset, Observable
from warroom.observables.schemas import ObservableAdd, ObservablePatch, Refused
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

MANUAL = "added by hand"


@dataclass
class Added:
    added: list[Observable] = field(default_factory=list)
    merged: list[Observable] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def default_tlp(incident: Incident) -> str:
    """Amber (the response team and who it must tell) on a restricted incident; green otherwise."""
    return "amber" if incident.restricted else "green"


def _lines(data: ObservableAdd) -> list[tuple[int, str | None, str]]:
    if data.text is not None:
        return [(number, None, line) for number, line in enumerate(data.text.splitlines(), start=1)]
    if data.value is None:
        raise InvalidInput(
            "give a value (with its type) or a pasted text", [FieldProblem("value", "required")]
        )
    return [(1, data.type, data.value)]


def _parse(kind: str | None, raw: str) -> tuple[str, str] | None:
    if kind is None:
        parsed = domain.parse_line(raw)
        if parsed is None:
            return None
        kind, raw = parsed
    return kind, domain.normalise(kind, raw)


async def _existing(session: AsyncSession, incident_id: int, kind: str, value: str) -> Observable | None:
    query = select(Observable).where(
        Observable.incident_id == incident_id, Observable.type == kind, Observable.value == value
    )
    return await session.scalar(query)


async def _asset(session: AsyncSession, asset_id: int | None) -> int | None:
    if asset_id is None or asset_id == 0:
        return None
    if await session.get(Asset, asset_id) is None:
        raise InvalidInput(f"asset: no asset {asset_id}", [FieldProblem("asset", f"no asset {asset_id}")])
    return asset_id


async def upsert(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    value: str,
    now: datetime,
    **fields: Any,
) -> tuple[Observable, bool]:
    """The incident's observable of this normal form, made or (if already there) seen again now."""
    found = await _existing(session, incident.id, kind, value)
    if found is not None:
        found.last_seen = max(found.last_seen, now)
        return found, False
    made = Observable(
        incident_id=incident.id, type=kind, value=value, first_seen=now, last_seen=now, **fields
    )
    session.add(made)
    await session.flush()
    return made, True


def _shown(items: Sequence[Observable]) -> list[dict[str, str]]:
    return [{"type": o.type, "value": o.value, "tlp": o.tlp} for o in items]


async def add(
    *, session: AsyncSession, actor: User, incident: Incident, data: ObservableAdd, now: datetime
) -> Added:
    """Add one or a pasted list; what is already there is merged (last seen), what is not valid refused with
    its line and the reason. Nothing valid at all is a 422."""
    result = Added()
    asset_id = await _asset(session, data.asset)
    tags = sorted({t.strip() for t in data.tags if t.strip()})[:20]
    options: dict[str, Any] = {"tlp": data.tlp or default_tlp(incident), "pap": data.pap, "ioc": data.ioc,
               "sighted": data.sighted, "tags": tags, "note": data.note, "source": MANUAL,
               "asset_id": asset_id, "added_by_id": actor.id}  # fmt: skip
    for number, kind, raw in _lines(data):
        try:
            parsed = _parse(kind, raw)
        except domain.NotAnObservable as error:
            result.refused.append(Refused(line=number, value=raw.strip()[:200], problem=str(error)))
            continue
        if parsed is not None:
            row, made = await upsert(session, incident, *parsed, now, **options)
            (result.added if made else result.merged).append(row)
    if not result.added and not result.merged:
        first = result.refused[0].problem if result.refused else "nothing to add"
        raise InvalidInput(f"value: {first}", [FieldProblem("value", r.problem) for r in result.refused[:20]])
    if result.added:
        await record(session, incident, actor, EventKind.observable_added, now, items=_shown(result.added),
                     source=MANUAL)  # fmt: skip
        incident.updated_at = now
    return result


async def get(session: AsyncSession, incident: Incident, observable_id: int) -> Observable:
    found = await session.get(Observable, observable_id)
    if found is None or found.incident_id != incident.id:
        raise NotFound(f"no observable {observable_id} on {incident_ref(incident.id)}")
    return found


async def change(
    *,
    session: AsyncSession,
    actor: User,
    incident: Incident,
    item: Observable,
    patch: ObservablePatch,
    now: datetime,
) -> Observable:
    changes: dict[str, Any] = {}
    for name in ("tlp", "pap", "ioc", "sighted", "note"):
        new = getattr(patch, name)
        if new is not None and new != getattr(item, name):
            setattr(item, name, new)
            changes[name] = new
    if patch.tags is not None:
        item.tags = changes["tags"] = sorted({t.strip() for t in patch.tags if t.strip()})[:20]
    if patch.asset is not None:
        item.asset_id = changes["asset"] = await _asset(session, patch.asset)
    if changes:
        await record(session, incident, actor, EventKind.observable_changed, now, id=item.id, type=item.type,
                     value=item.value, tlp=item.tlp, changes=changes)  # fmt: skip
        incident.updated_at = now
    await session.flush()
    return item


async def remove(
    *, session: AsyncSession, actor: User, incident: Incident, item: Observable, now: datetime
) -> None:
    await record(session, incident, actor, EventKind.observable_removed, now, id=item.id, type=item.type,
                 value=item.value, tlp=item.tlp)  # fmt: skip
    await session.delete(item)
    incident.updated_at = now
    await session.flush()


async def list_for(session: AsyncSession, incident_id: int) -> list[Observable]:
    query = select(Observable).where(Observable.incident_id == incident_id).order_by(Observable.id)
    return list((await session.scalars(query)).all())


def alert_payload(alert: Alert) -> dict[str, Any]:
    return payload_of(alert.labels, alert.details, alert.title, alert.description)


def payload_of(labels: Any, details: Any, title: str, description: str | None) -> dict[str, Any]:
    """What observables are extracted from: an alert's labels, details, title and description."""
    return {
        "labels": labels or {},
        "details": details or {},
        "title": title,
        "description": description or "",
    }


async def take_from_alert(
    session: AsyncSession, incident: Incident, alert: Alert, now: datetime
) -> list[Observable]:
    """The observables in an alert's payload, onto the incident it joined (at the incident's default TLP)."""
    added = []
    for found in extract(alert_payload(alert)):
        source = f"alert #{alert.id} ({found.where})"[:100]
        row, made = await upsert(session, incident, found.type, found.value, now, tlp=default_tlp(incident),
                                 pap="amber", tags=[], note="", source=source, alert_id=alert.id)  # fmt: skip
        if made:
            added.append(row)
    if added:
        await record(session, incident, "warroom", EventKind.observable_added, now, items=_shown(added),
                     source=f"alert #{alert.id}")  # fmt: skip
    return added


async def check_outgoing(session: AsyncSession, incident_id: int, text: str, where: str) -> None:
    """Refuse text bound outside the response team (a stakeholder update, the status page) that carries an
    observable of this incident whose TLP keeps it inside (amber, amber+strict, red)."""
    lowered = domain.refang(text).lower()
    for item in await list_for(session, incident_id):
        if not domain.may_leave(item.tlp) and item.value.lower() in lowered:
            problem = (
                f"{item.type} {item.value} is TLP:{item.tlp.upper()} on {incident_ref(incident_id)}: it may "
                f"not go into {where}; leave it out, or mark it TLP:CLEAR or GREEN first"
            )
            raise InvalidInput(f"body: {problem}", [FieldProblem("body", problem)])
