"""Layers, restrictions, overrides, merging, gaps, rotation lifetimes and validation of on-call schedules.

Most cases use Berlin in February 2026 (CET, UTC+1, no DST change): 09:00 local is 08:00Z.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from warroom.oncall import (
    Layer,
    Override,
    Restriction,
    Rotation,
    Schedule,
    Span,
    domain,
    final_schedule,
    gaps,
    on_call_at,
    shifts,
    user_shifts,
)

BERLIN = "Europe/Berlin"
WEEKDAYS_9_TO_5 = Restriction(days=(0, 1, 2, 3, 4), start=time(9), end=time(17))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(BERLIN))  # type: ignore[misc]


def base_layer(**extra: Any) -> Layer:
    """24/7, weekly, Monday 09:00: Feb 2 starts week 4, so alice has that week and bob the one before."""
    return Layer("base", 0, Rotation(("alice", "bob"), berlin(2026, 1, 5, 9), 1, "weeks", BERLIN, **extra))


def business_layer(**extra: Any) -> Layer:
    """Weekdays 09:00-17:00, daily: 2026-02-02 is day 28, so carol has Feb 2 and dave Feb 3."""
    rotation = Rotation(
        ("carol", "dave"), berlin(2026, 1, 5, 9), 1, "days", BERLIN, restrictions=(WEEKDAYS_9_TO_5,), **extra
    )
    return Layer("business", 10, rotation)


def rows(spans: list[Span]) -> list[tuple[datetime, datetime, str | None, str]]:
    return [(span.start, span.end, span.user, span.source) for span in spans]


MON, TUE, WED, THU = berlin(2026, 2, 2), berlin(2026, 2, 3), berlin(2026, 2, 4), berlin(2026, 2, 5)


def test_restricted_layer_wins_inside_its_windows_and_base_outside() -> None:
    spans = final_schedule(Schedule((base_layer(), business_layer())), MON, WED)
    assert rows(spans) == [
        (utc(2026, 2, 1, 23), utc(2026, 2, 2, 8), "bob", "base"),
        (utc(2026, 2, 2, 8), utc(2026, 2, 2, 16), "carol", "business"),
        (utc(2026, 2, 2, 16), utc(2026, 2, 3, 8), "alice", "base"),
        (utc(2026, 2, 3, 8), utc(2026, 2, 3, 16), "dave", "business"),
        (utc(2026, 2, 3, 16), utc(2026, 2, 3, 23), "alice", "base"),
    ]
    assert all(span.start.tzinfo is UTC and span.end.tzinfo is UTC for span in spans)


def test_layer_order_in_the_tuple_does_not_matter_priority_does() -> None:
    forwards = final_schedule(Schedule((base_layer(), business_layer())), MON, WED)
    assert final_schedule(Schedule((business_layer(), base_layer())), MON, WED) == forwards


def test_equal_priorities_go_to_the_layer_listed_later() -> None:
    first = Layer("first", 1, Rotation(("x",), MON, 1, "days", BERLIN))
    second = Layer("second", 1, Rotation(("y",), MON, 1, "days", BERLIN))
    assert rows(final_schedule(Schedule((first, second)), MON, TUE)) == [(MON, TUE, "y", "second")]


def test_weekend_is_all_base_and_merges_into_one_span() -> None:
    spans = final_schedule(Schedule((base_layer(), business_layer())), berlin(2026, 2, 7), berlin(2026, 2, 9))
    assert rows(spans) == [(utc(2026, 2, 6, 23), utc(2026, 2, 8, 23), "alice", "base")]


def test_restricted_layer_alone_leaves_gaps() -> None:
    schedule = Schedule((business_layer(),))
    assert rows(final_schedule(schedule, MON, TUE)) == [
        (utc(2026, 2, 1, 23), utc(2026, 2, 2, 8), None, "gap"),
        (utc(2026, 2, 2, 8), utc(2026, 2, 2, 16), "carol", "business"),
        (utc(2026, 2, 2, 16), utc(2026, 2, 2, 23), None, "gap"),
    ]
    weekend = gaps(schedule, berlin(2026, 2, 6, 12), berlin(2026, 2, 9, 12))
    assert rows(weekend) == [(utc(2026, 2, 6, 16), utc(2026, 2, 9, 8), None, "gap")]


def test_schedule_without_layers_is_one_gap() -> None:
    assert rows(final_schedule(Schedule(()), MON, TUE)) == [(MON, TUE, None, "gap")]
    assert final_schedule(Schedule(()), MON, MON) == []


def test_restriction_crossing_midnight_and_full_day() -> None:
    nights = Restriction(days=(0,), start=time(17), end=time(9))
    whole_wednesday = Restriction(days=(2,), start=time(6), end=time(6))
    rotation = Rotation(
        ("ops",), berlin(2026, 1, 5), 1, "weeks", BERLIN, restrictions=(nights, whole_wednesday)
    )
    assert rows(shifts(rotation, MON, berlin(2026, 2, 6), source="nights")) == [
        (utc(2026, 2, 2, 16), utc(2026, 2, 3, 8), "ops", "nights"),
        (utc(2026, 2, 4, 5), utc(2026, 2, 5, 5), "ops", "nights"),
    ]


def test_overlapping_restrictions_do_not_duplicate_shifts() -> None:
    morning = Restriction(days=(0,), start=time(8), end=time(12))
    midday = Restriction(days=(0,), start=time(10), end=time(14))
    rotation = Rotation(("ops",), berlin(2026, 1, 5), 1, "weeks", BERLIN, restrictions=(morning, midday))
    assert rows(shifts(rotation, MON, TUE)) == [(utc(2026, 2, 2, 7), utc(2026, 2, 2, 13), "ops", "rotation")]


def test_override_beats_every_layer() -> None:
    cover = Override("eve", berlin(2026, 2, 2, 12), berlin(2026, 2, 2, 18))
    spans = final_schedule(Schedule((base_layer(), business_layer()), (cover,)), MON, TUE)
    assert rows(spans)[1:] == [
        (utc(2026, 2, 2, 8), utc(2026, 2, 2, 11), "carol", "business"),
        (utc(2026, 2, 2, 11), utc(2026, 2, 2, 17), "eve", "override"),
        (utc(2026, 2, 2, 17), utc(2026, 2, 2, 23), "alice", "base"),
    ]


def test_override_fills_a_gap_and_is_clipped_to_the_window() -> None:
    cover = Override("eve", berlin(2026, 2, 1, 20), berlin(2026, 2, 2, 7))
    spans = final_schedule(Schedule((business_layer(),), (cover,)), MON, berlin(2026, 2, 2, 12))
    assert rows(spans) == [
        (utc(2026, 2, 1, 23), utc(2026, 2, 2, 6), "eve", "override"),
        (utc(2026, 2, 2, 6), utc(2026, 2, 2, 8), None, "gap"),
        (utc(2026, 2, 2, 8), utc(2026, 2, 2, 11), "carol", "business"),
    ]


def test_overlapping_overrides_the_later_start_wins() -> None:
    long = Override("frank", berlin(2026, 2, 7, 10), berlin(2026, 2, 7, 18))
    short = Override("gina", berlin(2026, 2, 7, 12), berlin(2026, 2, 7, 13))
    early = Override("hank", berlin(2026, 2, 7, 8), berlin(2026, 2, 7, 11))
    expected = [
        (utc(2026, 2, 7, 7), utc(2026, 2, 7, 9), "hank", "override"),
        (utc(2026, 2, 7, 9), utc(2026, 2, 7, 11), "frank", "override"),
        (utc(2026, 2, 7, 11), utc(2026, 2, 7, 12), "gina", "override"),
        (utc(2026, 2, 7, 12), utc(2026, 2, 7, 17), "frank", "override"),
    ]
    for overrides in [(long, short, early), (early, short, long), (short, early, long)]:
        spans = final_schedule(Schedule((), overrides), berlin(2026, 2, 7, 8), berlin(2026, 2, 7, 18))
        assert rows(spans) == expected


def test_overrides_with_equal_starts_go_to_the_one_listed_later() -> None:
    first = Override("ivy", MON, TUE)
    second = Override("jon", MON, berlin(2026, 2, 2, 12))
    assert rows(final_schedule(Schedule((), (first, second)), MON, TUE)) == [
        (MON, berlin(2026, 2, 2, 12), "jon", "override"),
        (berlin(2026, 2, 2, 12), TUE, "ivy", "override"),
    ]


def test_merging_same_user_same_source_only() -> None:
    repeat = Layer("repeat", 0, Rotation(("ann", "ann", "ben"), MON, 1, "days", BERLIN))
    spans = final_schedule(
        Schedule((repeat,), (Override("ben", berlin(2026, 2, 5, 6), berlin(2026, 2, 5, 8)),)),
        MON,
        berlin(2026, 2, 6),
    )
    assert rows(spans) == [
        (MON, WED, "ann", "repeat"),  # two consecutive shifts of ann: one span
        (WED, THU, "ben", "repeat"),
        (THU, berlin(2026, 2, 5, 6), "ann", "repeat"),
        (berlin(2026, 2, 5, 6), berlin(2026, 2, 5, 8), "ben", "override"),
        (berlin(2026, 2, 5, 8), berlin(2026, 2, 6), "ann", "repeat"),
    ]


def test_same_user_from_another_source_is_not_merged() -> None:
    cover = Override("alice", berlin(2026, 2, 2, 18), berlin(2026, 2, 2, 20))
    spans = final_schedule(
        Schedule((base_layer(),), (cover,)), berlin(2026, 2, 2, 17), berlin(2026, 2, 2, 21)
    )
    assert [(span.user, span.source) for span in spans] == [
        ("alice", "base"),
        ("alice", "override"),
        ("alice", "base"),
    ]


def test_user_shifts_include_overrides() -> None:
    cover = Override("alice", berlin(2026, 2, 3, 10), berlin(2026, 2, 3, 11))
    schedule = Schedule((base_layer(), business_layer()), (cover,))
    assert rows(user_shifts(schedule, "alice", MON, WED)) == [
        (utc(2026, 2, 2, 16), utc(2026, 2, 3, 8), "alice", "base"),
        (utc(2026, 2, 3, 9), utc(2026, 2, 3, 10), "alice", "override"),
        (utc(2026, 2, 3, 16), utc(2026, 2, 3, 23), "alice", "base"),
    ]
    assert user_shifts(schedule, "nobody", MON, WED) == []


def test_rotation_end_hands_back_to_the_lower_layer() -> None:
    schedule = Schedule((base_layer(), business_layer(end=berlin(2026, 2, 3, 12))))
    assert rows(final_schedule(schedule, berlin(2026, 2, 3, 10), berlin(2026, 2, 3, 14))) == [
        (utc(2026, 2, 3, 9), utc(2026, 2, 3, 11), "dave", "business"),
        (utc(2026, 2, 3, 11), utc(2026, 2, 3, 13), "alice", "base"),
    ]
    assert shifts(business_layer(end=MON).rotation, TUE, WED) == []


def test_before_the_rotation_starts_nobody_is_on() -> None:
    late = Layer("late", 0, Rotation(("kim",), berlin(2026, 2, 2, 12), 1, "days", BERLIN))
    assert rows(final_schedule(Schedule((late,)), MON, berlin(2026, 2, 2, 14))) == [
        (utc(2026, 2, 1, 23), utc(2026, 2, 2, 11), None, "gap"),
        (utc(2026, 2, 2, 11), utc(2026, 2, 2, 13), "kim", "late"),
    ]


def test_on_call_at_returns_the_whole_span() -> None:
    schedule = Schedule((base_layer(), business_layer()))
    assert on_call_at(schedule, berlin(2026, 2, 2, 12)) == Span(
        utc(2026, 2, 2, 8), utc(2026, 2, 2, 16), "carol", "business"
    )
    saturday = on_call_at(schedule, berlin(2026, 2, 7, 12))
    assert saturday == Span(utc(2026, 2, 6, 16), utc(2026, 2, 9, 8), "alice", "base")


def test_on_call_at_in_a_gap_is_a_gap_span_with_its_end() -> None:
    gap = on_call_at(Schedule((business_layer(),)), berlin(2026, 2, 7, 12))
    assert gap == Span(utc(2026, 2, 6, 16), utc(2026, 2, 9, 8), None, "gap")


def test_on_call_at_is_cut_at_the_horizon_and_at_the_rotation_start() -> None:
    solo = Schedule((Layer("solo", 0, Rotation(("lee",), utc(2026, 2, 1), 1, "weeks", "UTC")),))
    span = on_call_at(solo, utc(2026, 2, 3), horizon=timedelta(days=10))
    assert span == Span(utc(2026, 2, 1), utc(2026, 2, 13), "lee", "solo")
    assert on_call_at(solo, utc(2026, 1, 1)) == Span(utc(2025, 11, 27), utc(2026, 2, 1), None, "gap")


def test_rotation_started_three_years_ago_jumps_to_the_right_shift(monkeypatch: pytest.MonkeyPatch) -> None:
    chicago = ZoneInfo("America/Chicago")
    people = tuple(f"p{i}" for i in range(7))
    rotation = Rotation(people, datetime(2023, 3, 1, 9, tzinfo=chicago), 1, "days", "America/Chicago")
    calls: list[datetime] = []
    real = domain._localise
    monkeypatch.setattr(domain, "_localise", lambda wall, zone: calls.append(wall) or real(wall, zone))
    start, end = datetime(2026, 3, 2, tzinfo=chicago), datetime(2026, 3, 16, tzinfo=chicago)
    spans = final_schedule(Schedule((Layer("primary", 0, rotation),)), start, end)
    assert len(calls) < 60  # about one per handoff in the window, not one per day since 2023
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(16)]
    edges = [start] + [datetime.combine(day, time(9), chicago) for day in days[1:-1]] + [end]
    expected = [
        (begin.astimezone(UTC), finish.astimezone(UTC), people[(day - date(2023, 3, 1)).days % 7], "primary")
        for begin, finish, day in zip(edges, edges[1:], days, strict=False)
    ]
    assert rows(spans) == expected
    assert spans[7].start == utc(2026, 3, 8, 14)  # 09:00 CDT, the day the clocks change


def _kwargs(**changes: Any) -> dict[str, Any]:
    good: dict[str, Any] = {
        "participants": ("a",),
        "start": utc(2026, 1, 1),
        "shift_length": 1,
        "shift_unit": "days",
        "time_zone": "UTC",
    }
    return good | changes


INVALID: list[tuple[Callable[[], object], str]] = [
    (lambda: Rotation(**_kwargs(participants=())), "at least one participant"),
    (lambda: Rotation(**_kwargs(participants=("a", ""))), "non-empty strings"),
    (lambda: Rotation(**_kwargs(shift_length=0)), "at least 1"),
    (lambda: Rotation(**_kwargs(shift_length=1.5)), "integer"),
    (lambda: Rotation(**_kwargs(shift_unit="months")), "shift_unit"),
    (lambda: Rotation(**_kwargs(time_zone="Mars/Olympus_Mons")), "unknown time zone"),
    (lambda: Rotation(**_kwargs(time_zone="")), "unknown time zone"),
    (lambda: Rotation(**_kwargs(start=datetime(2026, 1, 1))), "timezone-aware"),
    (lambda: Rotation(**_kwargs(end=utc(2026, 1, 1))), "must be after its start"),
    (lambda: Rotation(**_kwargs(end=datetime(2026, 2, 1))), "timezone-aware"),
    (lambda: Restriction(days=(), start=time(9), end=time(17)), "at least one weekday"),
    (lambda: Restriction(days=(7,), start=time(9), end=time(17)), "0=Monday"),
    (lambda: Restriction(days=(1,), start=time(9, tzinfo=UTC), end=time(17)), "without tzinfo"),
    (lambda: Layer("gap", 0, Rotation(**_kwargs())), "reserved"),
    (lambda: Layer("", 0, Rotation(**_kwargs())), "non-empty name"),
    (lambda: Override("a", utc(2026, 1, 2), utc(2026, 1, 1)), "must be after its start"),
    (lambda: Override("", utc(2026, 1, 1), utc(2026, 1, 2)), "non-empty user"),
    (lambda: Override("a", datetime(2026, 1, 1), utc(2026, 1, 2)), "timezone-aware"),
    (lambda: Schedule((base_layer(), base_layer())), "unique"),
    (lambda: Span(utc(2026, 1, 1), utc(2026, 1, 1), "a", "x"), "must be after its start"),
    (lambda: final_schedule(Schedule(()), TUE, MON), "before its start"),
    (lambda: final_schedule(Schedule(()), datetime(2026, 1, 1), MON), "timezone-aware"),
    (lambda: on_call_at(Schedule(()), MON, horizon=timedelta(0)), "horizon"),
]


@pytest.mark.parametrize(("build", "message"), INVALID)
def test_invalid_inputs_raise_value_error(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_lists_are_stored_as_tuples() -> None:
    rotation = Rotation(["a", "b"], utc(2026, 1, 1), 1, "days", "UTC")  # type: ignore[arg-type]
    assert rotation.participants == ("a", "b")
    assert hash(rotation)
