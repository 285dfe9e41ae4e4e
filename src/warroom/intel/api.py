"""Threat-intel routes: feeds (admins), what they hold and what was sighted (internal readers), hunting by
hand (responders), and an incident's IOCs exported for sharing (its readers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import delete, select

from warroom.catalog.service import get_service
from warroom.deps import CatalogWriter, ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.errors import Conflict, NotFound
from warroom.incidents.models import Incident
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import viewer_of
from warroom.intel import export, service, vulns
from warroom.intel import service as intel_service
from warroom.intel.models import Feed, Finding, Software
from warroom.intel.poll import FEED_QUEUE, POLL_KIND
from warroom.intel.schemas import (
    FeedIn,
    FeedOut,
    FeedPatch,
    FindingOut,
    FindingPatch,
    HuntIn,
    HuntOut,
    IndicatorOut,
    SightingOut,
    SoftwareIn,
    SoftwareList,
)
from warroom.jobs.service import JobSpec, enqueue
from warroom.lazy_import import imported
from warroom.observables.models import Observable

router = APIRouter(prefix="/api/v1/intel", tags=["intel"])


def _json_document(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a 200 whose body is a JSON document of another standard's shape."""
    return {200: {"description": description, "content": {media_type: {"schema": {"type": "object"}}}}}


incident_router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


async def _feed_out(session: WriteSession | ReadSession, slug: str) -> FeedOut:
    return next(f for f in await service.feeds_out(session=session) if f.slug == slug)


@router.get("/feeds", response_model=list[FeedOut])
async def feeds(_user: InternalReader, session: ReadSession) -> list[FeedOut]:
    return await service.feeds_out(session=session)


