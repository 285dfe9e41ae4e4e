"""Hash-chain rules for the timeline: pure functions over plain values."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class ChainEntry:
    incident_id: int
    seq: int
    at: datetime
    actor: str
    kind: str
    data: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class BrokenLink:
    incident_id: int
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"incident {self.incident_id}, event #{self.seq}: {self.reason}"


def canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    incident_id: int,
    seq: int,
    at: datetime,
    actor: str,
    kind: str,
    data: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON form, so the same event hashes alike on SQLite and PostgreSQL."""
    body = {
        "incident_id": incident_id,
        "seq": seq,
        "at": canonical_time(at),
        "actor": actor,
        "kind": kind,
        "data": data,
        "prev": prev_hash,
    }
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def entry_hash(entry: ChainEntry) -> str:
    return event_hash(
        incident_id=entry.incident_id,
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        kind=entry.kind,
        data=entry.data,
        prev_hash=entry.prev_hash,
    )


def first_broken_link(entries: Iterable[ChainEntry]) -> BrokenLink | None:
    """Walk one incident's events in seq order; name the first that does not chain or does not hash."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    for entry in entries:
        if entry.seq != expected_seq:
            return BrokenLink(
                entry.incident_id, entry.seq, f"expected event #{expected_seq} (one is missing)"
            )
        if entry.prev_hash != expected_prev:
            return BrokenLink(entry.incident_id, entry.seq, "prev_hash does not match the event before it")
        if entry_hash(entry) != entry.hash:
            return BrokenLink(entry.incident_id, entry.seq, "content does not match its hash (edited)")
        expected_prev = entry.hash
        expected_seq += 1
    return None
