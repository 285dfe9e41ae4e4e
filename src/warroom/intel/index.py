"""The exact-value index, in the worker's memory: (type, value) -> indicator ids, the address ranges and
the patterns only the STIX matcher can decide. Rebuilt when the indicators change, so a match costs a
dictionary lookup per observable instead of a query.

Whether they changed is read on every match job, so it must not grow with the indicators: their latest
update and highest id, each read off an index's end, move with every insert and update. A deletion (a
feed's indicators go with it) moves neither, and need not: the index only says which indicators may
match, and a match reads those from the database (intel.match.find), so one deleted is never a hit; it
leaves the index at the next change. Their count, read before for deletions, scanned them all: 53-87 ms
a match job at 1,000,000 indicators on PostgreSQL on this project's 2-core machine."""

from __future__ import annotations

import ipaddress
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.intel.models import Indicator

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Snapshot:
    signature: tuple[Any, ...]  # `signature()`'s: any change reads the indicators again
    exact: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)
    ranges: list[tuple[int, Network]] = field(default_factory=list)
    patterns: list[tuple[int, str]] = field(default_factory=list)

    def add(self, indicator_id: int, kind: str | None, value: str | None, pattern: str | None) -> None:
        if kind == "cidr" and value:
            self.ranges.append((indicator_id, ipaddress.ip_network(value, strict=False)))
        elif kind and value:
            key = (kind, value)
            self.exact[key] = (*self.exact.get(key, ()), indicator_id)
        elif pattern:
            self.patterns.append((indicator_id, pattern))

    def in_ranges(self, address: str) -> list[int]:
        if not self.ranges:
            return []  # most installs have none: no address to parse
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return []
        return [i for i, network in self.ranges if ip.version == network.version and ip in network]


# Per database engine, in this process; weakly, as an id() key could be a later engine's (tests make many).
_snapshots: weakref.WeakKeyDictionary[Any, Snapshot] = weakref.WeakKeyDictionary()


async def signature(session: AsyncSession) -> tuple[Any, ...]:
    """What changes whenever the indicators do, read without reading them (the module's note)."""
    latest = select(func.max(Indicator.updated_at)).scalar_subquery()
    highest = select(func.max(Indicator.id)).scalar_subquery()
    return tuple((await session.execute(select(latest, highest))).one())


async def held(session: AsyncSession) -> tuple[Snapshot | None, tuple[Any, ...]]:
    """The index this process holds if the indicators are unchanged since it was read (else None), and
    their signature now: one read, never the indicators themselves."""
    current = await signature(session)
    found = _snapshots.get(session.get_bind())
    return (found if found is not None and found.signature == current else None), current


async def snapshot(session: AsyncSession) -> Snapshot:
    """The index as of now: reused while the indicators are unchanged, else read again whole."""
    found, current = await held(session)
    if found is not None:
        return found
    fresh = Snapshot(signature=current)
    rows = await session.stream(
        select(Indicator.id, Indicator.type, Indicator.value, Indicator.pattern).execution_options(
            yield_per=5_000
        )
    )
    async for indicator_id, kind, value, pattern in rows:
        fresh.add(indicator_id, kind, value, pattern)
    _snapshots[session.get_bind()] = fresh
    return fresh


def forget() -> None:
    """For tests that swap databases under one process."""
    _snapshots.clear()


def size(found: Snapshot) -> dict[str, Any]:
    return {"exact": len(found.exact), "ranges": len(found.ranges), "patterns": len(found.patterns)}
