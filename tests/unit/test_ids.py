"""Time-ordered ids (UUIDv7) for alerts and raw requests: version and variant bits as RFC 9562 sets them,
the millisecond in the top 48 bits, so ids made later sort after and share the newest index pages."""

from __future__ import annotations

import os
import threading
import uuid

from warroom.ids import time_ordered_uuid


def test_the_bits_are_a_uuid7_carrying_its_millisecond() -> None:
    text = time_ordered_uuid(1_764_936_000_123)
    made = uuid.UUID(text)
    assert str(made) == text  # the canonical form: lower-case hex, hyphens at 8-4-4-4-12
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert made.int >> 80 == 1_764_936_000_123
    assert uuid.UUID(time_ordered_uuid(2**48 - 1)).int >> 80 == 2**48 - 1


def test_later_ids_sort_after_and_ids_do_not_repeat() -> None:
    ids = [time_ordered_uuid(1_000 + n // 10) for n in range(1_000)]
    assert len(set(ids)) == 1_000
    by_ms = [uuid.UUID(one).int >> 80 for one in sorted(ids)]
    assert by_ms == sorted(by_ms)
    assert time_ordered_uuid(5) < time_ordered_uuid(6) < time_ordered_uuid()


def test_threads_and_forked_children_never_hand_out_the_same_id() -> None:
    """The random bits are read a chunk at a time, per thread: neither a second thread nor a forked child
    may reuse what this thread has yet to hand out."""
    time_ordered_uuid(7)  # this thread now holds a chunk
    made: list[str] = []
    threads = [threading.Thread(target=lambda: made.extend(time_ordered_uuid(7) for _ in range(500)))]
    threads += [threading.Thread(target=lambda: made.extend(time_ordered_uuid(7) for _ in range(500)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next ids, to the parent, then out without running the parent's clean-up
        os.write(writer, " ".join(time_ordered_uuid(7) for _ in range(10)).encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    from_child = os.read(reader, 65_536).decode().split()
    os.close(reader)
    ours = [time_ordered_uuid(7) for _ in range(10)]
    assert len(from_child) == 10
    assert len(set(made) | set(from_child) | set(ours)) == 1_000 + 10 + 10
