from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from warroom.timeline.domain import GENESIS_HASH, ChainEntry, event_hash, first_broken_link

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def chain(length: int) -> list[ChainEntry]:
    entries: list[ChainEntry] = []
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        fields = dict(
            incident_id=7,
            seq=seq,
            at=T0 + timedelta(minutes=seq),
            actor="a@x",
            kind="note",
            data={"body": f"n{seq}", "n": seq},
            prev_hash=prev,
        )
        digest = event_hash(**fields)  # type: ignore[arg-type]
        entries.append(ChainEntry(hash=digest, **fields))  # type: ignore[arg-type]
        prev = digest
    return entries


def test_an_intact_chain_verifies() -> None:
    assert first_broken_link(chain(5)) is None
    assert first_broken_link([]) is None


def test_hash_ignores_key_order_and_timezone_spelling() -> None:
    a = event_hash(
        incident_id=1, seq=1, at=T0, actor="x", kind="k", data={"a": 1, "b": 2}, prev_hash=GENESIS_HASH
    )
    berlin = T0.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    b = event_hash(
        incident_id=1, seq=1, at=berlin, actor="x", kind="k", data={"b": 2, "a": 1}, prev_hash=GENESIS_HASH
    )
    assert a == b
    c = event_hash(
        incident_id=1, seq=1, at=T0, actor="x", kind="k", data={"a": 1, "b": 3}, prev_hash=GENESIS_HASH
    )
    assert a != c


def test_an_edited_event_is_named() -> None:
    entries = chain(5)
    entries[2] = replace(entries[2], data={"body": "rewritten", "n": 3})
    broken = first_broken_link(entries)
    assert broken is not None and (broken.seq, broken.incident_id) == (3, 7)
    assert "edited" in broken.reason


def test_an_edited_time_or_actor_is_named() -> None:
    entries = chain(4)
    entries[1] = replace(entries[1], at=entries[1].at + timedelta(seconds=1))
    assert first_broken_link(entries).seq == 2  # type: ignore[union-attr]
    entries = chain(4)
    entries[3] = replace(entries[3], actor="mallory@x")
    assert first_broken_link(entries).seq == 4  # type: ignore[union-attr]


def test_a_removed_event_is_named() -> None:
    entries = chain(5)
    del entries[1]
    broken = first_broken_link(entries)
    assert broken is not None and broken.seq == 3 and "missing" in broken.reason


def test_a_rehashed_event_still_breaks_the_next_link() -> None:
    entries = chain(4)
    forged = replace(entries[1], data={"body": "forged", "n": 2})
    forged = replace(
        forged,
        hash=event_hash(
            incident_id=forged.incident_id,
            seq=forged.seq,
            at=forged.at,
            actor=forged.actor,
            kind=forged.kind,
            data=forged.data,
            prev_hash=forged.prev_hash,
        ),
    )
    entries[1] = forged
    broken = first_broken_link(entries)
    assert broken is not None and broken.seq == 3 and "prev_hash" in broken.reason
