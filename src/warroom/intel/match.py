"""Matching, in the worker (never on the intake path): each new alert's observables and each observable
added to an incident against the indicators in force. An exact-value index answers most (a domain's
parents too), address ranges are checked by containment, and only indicators whose STIX pattern says more
than "this or that value" are evaluated with `stix2-matcher`. A match is a sighting; what else it does is
its feed's rule: raise the alert's severity, open (or join) an incident of a type, mark the observable."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.intel.domain import TYPE_TO_STIX, Term, in_force, lookup_keys
from warroom.intel.index import Snapshot, snapshot
from warroom.intel.models import Indicator, Sighting
from warroom.lazy_import import imported

# stix2-matcher is imported when a pattern indicator is first matched, in a thread: its import (0.33 s, it
# builds its grammar) was part of every server's and worker's start, and most matches never need it.
MATCHER = "stix2matcher.matcher"
INDEX = "intel:index"  # the memo's key for the index a group of matches reads (not configuration: uncached)

log = structlog.get_logger("warroom.intel")


@dataclass(frozen=True)
class Hit:
    indicator: Indicator
    observed: Term  # the observable that matched (its own type and value)


def observed_data(observables: list[Term], now: datetime) -> dict[str, Any]:
    """The observables as one STIX observed-data object, for the matcher."""
    objects: dict[str, Any] = {}
    for index, item in enumerate(observables):
        kind = TYPE_TO_STIX.get(item.type)
        if kind == "file":
            name = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512"}.get(item.type)
            objects[str(index)] = {
                "type": "file",
                **({"hashes": {name: item.value}} if name else {"name": item.value}),
            }
        elif kind is not None:
            key = {"user-account": "user_id", "windows-registry-key": "key", "process": "name"}.get(
                kind, "value"
            )
            objects[str(index)] = {"type": kind, key: item.value}
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "type": "observed-data",
        "id": "observed-data--00000000-0000-4000-8000-000000000000",
        "spec_version": "2.0",
        "first_observed": stamp,
        "last_observed": stamp,
        "number_observed": 1,
        "objects": objects,
    }


def _pattern_ids(snap: Snapshot, observables: list[Term], now: datetime) -> list[tuple[int, Term]]:
    if not snap.patterns or not observables:
        return []
    # All of them as one observation, and each as its own (an `[a] AND [b]` pattern wants two).
    from stix2matcher.matcher import MatcherException
    from stix2matcher.matcher import match as stix_match

    data = [observed_data(observables, now), *(observed_data([item], now) for item in observables)]
    found = []
    for indicator_id, pattern in snap.patterns:
        try:
            if stix_match(pattern, data, stix_version="2.0"):
                found.append((indicator_id, observables[0]))
        except (MatcherException, ValueError, TypeError) as error:  # validated at import; skipped if not
            log.warning("intel.pattern_unusable", indicator_id=indicator_id, error=type(error).__name__)
    return found


async def find(
    session: AsyncSession, observables: Iterable[Term], now: datetime, memo: dict[str, Any]
) -> list[Hit]:
    """Every indicator in force that one of these observables matches: the index says which may, one
    query reads those and their validity."""
    if INDEX not in memo:  # one look at the index per group of matches
        memo[INDEX] = await snapshot(session)
    snap: Snapshot = memo[INDEX]
    items = list(dict.fromkeys(observables))
    candidates: list[tuple[int, Term]] = []
    for item in items:
        for key in lookup_keys(item.type, item.value):
            candidates += [(i, item) for i in snap.exact.get((key.type, key.value), ())]
        if item.type == "ip":
            candidates += [(i, item) for i in snap.in_ranges(item.value)]
    if snap.patterns:
        await imported(MATCHER)
    candidates += _pattern_ids(snap, items, now)
    if not candidates:
        return []
    rows = {
        row.id: row
        for row in await session.scalars(
            select(Indicator).where(Indicator.id.in_({i for i, _t in candidates}))
        )
    }
    hits = {
        (i, observed): Hit(rows[i], observed)
        for i, observed in candidates
        if i in rows and in_force(rows[i].valid_from, rows[i].valid_until, rows[i].revoked, now)
    }
    return list(hits.values())


async def sight(
    session: AsyncSession,
    hit: Hit,
    now: datetime,
    *,
    alert_id: int | None = None,
    observable_id: int | None = None,
    incident_id: int | None = None,
    via: str = "arrival",
) -> bool:
    """Record the sighting; True when it is new (a repeat counts and moves last_seen)."""
    found = await session.scalar(
        select(Sighting).where(
            Sighting.indicator_id == hit.indicator.id,
            Sighting.alert_id.is_(None) if alert_id is None else Sighting.alert_id == alert_id,
            Sighting.observable_id.is_(None)
            if observable_id is None
            else Sighting.observable_id == observable_id,
        )
    )
    if found is not None:
        found.count, found.last_seen = found.count + 1, max(found.last_seen, now)
        return False
    session.add(
        Sighting(
            indicator_id=hit.indicator.id,
            alert_id=alert_id,
            observable_id=observable_id,
            incident_id=incident_id,
            matched=hit.observed.value[:2000],
            via=via,
            first_seen=now,
            last_seen=now,
        )
    )
    return True
