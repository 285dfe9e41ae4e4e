"""Property tests of the on-call maths over random zones, starts, shift lengths, windows and overrides.

Zones include a southern-hemisphere DST (Sydney), a 30-minute DST (Lord Howe) and none (UTC, Kolkata).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.oncall import (
    Layer,
    Override,
    Restriction,
    Rotation,
    Schedule,
    Span,
    final_schedule,
    handoffs,
    on_call_at,
    shifts,
)
from warroom.oncall.domain import _Handoffs

ZONES = ["America/Chicago", "Europe/Berlin", "Australia/Sydney", "UTC", "Australia/Lord_Howe", "Asia/Kolkata"]
NAMES = ["ann", "ben", "cat", "dan", "eve", "fay"]
MAX_LENGTH = {"hours": 48, "days": 14, "weeks": 4}
PROPERTY = settings(max_examples=100, deadline=None, database=None)

Case = tuple[Schedule, datetime, datetime]


@st.composite
def restrictions(draw: st.DrawFn) -> Restriction:
    days = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
    start, end = (draw(st.builds(time, st.integers(0, 23), st.sampled_from([0, 30]))) for _ in range(2))
    return Restriction(tuple(days), start, end)


@st.composite
def rotations(
    draw: st.DrawFn, units: tuple[str, ...] = ("hours", "days", "weeks"), restricted: bool = False
) -> Rotation:
    zone = draw(st.sampled_from(ZONES))
    wall = draw(st.datetimes(min_value=datetime(2018, 1, 1), max_value=datetime(2026, 12, 31)))
    start = wall.replace(second=0, microsecond=0, tzinfo=ZoneInfo(zone), fold=draw(st.integers(0, 1)))
    unit = draw(st.sampled_from(units))
    people = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6))
    rules = draw(st.lists(restrictions(), min_size=1, max_size=2)) if restricted else []
    length = draw(st.integers(1, MAX_LENGTH[unit]))
    return Rotation(tuple(people), start, length, unit, zone, tuple(rules))  # type: ignore[arg-type]


@st.composite
def cases(draw: st.DrawFn, restricted: bool = False, overrides: bool = False) -> Case:
    """Up to three layers, a window that starts after every rotation has, and overrides around it."""
    count = draw(st.integers(1, 3))
    layers = tuple(
        Layer(
            f"layer{i}",
            draw(st.integers(0, 2)),
            draw(rotations(restricted=restricted and draw(st.booleans()))),
        )
        for i in range(count)
    )
    lo = max(layer.rotation.start for layer in layers).astimezone(UTC)
    lo += draw(st.timedeltas(timedelta(0), timedelta(days=3 * 365)))
    hi = lo + draw(st.timedeltas(timedelta(minutes=1), timedelta(days=20)))
    covers: list[Override] = []
    for _ in range(draw(st.integers(0, 3)) if overrides else 0):
        begin = lo + draw(st.timedeltas(timedelta(days=-2), timedelta(days=21)))
        covers.append(
            Override(
                draw(st.sampled_from(NAMES)),
                begin,
                begin + draw(st.timedeltas(timedelta(minutes=1), timedelta(days=5))),
            )
        )
    return Schedule(layers, tuple(covers)), lo, hi


def assert_tiles(spans: list[Span], lo: datetime, hi: datetime) -> None:
    assert spans[0].start == lo
    assert spans[-1].end == hi
    for before, after in pairwise(spans):
        assert before.end == after.start
        assert (before.user, before.source) != (after.user, after.source)  # merged
    assert all(span.start < span.end and span.start.tzinfo is UTC for span in spans)


def entry_at(spans: list[Span], instant: datetime) -> tuple[str | None, str]:
    (span,) = [span for span in spans if span.contains(instant)]
    return span.user, span.source


@PROPERTY
@given(cases())
def test_unrestricted_schedule_tiles_the_window_without_gaps(case: Case) -> None:
    schedule, lo, hi = case
    spans = final_schedule(schedule, lo, hi)
    assert_tiles(spans, lo, hi)
    assert all(span.user is not None and span.source != "gap" for span in spans)


@PROPERTY
@given(cases(restricted=True, overrides=True), st.floats(0, 1))
def test_final_schedule_does_not_depend_on_where_the_window_is_cut(case: Case, fraction: float) -> None:
    schedule, lo, hi = case
    whole = final_schedule(schedule, lo, hi)
    assert_tiles(whole, lo, hi)
    middle = lo + (hi - lo) * fraction
    left, right = final_schedule(schedule, lo, middle), final_schedule(schedule, middle, hi)
    if left and right and (left[-1].user, left[-1].source) == (right[0].user, right[0].source):
        left[-1:], right[:1] = [Span(left[-1].start, right[0].end, right[0].user, right[0].source)], []
    assert left + right == whole


@PROPERTY
@given(cases(restricted=True, overrides=True), st.data())
def test_an_override_always_wins_inside_its_window(case: Case, data: st.DataObject) -> None:
    schedule, lo, hi = case
    begin = lo + data.draw(st.timedeltas(timedelta(days=-1), timedelta(days=20)))
    cover = Override("zed", begin, begin + data.draw(st.timedeltas(timedelta(minutes=1), timedelta(days=3))))
    without = final_schedule(schedule, lo, hi)
    covered = Schedule(schedule.layers, (*schedule.overrides, cover))  # listed last, so it wins equal starts
    spans = final_schedule(covered, lo, hi)
    assert_tiles(spans, lo, hi)
    later = [o for o in schedule.overrides if o.start > cover.start]  # these may cut into it
    for instant in sorted({span.start for span in spans} | {max(cover.start, lo)}):
        inside = cover.start <= instant < cover.end and instant < hi
        if inside and not any(o.start <= instant < o.end for o in later):
            assert entry_at(spans, instant) == ("zed", "override")
    for instant in {span.start for span in spans + without}:
        if not cover.start <= instant < cover.end:
            assert entry_at(spans, instant) == entry_at(without, instant)


@PROPERTY
@given(cases(restricted=True, overrides=True), st.floats(0, 1, exclude_max=True))
def test_on_call_at_agrees_with_the_final_schedule(case: Case, fraction: float) -> None:
    schedule, lo, hi = case
    instant = min(lo + (hi - lo) * fraction, hi - timedelta(microseconds=1))
    (expected,) = [span for span in final_schedule(schedule, lo, hi) if span.contains(instant)]
    found = on_call_at(schedule, instant)  # 35-day horizon > 20-day window: clipping to it must agree
    assert found.contains(instant)
    assert (found.user, found.source) == (expected.user, expected.source)
    assert (max(found.start, lo), min(found.end, hi)) == (expected.start, expected.end)
    assert (found.user is None) == (found.source == "gap")


@PROPERTY
@given(rotations(units=("days", "weeks")), st.timedeltas(timedelta(0), timedelta(days=4 * 365)))
def test_day_and_week_handoffs_keep_their_local_time_of_day(rotation: Rotation, offset: timedelta) -> None:
    zone, wall0 = rotation.zone, rotation.start.astimezone(rotation.zone).replace(tzinfo=None)
    lo = rotation.start.astimezone(UTC) + offset
    found = handoffs(rotation, lo, lo + timedelta(days=90))
    walls = [moment.astimezone(zone).replace(tzinfo=None) for moment in found]
    for moment, wall in zip(found, walls, strict=True):
        if wall.time() != wall0.time():  # only allowed where that time of day does not exist: the gap's end
            intended = datetime.combine(wall.date(), wall0.time())
            assert not exists(intended, zone)
            assert wall > intended
            assert (moment - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None) < intended
    for before, after in pairwise(walls):
        assert after.date() - before.date() == rotation.step


def exists(wall: datetime, zone: ZoneInfo) -> bool:
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def reference_localise(wall: datetime, zone: ZoneInfo) -> datetime:
    """Slow and simple: fold=0 if the time exists, else scan minutes to the first at/after it."""
    if exists(wall, zone):
        return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    probe = wall.replace(second=0, microsecond=0, tzinfo=UTC) - timedelta(hours=15)
    while probe.astimezone(zone).replace(tzinfo=None) < wall:
        probe += timedelta(minutes=1)
    return probe


def reference_shifts(rotation: Rotation, lo: datetime, hi: datetime) -> list[Span]:
    """Walk every shift from the rotation's start, one at a time."""
    zone, spans = rotation.zone, []
    wall0 = rotation.start.astimezone(zone).replace(tzinfo=None)
    index, begin = 0, rotation.start.astimezone(UTC)
    while begin < hi:
        finish = reference_localise(wall0 + (index + 1) * rotation.step, zone)
        if max(begin, lo) < min(finish, hi):
            who = rotation.participants[index % len(rotation.participants)]
            spans.append(Span(max(begin, lo), min(finish, hi), who, "rotation"))
        index, begin = index + 1, finish
    return spans


@PROPERTY
@given(rotations(), st.integers(0, 300), st.timedeltas(timedelta(minutes=1), timedelta(days=10)))
def test_jumping_to_a_shift_matches_walking_from_the_start(
    rotation: Rotation, skip: int, length: timedelta
) -> None:
    lo = rotation.start.astimezone(UTC) + skip * rotation.step - timedelta(hours=7)
    assert shifts(rotation, lo, lo + length) == reference_shifts(rotation, lo, lo + length)


@PROPERTY
@given(rotations(), st.timedeltas(timedelta(0), timedelta(days=5 * 365)))
def test_the_index_estimate_lands_on_the_shift_containing_the_instant(
    rotation: Rotation, offset: timedelta
) -> None:
    clock = _Handoffs.of(rotation)  # the jump that spares walking from a start years ago
    instant = rotation.start.astimezone(UTC) + offset
    index = clock.index(instant)
    assert clock.at(index) <= instant < clock.at(index + 1)
