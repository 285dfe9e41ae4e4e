"""Feeds as the admin keeps them, what they hold, what was sighted, and hunting by hand. Never commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import Team
from warroom.catalog.models import Service
from warroom.errors import Conflict, FieldProblem, InvalidInput, NotFound, invalid
from warroom.intel.domain import lookup_keys
from warroom.intel.models import AlertObservable, Feed, Finding, Indicator, Sighting, Vulnerability
from warroom.intel.schemas import (
    FeedIn,
    FeedOut,
    FeedPatch,
    FindingOut,
    HuntIn,
    HuntOut,
    HuntResult,
    IndicatorOut,
    SightingOut,
)
from warroom.observables.domain import NotAnObservable, guess, normalise
from warroom.observables.models import Asset, Observable
from warroom.procedure.schemas import Procedure

SURFACES = {
    "ip": "network",
    "cidr": "network",
    "domain": "network",
    "url": "network",
    "hostname": "endpoint",
    "email": "email",
    "user": "identity",
    "md5": "endpoint",
    "sha1": "endpoint",
    "sha256": "endpoint",
    "sha512": "endpoint",
    "filename": "endpoint",
    "process": "endpoint",
    "registry_key": "endpoint",
    "cve": "application",
}


def _check_rule(procedure: Procedure, declare_type: str | None, declare_severity: str | None) -> None:
    if declare_type is not None and declare_type not in procedure.type_ids():
        raise invalid(
            "declare_type", f"not an incident type of the procedure ({', '.join(procedure.type_ids())})"
        )
    if declare_severity is not None and declare_severity not in procedure.severity_ids():
        raise invalid(
            "declare_severity", f"not a severity of the procedure ({', '.join(procedure.severity_ids())})"
        )


async def create_feed(*, session: AsyncSession, procedure: Procedure, data: FeedIn, now: datetime) -> Feed:
    if await session.scalar(select(Feed.id).where(Feed.slug == data.slug)) is not None:
        raise Conflict(f"a feed {data.slug!r} exists already", [FieldProblem("slug", "is taken")])
    _check_rule(procedure, data.declare_type, data.declare_severity)
    team_id = None
    if data.team:
        team_id = await session.scalar(select(Team.id).where(Team.slug == data.team))
        if team_id is None:
            raise invalid("team", f"no team {data.team!r}")
    fields = data.model_dump(exclude={"team"})
    feed = Feed(**fields, team_id=team_id, last_counts={}, next_poll_at=now, created_at=now)
    session.add(feed)
    await session.flush()
    return feed


async def get_feed(*, session: AsyncSession, slug: str) -> Feed:
    feed = await session.scalar(select(Feed).where(Feed.slug == slug))
    if feed is None:
        raise NotFound(f"no feed {slug!r}")
    return feed


async def update_feed(*, session: AsyncSession, procedure: Procedure, feed: Feed, patch: FeedPatch) -> None:
    changes = patch.model_dump(exclude_unset=True)
    _check_rule(procedure, changes.get("declare_type"), changes.get("declare_severity"))
    for name, value in changes.items():
        setattr(feed, name, value)
    await session.flush()


async def feeds_out(*, session: AsyncSession) -> list[FeedOut]:
    counts = {
        feed_id: count
        for feed_id, count in await session.execute(
            select(Indicator.feed_id, func.count()).group_by(Indicator.feed_id)
        )
    }
    return [
        FeedOut(
            slug=f.slug,
            name=f.name,
            kind=f.kind,
            url=f.url,
            interval_seconds=f.interval_seconds,
            enabled=f.enabled,
            tlp=f.tlp,
            raise_to=f.raise_to,
            declare_type=f.declare_type,
            declare_severity=f.declare_severity,
            indicators=counts.get(f.id, 0),
            last_polled_at=f.last_polled_at,
            last_success_at=f.last_success_at,
            next_poll_at=f.next_poll_at,
            last_error=f.last_error,
            last_counts=f.last_counts or {},
        )
        for f in await session.scalars(select(Feed).order_by(Feed.name))
    ]


def indicator_out(row: Indicator, feed: str) -> IndicatorOut:
    return IndicatorOut(
        id=row.id,
        feed=feed,
        type=row.type,
        value=row.value,
        pattern=row.pattern,
        name=row.name,
        confidence=row.confidence,
        tlp=row.tlp,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        revoked=row.revoked,
        labels=row.labels or [],
    )


async def indicators(
    *, session: AsyncSession, feed: str | None, value: str | None, limit: int
) -> list[IndicatorOut]:
    query = (
        select(Indicator, Feed.slug).join(Feed, Feed.id == Indicator.feed_id).order_by(Indicator.id.desc())
    )
    if feed:
        query = query.where(Feed.slug == feed)
    if value:
        query = query.where(Indicator.value == value.strip().lower()[:2000])
    return [indicator_out(row, slug) for row, slug in await session.execute(query.limit(limit))]


async def sightings(*, session: AsyncSession, limit: int) -> list[SightingOut]:
    rows = await session.execute(
        select(Sighting, Indicator, Feed.slug)
        .join(Indicator, Indicator.id == Sighting.indicator_id)
        .join(Feed, Feed.id == Indicator.feed_id)
        .order_by(Sighting.last_seen.desc(), Sighting.id.desc())
        .limit(limit)
    )
    return [
        SightingOut(
            id=s.id,
            indicator=indicator_out(i, slug),
            matched=s.matched,
            alert_id=s.alert_id,
            incident=f"INC-{s.incident_id}" if s.incident_id else None,
            via=s.via,
            first_seen=s.first_seen,
            last_seen=s.last_seen,
            count=s.count,
        )
        for s, i, slug in rows
    ]


async def hunt(*, session: AsyncSession, data: HuntIn, now: datetime) -> HuntOut:
    """Where a value was seen in the last `days`: alerts' and incidents' observables, by surface."""
    kind = data.type or guess(data.value)
    if kind is None:
        raise invalid("value", "cannot tell what this is: give its type")
    try:
        value = normalise(kind, data.value)
    except NotAnObservable as error:
        raise InvalidInput(str(error), [FieldProblem("value", str(error))]) from None
    keys = [(k.type, k.value) for k in lookup_keys(kind, value)]
    since = now - timedelta(days=data.days)
    found: dict[str, list[HuntResult]] = {}
    alerts = await session.execute(
        select(AlertObservable).where(
            AlertObservable.seen_at >= since, tuple_(AlertObservable.type, AlertObservable.value).in_(keys)
        )
    )
    for (row,) in alerts:
        found.setdefault(SURFACES.get(row.type, "network"), []).append(
            HuntResult(
                surface=SURFACES.get(row.type, "network"),
                where=f"alert #{row.alert_id}",
                value=row.value,
                seen_at=row.seen_at,
            )
        )
    observables = await session.execute(
        select(Observable, Asset.surface)
        .outerjoin(Asset, Asset.id == Observable.asset_id)
        .where(Observable.last_seen >= since, tuple_(Observable.type, Observable.value).in_(keys))
    )
    for observable, surface in observables:
        chosen = surface or SURFACES.get(observable.type, "network")
        found.setdefault(chosen, []).append(
            HuntResult(surface=chosen, where=f"INC-{observable.incident_id}", value=observable.value,
                       seen_at=observable.last_seen)
        )  # fmt: skip
    return HuntOut(type=kind, value=value, by_surface=found)


async def findings_out(
    *, session: AsyncSession, status: str | None = None, ids: list[int] | None = None
) -> list[FindingOut]:
    query = (
        select(Finding, Vulnerability, Service.slug, Team.slug)
        .join(Vulnerability, Vulnerability.id == Finding.vulnerability_id)
        .join(Service, Service.id == Finding.service_id)
        .outerjoin(Team, Team.id == Finding.team_id)
        .order_by(Finding.due_on, Finding.id)
    )
    if status is not None:
        query = query.where(Finding.status == status)
    if ids is not None:
        query = query.where(Finding.id.in_(ids))
    return [
        FindingOut(
            id=f.id,
            service=service,
            team=team,
            cve=v.cve,
            software=f.software,
            severity=v.severity,
            exploited=v.exploited,
            ransomware=v.ransomware,
            description=v.description,
            due_on=f.due_on,
            status=f.status,
        )
        for f, v, service, team in await session.execute(query.limit(1000))
    ]
