"""What a match does, by its feed's rule, and the jobs that find matches: `intel.match` (new alerts, or an
incident's observables) and `intel.hunt` (new or changed indicators against what was already seen)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.domain import SEVERITIES
from warroom.alerts.models import Alert, AlertEvent
from warroom.alerts.rules.triage import ALERT_TEXTS
from warroom.alerts.service import attach
from warroom.catalog.models import Service
from warroom.comms.reminders import tell
from warroom.incidents.models import Incident
from warroom.incidents.schemas import IncidentCreate
from warroom.incidents.service import declare_incident
from warroom.intel.domain import Term
from warroom.intel.index import held
from warroom.intel.match import INDEX, Hit, find, sight
from warroom.intel.members import team_members
from warroom.intel.models import AlertObservable, Feed, Indicator, Sighting
from warroom.jobs.kinds import JobRun
from warroom.jobs.service import savepoint
from warroom.observables.extract import extract
from warroom.observables.models import Observable
from warroom.observables.service import payload_of
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

log = structlog.get_logger("warroom.intel")

MATCH_KIND = "intel.match"
HUNT_DAYS = 90


async def _feeds(session: AsyncSession, hits: list[Hit]) -> dict[int, Feed]:
    ids = {h.indicator.feed_id for h in hits}
    return {f.id: f for f in await session.scalars(select(Feed).where(Feed.id.in_(ids)))} if ids else {}


async def _known(session: AsyncSession, alert_ids: list[int]) -> set[tuple[int, str, str]]:
    """(alert, type, value) already remembered for these alerts: one read for the whole group."""
    rows = await session.execute(
        select(AlertObservable.alert_id, AlertObservable.type, AlertObservable.value).where(
            AlertObservable.alert_id.in_(alert_ids)
        )
    )
    return {(alert_id, type_, value) for alert_id, type_, value in rows}


def _remember(
    session: AsyncSession, alert_id: int, found: list[Term], known: set[tuple[int, str, str]], now: datetime
) -> None:
    """What the alert carried, for later hunts (once per alert and value)."""
    session.add_all(
        AlertObservable(alert_id=alert_id, type=t.type, value=t.value, seen_at=now)
        for t in dict.fromkeys(found)
        if (alert_id, t.type, t.value) not in known
    )


async def _raise(session: AsyncSession, alert: Alert, to: str, why: str, now: datetime) -> None:
    if to in SEVERITIES and SEVERITIES.index(to) < SEVERITIES.index(
        alert.severity if alert.severity in SEVERITIES else "info"
    ):
        before, alert.severity = alert.severity, to
        session.add(
            AlertEvent(
                alert_id=alert.id,
                request_id=None,
                at=now,
                action="severity_raised",
                actor="intel",
                data={"from": before, "to": to, "why": why},
            )
        )


async def _incident_for(run: JobRun, alert: Alert, hit: Hit, feed: Feed) -> Incident:
    """The open incident this indicator already has one on, else a new one of the feed's type."""
    joined = await run.session.scalar(
        select(Incident)
        .join(Sighting, Sighting.incident_id == Incident.id)
        .where(Sighting.indicator_id == hit.indicator.id, Incident.status == "active")
        .limit(1)
    )
    if joined is not None:
        return joined
    slug = (
        await run.session.scalar(select(Service.slug).where(Service.id == alert.service_id))
        if alert.service_id
        else None
    )
    procedure = run.context.procedure.procedure
    kind = (
        procedure.incident_type(str(feed.declare_type)) if feed.declare_type in procedure.type_ids() else None
    )
    data = IncidentCreate(
        title=f"Known-bad {hit.observed.value} seen: {alert.title}"[:300],
        type=kind.id if kind else None,
        severity=feed.declare_severity or (kind.default_severity if kind and kind.default_severity else "P2"),
        summary=f"{hit.observed.value} matches {hit.indicator.name} from the {feed.name} feed.",
        services=[slug] if slug else [],
        detected_at=alert.first_seen_at,
        restricted=True,
    )
    return await declare_incident(
        session=run.session, loaded=run.context.procedure, actor=f"intel: {feed.slug}", data=data, now=run.now
    )


