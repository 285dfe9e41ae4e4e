"""An integration's new alerts beyond FLOOD_ALERTS_PER_SECOND in a second are triaged on a queue of their
own (alerts/intake/flood.py); the count is per integration and per one-second window of intake's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from warroom.alerts.intake.flood import DEFAULT_QUEUE, FLOOD_ALERTS_PER_SECOND, FLOOD_QUEUE, FloodMeter

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_first_alerts_of_each_second_stay_on_the_default_queue_and_the_rest_go_to_the_flood_queue() -> (
    None
):
    meter = FloodMeter()
    at = [START + timedelta(milliseconds=n) for n in range(FLOOD_ALERTS_PER_SECOND + 3)]
    queues = [meter.queue_for(7, moment) for moment in at]
    assert queues == [DEFAULT_QUEUE] * FLOOD_ALERTS_PER_SECOND + [FLOOD_QUEUE] * 3
    later = START + timedelta(seconds=1)  # a new window: the integration starts over
    assert meter.queue_for(7, later) == DEFAULT_QUEUE


def test_integrations_are_counted_apart() -> None:
    meter = FloodMeter(limit=2)
    assert [meter.queue_for(1, START) for _ in range(3)] == [DEFAULT_QUEUE, DEFAULT_QUEUE, FLOOD_QUEUE]
    assert meter.queue_for(2, START) == DEFAULT_QUEUE  # another sender's alert is not held up by the first's
    assert meter.queue_for(1, START + timedelta(milliseconds=999)) == FLOOD_QUEUE


def test_a_clock_that_goes_back_starts_a_new_window() -> None:
    meter = FloodMeter(limit=1)
    assert meter.queue_for(1, START) == DEFAULT_QUEUE
    assert meter.queue_for(1, START) == FLOOD_QUEUE
    assert meter.queue_for(1, START - timedelta(milliseconds=1)) == DEFAULT_QUEUE


def test_a_meter_that_is_not_sticky_starts_each_second_afresh() -> None:
    meter = FloodMeter(limit=1)
    assert [meter.queue_for(1, START) for _ in range(2)] == [DEFAULT_QUEUE, FLOOD_QUEUE]
    assert meter.queue_for(1, START + timedelta(seconds=1)) == DEFAULT_QUEUE
