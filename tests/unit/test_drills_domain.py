"""The pure drill logic: unannounced fire time inside its window, and the report figures by hand."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from warroom.drills.domain import (
    Event,
    Injected,
    Targets,
    choose_fire_time,
    compute_report,
    findings,
    is_due,
    recall,
)

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def test_fire_time_is_inside_the_window_and_seeded() -> None:
    end = T0 + timedelta(hours=8)
    for seed in range(200):
        at = choose_fire_time(T0, end, random.Random(seed))
        assert T0 <= at < end
    assert choose_fire_time(T0, end, random.Random(7)) == choose_fire_time(T0, end, random.Random(7))
    with pytest.raises(ValueError, match="end must be after"):
        choose_fire_time(end, T0, random.Random(1))


def test_due_only_from_the_fire_time_and_once() -> None:
    assert not is_due(T0, T0 - timedelta(seconds=1), fired=False)
    assert is_due(T0, T0, fired=False)
    assert not is_due(T0, T0 + MIN, fired=True)


def _targets(steps: list[str] | None) -> Targets:
    return Targets(
        acknowledge=5 * MIN,
        declare=15 * MIN,
        severity="P1",
        incident_type="outage",
        roles=["incident_commander", "scribe"],
        gated_steps=steps,
        first_update=30 * MIN,
        cadence=30 * MIN,
        exit_criteria={"triage": 2, "mitigation": 1, "review": 0},
    )


def test_report_figures_match_hand_computation() -> None:
    events = [
        Event(T0 + 3 * MIN, "acknowledged"),
        Event(T0 + 20 * MIN, "declared"),
        Event(T0 + 20 * MIN, "severity", "P2"),
        Event(T0 + 26 * MIN, "severity", "P1"),
        Event(T0 + 20 * MIN, "type", "outage"),
        Event(T0 + 21 * MIN, "role", "incident_commander"),
        Event(T0 + 40 * MIN, "stakeholder_update"),
        Event(T0 + 50 * MIN, "step", "rollback"),
    ]
    report = {m.name: m for m in compute_report(T0, events, _targets(None), T0 + 90 * MIN)}
    assert report["time to acknowledge"].took == 3 * MIN
    assert report["time to acknowledge"].gap == timedelta(0)
    assert report["time to declare"].took == 20 * MIN
    assert report["time to declare"].gap == 5 * MIN
    assert report["time to the right severity"].took == 26 * MIN
    assert report["time to the right type"].took == 20 * MIN
    assert report["time to fill role incident_commander"].took == 21 * MIN
    assert report["time to fill role scribe"].note == "never happened"
    assert report["time to first stakeholder update"].gap == 10 * MIN
    assert report["gated playbook steps"].note == "n/a"
    # one update at +40m, nothing more until now (+90m): 50 minutes of silence against a 30-minute cadence
    assert report["stakeholder update cadence kept"].took == 50 * MIN
    assert report["stakeholder update cadence kept"].gap == 20 * MIN
    assert report["review held"].note == "no review held"

    actions = findings(list(report.values()), owner="alice", now=T0, due_in=timedelta(days=14))
    titles = [a.title for a in actions]
    assert titles == [
        "Drill finding: time to declare: over target by 0:05:00",
        "Drill finding: time to fill role scribe: never happened",
        "Drill finding: time to first stakeholder update: over target by 0:10:00",
        "Drill finding: stakeholder update cadence kept: over target by 0:20:00",
        "Drill finding: review held: no review held",
    ]
    assert {a.owner for a in actions} == {"alice"}
    assert {a.due for a in actions} == {T0 + timedelta(days=14)}


def test_gated_steps_missing_and_out_of_order() -> None:
    steps = ["isolate", "rollback"]
    missing = compute_report(T0, [Event(T0 + MIN, "step", "isolate")], _targets(steps), T0)
    assert [m.note for m in missing if m.name == "gated playbook steps"] == ["not done: rollback"]
    swapped = [Event(T0 + MIN, "step", "rollback"), Event(T0 + 2 * MIN, "step", "isolate")]
    report = compute_report(T0, swapped, _targets(steps), T0)
    assert [m.note for m in report if m.name == "gated playbook steps"] == ["done out of order"]
    ok = compute_report(
        T0, [Event(T0, "step", "isolate"), Event(T0 + MIN, "step", "rollback")], _targets(steps), T0
    )
    assert [m.finding for m in ok if m.name == "gated playbook steps"] == [False]


def _named(measures: list[Any], name: str) -> Any:
    return next(m for m in measures if m.name == name)


def test_cadence_kept_stops_at_the_end_of_the_drill() -> None:
    updates = [Event(T0 + t * MIN, "stakeholder_update") for t in (10, 35, 70)]
    ended = [*updates, Event(T0 + 80 * MIN, "ended")]
    kept = _named(
        compute_report(T0, ended, _targets(None), T0 + 500 * MIN), "stakeholder update cadence kept"
    )
    assert (kept.took, kept.gap, kept.finding) == (35 * MIN, 5 * MIN, True)  # 35 -> 70 is the longest
    on_time = [Event(T0 + t * MIN, "stakeholder_update") for t in (10, 30, 50)] + [
        Event(T0 + 60 * MIN, "ended")
    ]
    assert not _named(
        compute_report(T0, on_time, _targets(None), T0), "stakeholder update cadence kept"
    ).finding
    none = _named(compute_report(T0, [], _targets(None), T0), "stakeholder update cadence kept")
    assert (none.note, none.finding) == ("n/a", False)  # the first-update measure already says "never"


def test_exit_criteria_are_read_as_they_stood_when_the_phase_was_left() -> None:
    events = [
        Event(T0 + 1 * MIN, "tick", "triage:0"),
        Event(T0 + 2 * MIN, "tick", "triage:1"),
        Event(T0 + 3 * MIN, "untick", "triage:1"),
        Event(T0 + 4 * MIN, "left", "triage"),
        Event(T0 + 5 * MIN, "tick", "triage:1"),  # ticked after leaving: too late
        Event(T0 + 6 * MIN, "tick", "mitigation:0"),
        Event(T0 + 7 * MIN, "left", "mitigation"),
        Event(T0 + 8 * MIN, "left", "review"),  # no criteria: no measure
    ]
    report = {m.name: m for m in compute_report(T0, events, _targets(None), T0)}
    assert report["exit criteria of triage"].note == "left with 1 of 2 ticked"
    assert report["exit criteria of mitigation"].finding is False
    assert report["exit criteria of mitigation"].detail == "1 of 1 ticked"
    assert "exit criteria of review" not in report


def test_recall_counts_every_host_with_the_injected_observable() -> None:
    injected = [Injected("ip", "203.0.113.66", ("fs-01", "ws-114")), Injected("domain", "evil.example", ())]
    found = {("ip", "203.0.113.66"), ("domain", "evil.example")}
    partial = recall(injected, found, {"fs-01"})
    assert (partial.detail, partial.note) == ("recall 2 of 3", "missing: 203.0.113.66 on ws-114")
    assert partial.finding
    assert not recall(injected, found, {"fs-01", "ws-114"}).finding
    unseen = recall(injected, set(), {"fs-01", "ws-114"})
    assert unseen.detail == "recall 0 of 3"
    assert recall([], set(), set()).note == "n/a"


def test_expected_audiences_told() -> None:
    targets = Targets(None, None, "P1", "outage", audiences=["internal", "executives"])
    told = [Event(T0 + MIN, "stakeholder_update"), Event(T0 + MIN, "told", "internal")]
    measure = _named(compute_report(T0, told, targets, T0), "expected audiences told")
    assert (measure.note, measure.detail, measure.finding) == ("never told: executives", "1 of 2 told", True)
    both = [*told, Event(T0 + 2 * MIN, "told", "executives")]
    assert not _named(compute_report(T0, both, targets, T0), "expected audiences told").finding