async def _act_on_alert(run: JobRun, alert: Alert, hits: list[Hit]) -> None:
    feeds = await _feeds(run.session, hits)
    for hit in hits:
        feed = feeds[hit.indicator.feed_id]
        incident_id = alert.incident_id
        if feed.raise_to:
            await _raise(run.session, alert, feed.raise_to, f"matches {hit.indicator.name}", run.now)
        if feed.declare_type and alert.incident_id is None:
            incident = await _incident_for(run, alert, hit, feed)
            await attach(
                session=run.session, alert=alert, incident=incident, actor=f"intel: {feed.slug}", now=run.now
            )
            incident_id = incident.id
        await sight(run.session, hit, run.now, alert_id=alert.id, incident_id=incident_id)
        if incident_id is not None:
            await mark_on_incident(run.session, incident_id, hit, feed, run.now)


async def mark_on_incident(
    session: AsyncSession, incident_id: int, hit: Hit, feed: Feed, now: datetime
) -> None:
    """The incident's observable of that value becomes an IOC, sighted; the timeline says so once."""
    observable = await session.scalar(
        select(Observable).where(
            Observable.incident_id == incident_id,
            Observable.type == hit.observed.type,
            Observable.value == hit.observed.value,
        )
    )
    if observable is None or (observable.ioc and observable.sighted):
        return
    observable.ioc = observable.sighted = True
    incident = await session.get(Incident, incident_id)
    if incident is not None:
        await record(
            session,
            incident,
            f"intel: {feed.slug}",
            EventKind.intel_match,
            now,
            value=hit.observed.value,
            indicator=hit.indicator.name,
            feed=feed.name,
            confidence=hit.indicator.confidence,
        )


async def observed_in(
    session: AsyncSession, alert_ids: list[int], read: Mapping[int, tuple[Any, ...]] | None = None
) -> dict[int, list[Term]]:
    """The observables each alert's payload carries (alerts carrying none left out): one read, no lock,
    of those whose texts (labels, details, title, description) are not in `read` (triage's, just now)."""
    read = read or {}
    texts = {alert_id: read[alert_id] for alert_id in alert_ids if alert_id in read}
    if rest := [alert_id for alert_id in alert_ids if alert_id not in texts]:
        rows = await session.execute(
            select(Alert.id, Alert.labels, Alert.details, Alert.title, Alert.description).where(
                Alert.id.in_(rest)
            )
        )
        texts.update((row[0], tuple(row[1:])) for row in rows)
    observed = {}
    for alert_id, (labels, details, title, description) in sorted(texts.items()):
        if found := [Term(f.type, f.value) for f in extract(payload_of(labels, details, title, description))]:
            observed[alert_id] = found
    return observed


async def match_observed(run: JobRun, observed: dict[int, list[Term]]) -> None:
    """Remember what each alert carried, and act on the indicators it matches: only alerts with a hit are
    locked, in id order, as other alert writers lock them, so two transactions never wait on each other in
    opposite orders (PostgreSQL would end one as a deadlock)."""
    known = await _known(run.session, list(observed))
    hits: dict[int, list[Hit]] = {}
    for alert_id, found in observed.items():
        _remember(run.session, alert_id, found, known, run.now)
        if matched := await find(run.session, found, run.now, run.memo):
            hits[alert_id] = matched
    if hits:
        locked = select(Alert).where(Alert.id.in_(hits)).order_by(Alert.id).with_for_update()
        for alert in await run.session.scalars(locked):
            await _act_on_alert(run, alert, hits[alert.id])


async def match_alerts(run: JobRun, alert_ids: list[int]) -> None:
    if observed := await observed_in(run.session, alert_ids):
        await match_observed(run, observed)


async def match_incident(run: JobRun, incident_id: int) -> None:
    observables = list(
        await run.session.scalars(select(Observable).where(Observable.incident_id == incident_id))
    )
    by_value = {(o.type, o.value): o for o in observables}
    hits = await find(run.session, [Term(o.type, o.value) for o in observables], run.now, run.memo)
    feeds = await _feeds(run.session, hits)
    for hit in hits:
        observable = by_value[(hit.observed.type, hit.observed.value)]
        await sight(run.session, hit, run.now, observable_id=observable.id, incident_id=incident_id)
        await mark_on_incident(run.session, incident_id, hit, feeds[hit.indicator.feed_id], run.now)


