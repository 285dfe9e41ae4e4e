"""The intake backlog's pure parts (alerts/intake/backlog.py): which requests are deferred by the meter, and
each request's answer put back in the requests' order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from warroom.alerts.intake.backlog import DEFER_REQUESTS_PER_SECOND, defer_meter, merged
from warroom.alerts.intake.work import EventOutcome

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _outcome(outcome: str, key: str) -> list[EventOutcome]:
    return [EventOutcome("trigger", outcome, key)]


def test_requests_past_the_limit_in_a_second_are_deferred_per_integration() -> None:
    meter = defer_meter()
    at = [START + timedelta(milliseconds=n) for n in range(DEFER_REQUESTS_PER_SECOND + 2)]
    assert [meter.over(3, moment) for moment in at] == [False] * DEFER_REQUESTS_PER_SECOND + [True] * 2
    assert meter.over(4, at[-1]) is False  # counted per integration


def test_the_second_after_one_past_the_limit_is_deferred_whole_then_the_meter_lets_go() -> None:
    meter = defer_meter()
    for n in range(DEFER_REQUESTS_PER_SECOND + 1):  # a storm's second
        meter.over(3, START + timedelta(microseconds=n))
    following = START + timedelta(seconds=1)
    assert meter.over(3, following) is True  # its first request too: the storm goes on one way
    calm = following + timedelta(seconds=1)  # the storm eased: the last window stayed under the limit
    assert meter.over(3, calm) is False
    assert meter.over(4, following) is False  # another integration is not held to the first's storm


def test_a_storm_after_a_pause_starts_counting_afresh() -> None:
    meter = defer_meter()
    for n in range(DEFER_REQUESTS_PER_SECOND + 1):
        meter.over(3, START + timedelta(microseconds=n))
    assert meter.over(3, START + timedelta(seconds=3)) is False  # not right after the storm's second


def test_answers_come_back_in_the_requests_order() -> None:
    later = [False, True, True, False, True]
    now = [_outcome("created", "a"), _outcome("updated", "d")]
    queued = [_outcome("queued", "b"), _outcome("queued", "c"), _outcome("queued", "e")]
    keys = [outcomes[0].dedup_key for outcomes in merged(later, now, queued)]
    assert keys == ["a", "b", "c", "d", "e"]
    assert merged([], [], []) == []
