"""Durations, response deadlines (including business days across DST) and target status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from warroom.procedure.domain import (
    describe_duration,
    describe_target,
    parse_duration,
    response_deadline,
    target_status,
)
from warroom.procedure.loader import load_default_procedure
from warroom.procedure.schemas import Procedure

DEFAULT = load_default_procedure().procedure


def with_hours(**changes: Any) -> Procedure:
    """The default procedure with business hours changed, re-validated like a loaded file."""
    data = DEFAULT.model_dump()
    data["business_hours"].update(changes)
    return Procedure.model_validate(data)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("4h", timedelta(hours=4)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("45s", timedelta(seconds=45)),
        ("90s", timedelta(seconds=90)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_parse_duration_accepts_compact_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15", "m", "15 m", "1.5h", "-5m", "0m", "30m1h", "1w", "15min", " 15m"])
def test_parse_duration_rejects_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(minutes=15), "15 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=1, minutes=30), "1 hour 30 minutes"),
        (timedelta(days=1, seconds=1), "1 day 1 second"),
    ],
)
def test_describe_duration(delta: timedelta, words: str) -> None:
    assert describe_duration(delta) == words


def test_describe_target_handles_next_business_day() -> None:
    assert describe_target("next_business_day") == "next business day"
    assert describe_target("4h") == "4 hours"


# --- response deadlines ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("P1", timedelta(minutes=15)), ("P2", timedelta(minutes=30)), ("P3", timedelta(hours=4))],
)
def test_duration_targets_add_elapsed_time(severity: str, expected: timedelta) -> None:
    start = utc(2026, 3, 6, 14, 0)
    deadline = response_deadline(DEFAULT, severity, start)
    assert deadline == start + expected
    assert deadline.utcoffset() == timedelta(0)


def test_duration_target_is_elapsed_time_even_across_dst() -> None:
    # 00:30 local Berlin time on the night clocks spring forward; 4h later is 05:30 CEST, not 04:30.
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 29, 0, 30, tzinfo=berlin)
    deadline = response_deadline(DEFAULT, "P3", start)
    assert deadline == utc(2026, 3, 28, 23, 30) + timedelta(hours=4)
    assert deadline.astimezone(berlin).hour == 5


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (utc(2026, 3, 6, 14, 0), utc(2026, 3, 9, 17, 0)),  # Friday afternoon -> Monday
        (utc(2026, 3, 7, 10, 0), utc(2026, 3, 9, 17, 0)),  # Saturday -> Monday
        (utc(2026, 3, 8, 23, 59), utc(2026, 3, 9, 17, 0)),  # Sunday night -> Monday
        (utc(2026, 3, 3, 8, 0), utc(2026, 3, 4, 17, 0)),  # Tuesday before hours -> strictly the next day
    ],
)
def test_next_business_day_skips_weekends(start: datetime, expected: datetime) -> None:
    assert response_deadline(DEFAULT, "P4", start) == expected


def test_next_business_day_skips_holidays() -> None:
    # Thursday 24 December; Friday 25th is a holiday, then the weekend.
    procedure = with_hours(holidays=[date(2026, 12, 25)])
    assert response_deadline(procedure, "P4", utc(2026, 12, 24, 11, 0)) == utc(2026, 12, 28, 17, 0)
    # Without the holiday it is the Friday.
    assert response_deadline(DEFAULT, "P4", utc(2026, 12, 24, 11, 0)) == utc(2026, 12, 25, 17, 0)


def test_next_business_day_uses_custom_days() -> None:
    procedure = with_hours(days=["sat", "sun"])
    assert response_deadline(procedure, "P4", utc(2026, 3, 6, 14, 0)) == utc(2026, 3, 7, 17, 0)


def test_next_business_day_in_berlin_across_spring_forward() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    procedure = with_hours(timezone="Europe/Berlin")
    # 23:30 UTC Thursday is already 00:30 Friday in Berlin (CET, UTC+1): the local date counts.
    start = utc(2026, 3, 26, 23, 30)
    deadline = response_deadline(procedure, "P4", start)
    # Next business day is Monday 30 March, after the switch to CEST (UTC+2) on Sunday 29th.
    assert deadline == utc(2026, 3, 30, 15, 0)
    assert deadline.tzinfo is UTC
    local = deadline.astimezone(berlin)
    assert (local.date(), local.hour) == (date(2026, 3, 30), 17)
    assert local.utcoffset() == timedelta(hours=2)


def test_next_business_day_in_chicago_across_fall_back() -> None:
    chicago = ZoneInfo("America/Chicago")
    procedure = with_hours(timezone="America/Chicago")
    start = datetime(2026, 10, 30, 10, 0, tzinfo=chicago)  # Friday, CDT (UTC-5)
    deadline = response_deadline(procedure, "P4", start)
    # Monday 2 November 17:00 CST (UTC-6), clocks went back on Sunday 1st.
    assert deadline == utc(2026, 11, 2, 23, 0)
    assert deadline.astimezone(chicago).utcoffset() == timedelta(hours=-6)


def test_response_deadline_rejects_naive_start_and_unknown_severity() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        response_deadline(DEFAULT, "P1", datetime(2026, 3, 6, 14, 0))
    with pytest.raises(KeyError):
        response_deadline(DEFAULT, "P9", utc(2026, 3, 6, 14, 0))


# --- target status -----------------------------------------------------------------------------

DECLARED = utc(2026, 3, 6, 14, 0)
P1_DEADLINE = DECLARED + timedelta(minutes=15)


def test_target_met_when_acknowledged_in_time() -> None:
    acked = DECLARED + timedelta(minutes=10)
    status = target_status(DEFAULT, "P1", DECLARED, acked, now=DECLARED + timedelta(hours=3))
    assert status.deadline == P1_DEADLINE
    assert status.met is True
    assert status.overdue is False
    assert status.remaining_seconds == 300.0
    assert status.acknowledged_at == acked


def test_target_met_when_acknowledged_exactly_at_the_deadline() -> None:
    status = target_status(DEFAULT, "P1", DECLARED, P1_DEADLINE, now=P1_DEADLINE)
    assert status.met is True
    assert status.remaining_seconds == 0.0


def test_target_missed_when_acknowledged_late() -> None:
    acked = DECLARED + timedelta(minutes=20)
    status = target_status(DEFAULT, "P1", DECLARED, acked, now=DECLARED + timedelta(minutes=21))
    assert status.met is False
    assert status.overdue is True
    assert status.remaining_seconds == -300.0


def test_target_pending_before_the_deadline() -> None:
    status = target_status(DEFAULT, "P1", DECLARED, None, now=DECLARED + timedelta(minutes=5))
    assert status.met is None
    assert status.overdue is False
    assert status.remaining_seconds == 600.0
    assert status.acknowledged_at is None


def test_target_overdue_without_acknowledgement() -> None:
    status = target_status(DEFAULT, "P1", DECLARED, None, now=DECLARED + timedelta(minutes=16))
    assert status.met is False
    assert status.overdue is True
    assert status.remaining_seconds == -60.0


def test_target_status_for_next_business_day() -> None:
    status = target_status(DEFAULT, "P4", DECLARED, None, now=utc(2026, 3, 9, 16, 0))
    assert status.deadline == utc(2026, 3, 9, 17, 0)
    assert status.met is None
    assert status.remaining_seconds == 3600.0
