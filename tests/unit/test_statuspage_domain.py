"""Status page rules without a database: uptime from a status history (per UTC day, worst status, outage
minutes weighted as Statuspage does), the overall indicator, and the maintenance state machine."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warroom.errors import IllegalTransition, InvalidInput
from warroom.statuspage import domain
from warroom.statuspage.domain import Change

T0 = datetime(2026, 3, 1, tzinfo=UTC)  # midnight


def test_a_day_takes_its_worst_status_and_weighs_outages() -> None:
    changes = [
        Change(T0 - timedelta(days=10), "operational"),
        Change(T0 + timedelta(hours=1), "degraded_performance"),
        Change(T0 + timedelta(hours=2), "major_outage"),  # 60 min, counted fully
        Change(T0 + timedelta(hours=3), "partial_outage"),  # 100 min, counted at 30%
        Change(T0 + timedelta(hours=4, minutes=40), "operational"),
    ]
    now = T0 + timedelta(days=2, hours=12)
    found = domain.uptime(changes, now=now, days=5)
    assert [d.day for d in found.days] == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
        date(2026, 3, 3),
    ]
    assert [d.worst for d in found.days] == [
        "operational",
        "operational",
        "major_outage",
        "operational",
        "operational",
    ]
    march_first = found.days[2]
    assert march_first.outage_minutes == pytest.approx(60 + 0.3 * 100)
    assert march_first.uptime == 93.75  # 1 - 90/1440, cut to two decimals
    assert found.days[-1].minutes == 12 * 60  # today counts up to now
    assert found.minutes == 4 * 1440 + 720
    assert found.percent == domain.percent(90, 4 * 1440 + 720)


def test_days_before_the_first_change_have_no_data() -> None:
    created = T0 + timedelta(hours=18)
    found = domain.uptime([Change(created, "operational")], now=T0 + timedelta(days=1, hours=6), days=3)
    assert [d.worst for d in found.days] == [None, "operational", "operational"]
    assert found.days[0].uptime is None and found.minutes == 6 * 60 + 6 * 60
    assert found.percent == 100.0
    assert domain.uptime([], now=T0, days=90).percent is None


def test_maintenance_and_degradation_are_not_downtime_and_any_outage_shows() -> None:
    changes = [
        Change(T0, "under_maintenance"),
        Change(T0 + timedelta(hours=6), "degraded_performance"),
        Change(T0 + timedelta(hours=12), "major_outage"),
        Change(T0 + timedelta(hours=12, seconds=30), "operational"),
    ]
    found = domain.uptime(changes, now=T0 + timedelta(days=1), days=2)
    assert found.days[1].worst == "operational" and found.days[1].minutes == 0  # today, at midnight
    assert found.days[0].worst == "major_outage" and found.outage_minutes == pytest.approx(0.5)
    assert found.percent == 99.96  # 30 s of 24 h is 99.965...: cut, never rounded up to 100


@given(
    st.lists(
        st.tuples(st.integers(0, 90 * 24 * 60), st.sampled_from(domain.COMPONENT_STATUSES)),
        min_size=1,
        max_size=30,
    )
)
def test_uptime_stays_between_0_and_100_and_no_outage_means_100(points: list[tuple[int, str]]) -> None:
    changes = [Change(T0 + timedelta(minutes=m), s) for m, s in points]
    found = domain.uptime(changes, now=T0 + timedelta(days=91), days=90)
    assert found.percent is not None and 0 <= found.percent <= 100
    if found.outage_minutes > 0:
        assert found.percent < 100  # any outage shows
    if all(s not in domain.OUTAGE_WEIGHT for _, s in points):
        assert found.percent == 100.0
    assert sum(d.minutes for d in found.days) == pytest.approx(found.minutes)


def test_the_overall_indicator() -> None:
    assert domain.overall(["operational"] * 3, []) == ("none", "All Systems Operational")
    assert domain.overall(["operational", "under_maintenance"], []) == ("none", "Service Under Maintenance")
    assert domain.overall(["degraded_performance", "under_maintenance"], []) == (
        "minor",
        "Minor Service Outage",
    )
    assert domain.overall(["partial_outage", "degraded_performance"], []) == (
        "major",
        "Partial System Outage",
    )
    assert domain.overall(["major_outage", "operational"], ["minor"]) == ("critical", "Major Service Outage")
    assert domain.overall(["operational"], ["major", "minor"]) == ("major", "Partial System Outage")
    assert domain.overall([], []) == ("none", "All Systems Operational")
    assert domain.worst(["operational", "under_maintenance", "partial_outage"]) == "partial_outage"


def test_the_maintenance_state_machine() -> None:
    start, end = T0, T0 + timedelta(hours=2)
    assert domain.due_transitions("scheduled", start, end, start - timedelta(seconds=1)) == []
    assert domain.due_transitions("scheduled", start, end, start) == ["in_progress"]
    assert domain.due_transitions("in_progress", start, end, end - timedelta(seconds=1)) == []
    assert domain.due_transitions("verifying", start, end, end) == ["completed"]
    assert domain.due_transitions("scheduled", start, end, end + timedelta(hours=1)) == [
        "in_progress",
        "completed",
    ]
    assert domain.due_transitions("completed", start, end, end + timedelta(days=1)) == []
    for current, target in (
        ("scheduled", "in_progress"),
        ("in_progress", "verifying"),
        ("verifying", "in_progress"),
        ("verifying", "completed"),
        ("scheduled", "completed"),
        ("completed", "completed"),
    ):
        domain.check_maintenance_status(current, target)
    with pytest.raises(IllegalTransition, match="allowed: in_progress, completed"):
        domain.check_maintenance_status("scheduled", "verifying")
    with pytest.raises(IllegalTransition, match="completed is final"):
        domain.check_maintenance_status("completed", "in_progress")
    with pytest.raises(InvalidInput):
        domain.check_maintenance_status("scheduled", "resolved")
    with pytest.raises(InvalidInput, match="after scheduled_for"):
        domain.check_window(end, start)
    assert domain.restored_status("degraded_performance") == "degraded_performance"
    assert domain.restored_status("under_maintenance") == domain.restored_status(None) == "operational"


def test_incident_statuses() -> None:
    domain.check_incident_status("monitoring", "investigating")  # back and forth is fine
    domain.check_incident_status("resolved", "resolved")
    with pytest.raises(IllegalTransition, match="cannot be reopened"):
        domain.check_incident_status("resolved", "monitoring")
    with pytest.raises(InvalidInput):
        domain.check_impact("huge")
