"""Handoffs stay at local wall-clock time across DST, in each rotation's own zone (Chicago and Berlin, 2026).

US changes: spring 2026-03-08 (CST -6 -> CDT -5, 02:00 skipped), autumn 2026-11-01 (01:00-02:00 twice).
EU changes: spring 2026-03-29 (CET +1 -> CEST +2, 02:00 skipped), autumn 2026-10-25 (02:00-03:00 twice).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from warroom.oncall import Layer, Restriction, Rotation, Schedule, final_schedule, handoffs, shifts
from warroom.oncall.domain import _Handoffs

CHICAGO, BERLIN = "America/Chicago", "Europe/Berlin"
PEOPLE = ("ann", "ben", "cat")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def rotation(zone: str, start: datetime, length: int, unit: str, **extra: object) -> Rotation:
    return Rotation(PEOPLE, start, length, unit, zone, **extra)  # type: ignore[arg-type]


# zone, a day before the change at 09:00 local, 09:00 local in UTC before and after, the DST-day shift length
DAILY_CASES = [
    pytest.param(CHICAGO, (2026, 3, 7), 15, 14, 23, id="chicago-spring"),
    pytest.param(CHICAGO, (2026, 10, 31), 14, 15, 25, id="chicago-autumn"),
    pytest.param(BERLIN, (2026, 3, 28), 8, 7, 23, id="berlin-spring"),
    pytest.param(BERLIN, (2026, 10, 24), 7, 8, 25, id="berlin-autumn"),
]


@pytest.mark.parametrize(("zone", "day", "before_hour", "after_hour", "dst_shift"), DAILY_CASES)
def test_daily_handoff_keeps_nine_local(
    zone: str, day: tuple[int, int, int], before_hour: int, after_hour: int, dst_shift: int
) -> None:
    first = local(zone, *day, 9)
    rot = rotation(zone, first - timedelta(days=30), 1, "days")
    found = handoffs(rot, first - timedelta(hours=1), first + timedelta(days=2, hours=1))
    assert [moment.hour for moment in found] == [before_hour, after_hour, after_hour]
    assert [moment.astimezone(ZoneInfo(zone)).time() for moment in found] == [time(9)] * 3
    assert found[0] == datetime(*day, before_hour, tzinfo=UTC)
    assert all(moment.tzinfo is UTC for moment in found)
    spans = shifts(rot, found[0], found[2])
    assert [hours(span.end - span.start) for span in spans] == [dst_shift, 24]


def test_chicago_spring_daily_utc_values() -> None:
    """The example from the brief, spelled out: 15:00Z before the change, 14:00Z after."""
    rot = rotation(CHICAGO, local(CHICAGO, 2026, 3, 1, 9), 1, "days")
    found = handoffs(rot, utc(2026, 3, 7), utc(2026, 3, 10))
    assert found == [utc(2026, 3, 7, 15), utc(2026, 3, 8, 14), utc(2026, 3, 9, 14)]
    users = [span.user for span in shifts(rot, utc(2026, 3, 7, 15), utc(2026, 3, 10, 14))]
    assert users == ["ann", "ben", "cat"]  # 6 days after the start: index 6, 7, 8 of 3 people


# zone, the Monday before the change, 09:00 local in UTC before and after, the shift across it in hours
WEEKLY_CASES = [
    pytest.param(CHICAGO, (2026, 3, 2), 15, 14, 167, id="chicago-spring"),
    pytest.param(CHICAGO, (2026, 10, 26), 14, 15, 169, id="chicago-autumn"),
    pytest.param(BERLIN, (2026, 3, 23), 8, 7, 167, id="berlin-spring"),
    pytest.param(BERLIN, (2026, 10, 19), 7, 8, 169, id="berlin-autumn"),
]


@pytest.mark.parametrize(("zone", "monday", "before_hour", "after_hour", "length"), WEEKLY_CASES)
def test_weekly_monday_handoff_keeps_nine_local(
    zone: str, monday: tuple[int, int, int], before_hour: int, after_hour: int, length: int
) -> None:
    start = local(zone, *monday, 9) - timedelta(weeks=5)
    rot = rotation(zone, start, 1, "weeks")
    found = handoffs(rot, local(zone, *monday), local(zone, *monday) + timedelta(days=14))
    assert [moment.hour for moment in found] == [before_hour, after_hour]
    for moment in found:
        assert moment.astimezone(ZoneInfo(zone)).weekday() == 0
        assert moment.astimezone(ZoneInfo(zone)).time() == time(9)
    spans = shifts(rot, found[0], found[1])
    assert len(spans) == 1
    assert hours(spans[0].end - spans[0].start) == length
    assert spans[0].user == PEOPLE[5 % 3]


# zone, 20:00 local the evening before the change, the night shift's length
TWELVE_HOUR_CASES = [
    pytest.param(CHICAGO, (2026, 3, 7), 11, id="chicago-spring"),
    pytest.param(CHICAGO, (2026, 10, 31), 13, id="chicago-autumn"),
    pytest.param(BERLIN, (2026, 3, 28), 11, id="berlin-spring"),
    pytest.param(BERLIN, (2026, 10, 24), 13, id="berlin-autumn"),
]


@pytest.mark.parametrize(("zone", "evening", "night"), TWELVE_HOUR_CASES)
def test_twelve_hour_rotation_keeps_eight_and_twenty(
    zone: str, evening: tuple[int, int, int], night: int
) -> None:
    rot = Rotation(("day", "night"), local(zone, 2026, 1, 5, 8), 12, "hours", zone)
    start = local(zone, *evening, 8)
    spans = shifts(rot, start, start + timedelta(days=3))
    assert [hours(span.end - span.start) for span in spans] == [12, night, 12, 12, 12, 12]
    assert [span.user for span in spans] == ["day", "night"] * 3
    for span in spans:
        assert span.start.astimezone(ZoneInfo(zone)).time() in (time(8), time(20))


# zone, the change day, 02:30 local the day before / on the day (moved to 03:00) / the day after, in UTC
GAP_CASES = [
    pytest.param(CHICAGO, (2026, 3, 8), (3, 7, 8, 30), (3, 8, 8, 0), (3, 9, 7, 30), id="chicago"),
    pytest.param(BERLIN, (2026, 3, 29), (3, 28, 1, 30), (3, 29, 1, 0), (3, 30, 0, 30), id="berlin"),
]


@pytest.mark.parametrize(("zone", "day", "before", "on", "after"), GAP_CASES)
def test_handoff_in_spring_gap_moves_to_end_of_gap(
    zone: str,
    day: tuple[int, int, int],
    before: tuple[int, ...],
    on: tuple[int, ...],
    after: tuple[int, ...],
) -> None:
    rot = rotation(zone, local(zone, 2026, 3, 1, 2, 30), 1, "days")
    found = handoffs(rot, local(zone, *day) - timedelta(days=1), local(zone, *day) + timedelta(days=2))
    assert found == [utc(2026, *before), utc(2026, *on), utc(2026, *after)]
    wall = [moment.astimezone(ZoneInfo(zone)).time() for moment in found]
    assert wall == [time(2, 30), time(3, 0), time(2, 30)]  # 03:00 is the first instant at/after 02:30
    spans = shifts(rot, found[0], found[2])
    assert [hours(span.end - span.start) for span in spans] == [23.5, 23.5]


def test_rotation_starting_inside_the_gap_uses_the_local_time_of_that_instant() -> None:
    start = local(CHICAGO, 2026, 3, 8, 2, 30)  # does not exist: Python reads it with the CST offset (08:30Z)
    rot = rotation(CHICAGO, start, 1, "days")
    found = handoffs(rot, utc(2026, 3, 8), utc(2026, 3, 11))
    assert found == [utc(2026, 3, 8, 8, 30), utc(2026, 3, 9, 8, 30), utc(2026, 3, 10, 8, 30)]
    assert {moment.astimezone(ZoneInfo(CHICAGO)).time() for moment in found} == {time(3, 30)}


@pytest.mark.parametrize(
    ("zone", "wall", "first", "day_before", "day_after"),
    [
        pytest.param(CHICAGO, (11, 1, 1, 30), (11, 1, 6, 30), (10, 31, 6, 30), (11, 2, 7, 30), id="chicago"),
        pytest.param(BERLIN, (10, 25, 2, 30), (10, 25, 0, 30), (10, 24, 0, 30), (10, 26, 1, 30), id="berlin"),
    ],
)
def test_ambiguous_autumn_handoff_takes_first_occurrence(
    zone: str,
    wall: tuple[int, ...],
    first: tuple[int, ...],
    day_before: tuple[int, ...],
    day_after: tuple[int, ...],
) -> None:
    rot = rotation(zone, local(zone, 2026, 10, 1, *wall[2:]), 1, "days")
    found = handoffs(rot, utc(2026, *day_before), utc(2026, *day_after) + timedelta(minutes=1))
    assert found == [utc(2026, *day_before), utc(2026, *first), utc(2026, *day_after)]
    assert found[1].astimezone(ZoneInfo(zone)).fold == 0
    spans = shifts(rot, found[0], found[2])
    assert [hours(span.end - span.start) for span in spans] == [24, 25]


def test_rotation_started_at_second_occurrence_keeps_that_instant() -> None:
    start = local(CHICAGO, 2026, 11, 1, 1, 30).replace(fold=1)  # 01:30 CST = 07:30Z
    rot = rotation(CHICAGO, start, 1, "days")
    assert handoffs(rot, utc(2026, 11, 1), utc(2026, 11, 3)) == [
        utc(2026, 11, 1, 7, 30),
        utc(2026, 11, 2, 7, 30),
    ]


def test_hourly_rotation_skips_the_missing_hour_and_doubles_the_repeated_one() -> None:
    rot = Rotation(("odd", "even"), local(CHICAGO, 2026, 3, 1), 1, "hours", CHICAGO)
    spring = shifts(rot, local(CHICAGO, 2026, 3, 8, 1), local(CHICAGO, 2026, 3, 8, 4))
    # 01:00 CST, (02:00 does not exist: that shift has no length), 03:00 CDT
    assert [(s.start, s.end) for s in spring] == [
        (utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)),
        (utc(2026, 3, 8, 8), utc(2026, 3, 8, 9)),
    ]
    autumn = shifts(rot, local(CHICAGO, 2026, 11, 1, 0), local(CHICAGO, 2026, 11, 1, 3))
    assert [hours(s.end - s.start) for s in autumn] == [1, 2, 1]  # the 01:00 shift covers 01:00 twice


def test_night_restriction_across_spring_forward_is_fifteen_hours() -> None:
    nights = Restriction(days=(5,), start=time(17), end=time(9))  # Saturday 17:00 to Sunday 09:00
    rot = rotation(CHICAGO, local(CHICAGO, 2026, 3, 2, 9), 1, "weeks", restrictions=(nights,))
    spans = shifts(rot, utc(2026, 3, 7), utc(2026, 3, 9))
    assert [(s.start, s.end) for s in spans] == [(utc(2026, 3, 7, 23), utc(2026, 3, 8, 14))]


def test_each_layer_hands_off_in_its_own_zone() -> None:
    chicago = Layer(
        "us",
        1,
        rotation(CHICAGO, local(CHICAGO, 2026, 3, 1, 9), 1, "days", end=local(CHICAGO, 2026, 3, 29, 0)),
    )
    berlin = Layer("eu", 0, rotation(BERLIN, local(BERLIN, 2026, 3, 1, 9), 1, "days"))
    spans = final_schedule(Schedule((chicago, berlin)), utc(2026, 3, 28, 12), utc(2026, 3, 30, 12))
    assert [(s.start, s.source) for s in spans] == [
        (utc(2026, 3, 28, 12), "us"),
        (utc(2026, 3, 28, 14), "us"),  # 09:00 CDT
        (utc(2026, 3, 29, 5), "eu"),  # the US layer ends at midnight Chicago; EU's 09:00 CET shift runs on
        (utc(2026, 3, 29, 7), "eu"),  # 09:00 CEST
        (utc(2026, 3, 30, 7), "eu"),
    ]


def test_index_estimate_from_the_repeated_hour_steps_forward() -> None:
    """01:15 CST (second pass) reads as before 01:30 on the wall, yet today's 01:30 CDT handoff has passed."""
    clock = _Handoffs.of(rotation(CHICAGO, local(CHICAGO, 2026, 10, 1, 1, 30), 1, "days"))
    index = clock.index(local(CHICAGO, 2026, 11, 1, 1, 15).replace(fold=1))
    assert (clock.at(index), clock.at(index + 1)) == (utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 7, 30))
