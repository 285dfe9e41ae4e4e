"""Metric maths: durations from milestones, missing milestones, reopens, DST, percentiles, groups, trend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from warroom.metrics import domain

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def facts(incident_id: int, **overrides: object) -> domain.IncidentFacts:
    values: dict[str, object] = {
        "id": incident_id,
        "severity": "P1",
        "type": "outage",
        "declared_at": T0,
        "services": (),
        "teams": (),
        "durations": {},
        "target_met": None,
    }
    values.update(overrides)
    return domain.IncidentFacts(**values)  # type: ignore[arg-type]


def test_each_duration_comes_from_its_two_milestones() -> None:
    events = [
        ("compromised", at(-4000)),
        ("impact_started", at(-20)),
        ("compromised", at(-3000)),  # a revised estimate: the latest stands
        ("detected", at(-5)),
        ("declared", at(0)),
        ("acknowledged", at(7)),
        ("contained", at(30)),
        ("mitigated", at(60)),
        ("resolved", at(90)),
        ("closed", at(3000)),
    ]
    got = domain.durations(domain.milestones_from(events))
    assert got == {
        "time_to_detect": 15 * 60,
        "time_to_acknowledge": 7 * 60,
        "time_to_contain": 35 * 60,
        "time_to_resolve": 95 * 60,
        "time_to_recover": 80 * 60,
        "dwell_time": (3000 - 5) * 60,
    }


def test_a_missing_milestone_gives_none_not_zero_and_is_left_out_of_the_mean() -> None:
    found = domain.milestones_from([("detected", at(0)), ("declared", at(0)), ("resolved", at(30))])
    got = domain.durations(found)
    assert got["time_to_detect"] is None and got["time_to_acknowledge"] is None
    assert got["time_to_contain"] is None
    assert got["time_to_recover"] == 30 * 60  # no impact start or mitigation: detected to resolved
    summary = domain.summarise([facts(1, durations=got), facts(2, durations={"time_to_detect": 600.0})])
    assert summary.metrics["time_to_detect"].count == 1
    assert summary.metrics["time_to_detect"].mean == 600.0
    assert summary.metrics["time_to_contain"] == domain.Stats(count=0, mean=None, p50=None, p90=None)


def test_a_reopened_incident_is_measured_to_its_last_resolution_and_counted_as_reopened() -> None:
    events = [
        ("detected", at(0)),
        ("declared", at(0)),
        ("resolved", at(30)),
        ("reopened", at(45)),
        ("resolved", at(120)),
    ]
    found = domain.milestones_from(events)
    assert found.reopens == 1 and found.resolved == at(120)
    assert domain.durations(found)["time_to_resolve"] == 120 * 60
    still_open = domain.milestones_from([*events[:4]])
    assert still_open.resolved is None and domain.durations(still_open)["time_to_resolve"] is None
    assert domain.summarise([facts(1, reopens=1), facts(2)]).reopened == 1


@pytest.mark.parametrize(
    ("zone", "start", "end", "hours"),
    [
        # Spring forward: 01:30 -> 03:30 local on the night clocks skip an hour is one elapsed hour.
        ("America/Chicago", datetime(2026, 3, 8, 1, 30), datetime(2026, 3, 8, 3, 30), 1),
        ("Europe/Berlin", datetime(2026, 3, 29, 1, 30), datetime(2026, 3, 29, 3, 30), 1),
        # Fall back: 00:30 -> 03:30 local on the night an hour repeats is four elapsed hours.
        ("America/Chicago", datetime(2026, 11, 1, 0, 30), datetime(2026, 11, 1, 3, 30), 4),
        ("Europe/Berlin", datetime(2026, 10, 25, 0, 30), datetime(2026, 10, 25, 3, 30), 4),
    ],
)
def test_durations_spanning_a_dst_change_count_elapsed_time(
    zone: str, start: datetime, end: datetime, hours: int
) -> None:
    local = ZoneInfo(zone)
    found = domain.milestones_from(
        [("detected", start.replace(tzinfo=local)), ("resolved", end.replace(tzinfo=local))]
    )
    assert domain.durations(found)["time_to_resolve"] == hours * 3600


def test_acknowledge_runs_from_the_first_page_when_paging_came_before_the_declaration() -> None:
    found = domain.milestones_from([("declared", at(10)), ("acknowledged", at(12))])
    assert domain.durations(found)["time_to_acknowledge"] == 120
    assert domain.durations(found, first_page=at(4))["time_to_acknowledge"] == 8 * 60
    assert domain.durations(found, first_page=at(11))["time_to_acknowledge"] == 120


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert domain.percentile(values, 0.5) == 5.0
    assert domain.percentile(values, 0.9) == 9.0
    assert domain.percentile([7.0], 0.9) == 7.0
    assert domain.percentile([], 0.5) is None
    assert domain.stats([30.0, 10.0, 20.0]) == domain.Stats(count=3, mean=20.0, p50=20.0, p90=30.0)


def test_groups_count_an_incident_under_each_of_its_services_and_teams() -> None:
    incidents = [
        facts(1, severity="P1", services=("api", "web"), teams=("core",), target_met=True),
        facts(2, severity="P2", services=("api",), target_met=False),
        facts(3, severity="P2", declared_at=datetime(2026, 4, 1, tzinfo=UTC)),
    ]
    by_service = domain.group(incidents, "service")
    assert {k: v.incidents for k, v in by_service.items()} == {"(none)": 1, "api": 2, "web": 1}
    assert {k: v.incidents for k, v in domain.group(incidents, "team").items()} == {"(none)": 2, "core": 1}
    assert list(domain.group(incidents, "month")) == ["2026-03", "2026-04"]
    by_severity = domain.group(incidents, "severity")
    assert by_severity["P1"].compliance == 1.0
    assert by_severity["P2"].compliance == 0.0  # one missed, one not yet judged
    with pytest.raises(ValueError, match="unknown grouping"):
        domain.group(incidents, "colour")


def test_trend_is_the_relative_change_against_the_previous_period() -> None:
    assert domain.change(150.0, 100.0) == 0.5
    assert domain.change(50.0, 100.0) == -0.5
    assert domain.change(10.0, None) is None
    assert domain.change(10.0, 0.0) is None
