"""One way of writing a length of time everywhere (issue #19, item 7), and when a running clock turns amber
and red (item 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warroom.durations import spoken
from warroom.procedure.domain import clock_state


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (None, "-"), (0, "0 s"), (36, "36 s"), (36.6, "37 s"), (-52, "52 s"), (60, "1 min"),
        (252, "4 min 12 s"), (300, "5 min"), (599, "9 min 59 s"), (600, "10 min"), (1530, "25 min"),
        (3600, "1 h"), (7500, "2 h 5 min"), (86_400, "1 d"), (273_600, "3 d 4 h"),
    ],
)  # fmt: skip
def test_units_always_and_seconds_only_while_they_matter(seconds: float | None, said: str) -> None:
    assert spoken(seconds) == said


START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DEADLINE = START + timedelta(minutes=20)


@pytest.mark.parametrize(
    ("minutes", "state"),
    [(0, "ok"), (9.9, "ok"), (10, "warn"), (15.9, "warn"), (16, "urgent"), (20, "urgent"), (20.1, "overdue")],
)
def test_a_clock_turns_amber_at_half_its_time_and_red_at_four_fifths(minutes: float, state: str) -> None:
    assert clock_state(START, DEADLINE, START + timedelta(minutes=minutes)) == state


def test_a_clock_with_no_time_at_all_is_urgent_until_it_is_overdue() -> None:
    assert clock_state(START, START, START) == "urgent"
    assert clock_state(START, START, START + timedelta(seconds=1)) == "overdue"