@router.post("/feeds", status_code=201, response_model=FeedOut)
async def add_feed(
    body: FeedIn, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> FeedOut:
    """A new feed; its first poll is queued at once, then every `interval_seconds`."""
    now = context.clock.now()
    feed = await service.create_feed(
        session=session, procedure=context.procedure.procedure, data=body, now=now
    )
    if feed.enabled:
        await _queue_poll(session, feed, now)
    return await _feed_out(session, feed.slug)


async def _queue_poll(session: WriteSession, feed: Feed, now: datetime) -> None:
    feed.next_poll_at = now + timedelta(seconds=feed.interval_seconds)
    spec = JobSpec(POLL_KIND, {"feed_id": feed.id}, queue=FEED_QUEUE, max_attempts=1)
    await enqueue(session=session, spec=spec, now=now)


@router.patch("/feeds/{slug}", response_model=FeedOut)
async def edit_feed(
    slug: str, body: FeedPatch, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> FeedOut:
    feed = await service.get_feed(session=session, slug=slug)
    await service.update_feed(session=session, procedure=context.procedure.procedure, feed=feed, patch=body)
    return await _feed_out(session, slug)


@router.delete("/feeds/{slug}", status_code=204)
async def remove_feed(slug: str, _admin: CatalogWriter, session: WriteSession) -> Response:
    """The feed and its indicators go; sightings of them go too."""
    await session.delete(await service.get_feed(session=session, slug=slug))
    return Response(status_code=204)


@router.post("/feeds/{slug}/poll", status_code=202, response_model=FeedOut)
async def poll_now(slug: str, _admin: CatalogWriter, session: WriteSession, context: ContextDep) -> FeedOut:
    """Queue a poll now (the worker runs it); the feed's state says how it went."""
    feed = await service.get_feed(session=session, slug=slug)
    if not feed.enabled:
        raise Conflict(f"{feed.name} is disabled: enable it first")
    await _queue_poll(session, feed, context.clock.now())
    return await _feed_out(session, slug)


@router.get("/indicators", response_model=list[IndicatorOut])
async def indicators(
    _user: InternalReader,
    session: ReadSession,
    feed: str | None = Query(default=None, max_length=64),
    value: str | None = Query(default=None, max_length=2000),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[IndicatorOut]:
    return await service.indicators(session=session, feed=feed, value=value, limit=limit)


@router.get("/sightings", response_model=list[SightingOut])
async def sightings(
    _user: InternalReader, session: ReadSession, limit: int = Query(default=100, ge=1, le=1000)
) -> list[SightingOut]:
    return await service.sightings(session=session, limit=limit)


@router.post("/hunt", response_model=HuntOut)
async def hunt(body: HuntIn, _user: IncidentWriter, session: ReadSession, context: ContextDep) -> HuntOut:
    """Where a value was seen (alerts and incidents, the last `days`), by surface."""
    return await service.hunt(session=session, data=body, now=context.clock.now())


async def _iocs(
    session: ReadSession, context: ContextDep, user: InternalReader, ref: str, override: bool
) -> tuple[Incident, list[Observable], int]:
    incident = await get_incident(
        session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure)
    )
    rows = list(await session.scalars(select(Observable).where(Observable.incident_id == incident.id)))
    kept, held = export.shareable(rows, override)
    return incident, kept, held


@incident_router.get(
    "/{ref}/iocs.stix.json",
    response_class=Response,
    responses=_json_document("application/stix+json", "A STIX 2.1 bundle"),
)
async def iocs_stix(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep, override_tlp: bool = False
) -> Response:
    """The incident's IOCs as a STIX 2.1 bundle; AMBER+STRICT and RED ones only with `override_tlp=true`."""
    incident, kept, held = await _iocs(session, context, user, ref, override_tlp)
    await imported("stix2")
    body = export.stix_bundle(incident, kept, context.settings.resolved_base_url(), context.clock.now())
    return Response(body, media_type="application/stix+json;version=2.1", headers={"X-Held-Back": str(held)})


@incident_router.get(
    "/{ref}/iocs.misp.json",
    response_class=Response,
    responses=_json_document("application/json", "A MISP event"),
)
async def iocs_misp(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep, override_tlp: bool = False
) -> Response:
    """The incident's IOCs as a MISP event; AMBER+STRICT and RED ones only with `override_tlp=true`."""
    incident, kept, held = await _iocs(session, context, user, ref, override_tlp)
    body = export.misp_event(incident, kept, context.clock.now())
    return Response(body, media_type="application/json", headers={"X-Held-Back": str(held)})


@router.get("/software/{slug}", response_model=list[SoftwareIn])
async def software(slug: str, _user: InternalReader, session: ReadSession) -> list[SoftwareIn]:
    """What the service runs, as declared: what vulnerability feeds are matched against."""
    target = await get_service(session=session, slug=slug)
    rows = await session.scalars(
        select(Software).where(Software.service_id == target.id).order_by(Software.name)
    )
    return [SoftwareIn(name=row.name, version=row.version) for row in rows]


@router.put("/software/{slug}", response_model=list[FindingOut])
async def declare_software(
    slug: str, body: SoftwareList, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> list[FindingOut]:
    """Replace what the service runs; answers the findings this opened (checked against every CVE held)."""
    target = await get_service(session=session, slug=slug)
    await session.execute(delete(Software).where(Software.service_id == target.id))
    unique = {
        ((item.name or "").strip().lower(), item.version.strip() if item.version else None)
        for item in body.software
    }
    session.add_all(Software(service_id=target.id, name=name, version=version) for name, version in unique)
    await session.flush()
    now = context.clock.now()
    made = await vulns.find_affected(session, now, service_id=target.id)
    await vulns.tell_owners(session, made, now)
    return await intel_service.findings_out(session=session, ids=[f.id for f in made])


@router.get("/vulnerabilities", response_model=list[FindingOut])
async def findings(
    _user: InternalReader, session: ReadSession, status: str | None = Query(default="open", max_length=16)
) -> list[FindingOut]:
    """Vulnerabilities in software services run, soonest due first."""
    return await intel_service.findings_out(session=session, status=status or None)


@router.patch("/vulnerabilities/{finding_id}", response_model=FindingOut)
async def change_finding(
    finding_id: int, body: FindingPatch, _user: IncidentWriter, session: WriteSession, context: ContextDep
) -> FindingOut:
    """Mark a finding done (patched) or won't fix, or open it again."""
    finding = await session.get(Finding, finding_id)
    if finding is None:
        raise NotFound(f"no finding {finding_id}")
    finding.status, finding.updated_at = body.status, context.clock.now()
    await session.flush()
    (out,) = await intel_service.findings_out(session=session, ids=[finding.id])
    return out
