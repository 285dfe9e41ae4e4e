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
from sqlalchemy import or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from stix2matcher.matcher import MatcherException
from stix2matcher.matcher import match as stix_match

from warroom.intel.domain import TYPE_TO_STIX, Term, in_force, in_ranges, lookup_keys
from warroom.intel.models import Indicator, Sighting

log = structlog.get_logger("warroom.intel")


@dataclass(frozen=True)
class Hit:
    indicator: Indicator
    observed: Term  # the observable that matched (its own type and value)


def _active(now: datetime) -> Any:
    return (
        (Indicator.revoked.is_(False))
        & or_(Indicator.valid_from.is_(None), Indicator.valid_from <= now)
        & or_(Indicator.valid_until.is_(None), Indicator.valid_until > now)
    )


async def _exact(session: AsyncSession, keys: dict[Term, Term], now: datetime) -> list[Hit]:
    pairs = [(k.type, k.value) for k in keys]
    hits = []
    for start in range(0, len(pairs), 500):
        rows = await session.scalars(
            select(Indicator).where(
                tuple_(Indicator.type, Indicator.value).in_(pairs[start : start + 500]), _active(now)
            )
        )
        hits += [Hit(row, keys[Term(str(row.type), str(row.value))]) for row in rows]
    return hits


async def _ranges(
    session: AsyncSession, addresses: list[Term], now: datetime, memo: dict[str, Any]
) -> list[Hit]:
    if not addresses:
        return []
    if "intel:ranges" not in memo:  # ranges are few: one read per group of matches
        memo["intel:ranges"] = list(
            await session.scalars(select(Indicator).where(Indicator.type == "cidr", _active(now)))
        )
    ranges: list[Indicator] = memo["intel:ranges"]
    by_id = {r.id: r for r in ranges}
    return [
        Hit(by_id[found], address)
        for address in addresses
        for found in in_ranges(address.value, [(r.id, str(r.value)) for r in ranges])
    ]


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


async def _patterns(
    session: AsyncSession, observables: list[Term], now: datetime, memo: dict[str, Any]
) -> list[Hit]:
    if "intel:patterns" not in memo:
        memo["intel:patterns"] = list(
            await session.scalars(
                select(Indicator).where(
                    Indicator.type.is_(None), Indicator.pattern.is_not(None), _active(now)
                )
            )
        )
    patterns: list[Indicator] = memo["intel:patterns"]
    if not patterns or not observables:
        return []
    # All of them as one observation, and each as its own (an `[a] AND [b]` pattern wants two).
    data = [observed_data(observables, now), *(observed_data([item], now) for item in observables)]
    hits = []
    for indicator in patterns:
        try:
            found = stix_match(str(indicator.pattern), data, stix_version="2.0")
        except (MatcherException, ValueError, TypeError) as error:  # validated at import; skipped if not
            log.warning("intel.pattern_unusable", indicator_id=indicator.id, error=type(error).__name__)
            continue
        if found:
            hits.append(Hit(indicator, observables[0]))
    return hits


async def find(
    session: AsyncSession, observables: Iterable[Term], now: datetime, memo: dict[str, Any]
) -> list[Hit]:
    """Every indicator in force that one of these observables matches."""
    items = list(dict.fromkeys(observables))
    keys: dict[Term, Term] = {}
    for item in items:
        for key in lookup_keys(item.type, item.value):
            keys.setdefault(key, item)
    hits = await _exact(session, keys, now)
    hits += await _ranges(session, [i for i in items if i.type == "ip"], now, memo)
    hits += await _patterns(session, items, now, memo)
    unique = {
        (h.indicator.id, h.observed): h
        for h in hits
        if in_force(h.indicator.valid_from, h.indicator.valid_until, h.indicator.revoked, now)
    }
    return list(unique.values())


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
