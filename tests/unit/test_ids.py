"""Time-ordered ids (UUIDv7) for alerts and raw requests: version and variant bits as RFC 9562 sets them,
the millisecond in the top 48 bits, so ids made later sort after and share the newest index pages."""

from __future__ import annotations

import uuid

from warroom.ids import time_ordered_uuid


def test_the_bits_are_a_uuid7_carrying_its_millisecond() -> None:
    made = uuid.UUID(time_ordered_uuid(1_764_936_000_123))
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert made.int >> 80 == 1_764_936_000_123
    assert uuid.UUID(time_ordered_uuid(2**48 - 1)).int >> 80 == 2**48 - 1


def test_later_ids_sort_after_and_ids_do_not_repeat() -> None:
    ids = [time_ordered_uuid(1_000 + n // 10) for n in range(1_000)]
    assert len(set(ids)) == 1_000
    by_ms = [uuid.UUID(one).int >> 80 for one in sorted(ids)]
    assert by_ms == sorted(by_ms)
    assert time_ordered_uuid(5) < time_ordered_uuid(6) < time_ordered_uuid()