async def match_in_place(run: JobRun, alert_ids: list[int]) -> bool:
    """Match alerts in the caller's transaction (triage's) when that is cheap and bounded: this process
    holds the index, the indicators are unchanged since, and it has no STIX pattern (the matcher's work
    grows with them). Saves a match job a triage group (its claim, transaction and wake). In a savepoint:
    should matching fail, the caller's work stands and False says to queue a match job instead, as it
    does when the index must be read again (~23 s at a million indicators: never inside triage). Alerts
    that carry no observable need no index (the match job would load none for them either, so asking for a
    held index first queued a match job for every such group, forever)."""
    observed = await observed_in(run.session, alert_ids, run.memo.get(ALERT_TEXTS))
    if not observed:
        return True  # nothing to remember or match: no savepoint, no write
    found, _signature = await held(run.session)
    if found is None or found.patterns:
        return False
    run.memo[INDEX] = found
    try:
        async with savepoint(run.session):
            await match_observed(run, observed)
    except Exception as error:  # noqa: BLE001  (queued instead: the match job retries on its own)
        log.warning("intel match failed in triage; queued as a job", alerts=len(alert_ids), error=repr(error))
        return False
    return True


async def run_match(run: JobRun, payload: dict[str, Any]) -> None:
    """The `intel.match` job: {"alert_ids": [...]} or {"incident_id": n}."""
    if "alert_ids" in payload:
        await match_alerts(run, [int(i) for i in payload["alert_ids"]])
    if "incident_id" in payload:
        await match_incident(run, int(payload["incident_id"]))


async def hunt_back(
    session: AsyncSession, indicators: list[Indicator], since: datetime
) -> list[tuple[Indicator, str, int, int | None]]:
    """(indicator, value, alert id, None) for alerts and (indicator, value, observable id, incident id) for
    incident observables seen since `since` whose value the indicators name exactly."""
    wanted = {(str(i.type), str(i.value)): i for i in indicators if i.type and i.value}
    pairs = list(wanted)
    found: list[tuple[Indicator, str, int, int | None]] = []
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        alerts = await session.execute(
            select(AlertObservable.type, AlertObservable.value, AlertObservable.alert_id).where(
                tuple_(AlertObservable.type, AlertObservable.value).in_(chunk),
                AlertObservable.seen_at >= since,
            )
        )
        found += [(wanted[(t, v)], v, alert_id, None) for t, v, alert_id in alerts]
        observables = await session.execute(
            select(Observable.type, Observable.value, Observable.id, Observable.incident_id).where(
                tuple_(Observable.type, Observable.value).in_(chunk), Observable.last_seen >= since
            )
        )
        found += [(wanted[(t, v)], v, oid, iid) for t, v, oid, iid in observables]
    return found


async def run_hunt(run: JobRun, payload: dict[str, Any]) -> None:
    """The `intel.hunt` job: new or changed indicators against the last 90 days; new sightings are told to
    the feed's team."""
    ids = [int(i) for i in payload["indicator_ids"]]
    indicators = [
        i for i in await run.session.scalars(select(Indicator).where(Indicator.id.in_(ids))) if not i.revoked
    ]
    new: dict[int, list[str]] = {}
    for indicator, value, row_id, incident_id in await hunt_back(
        run.session, indicators, run.now - timedelta(days=HUNT_DAYS)
    ):
        hit = Hit(indicator, Term(str(indicator.type), value))
        is_alert = incident_id is None
        made = await sight(
            run.session,
            hit,
            run.now,
            alert_id=row_id if is_alert else None,
            observable_id=None if is_alert else row_id,
            incident_id=incident_id,
            via="hunt",
        )
        if made:
            new.setdefault(indicator.feed_id, []).append(
                f"{value} ({'alert #' + str(row_id) if is_alert else f'INC-{incident_id}'})"
            )
    for feed_id, lines in new.items():
        await tell_team(run.session, feed_id, lines, run.now)


async def tell_team(session: AsyncSession, feed_id: int, lines: list[str], now: datetime) -> None:
    feed = await session.get(Feed, feed_id)
    if feed is None or feed.team_id is None:
        return
    subject = f"Threat intel: {len(lines)} earlier sighting(s) of {feed.name} indicators"
    body = "\n".join(["A retro-hunt found these in the last 90 days:", *lines[:50]])
    for member in await team_members(session, feed.team_id):
        await tell(
            session, member, key=f"intel:{feed_id}:{now:%Y%m%d%H%M%S}", subject=subject, body=body, now=now
        )
