"""Drill trends, grouped per scenario and per team (first drill beside the latest), and their CLI table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from rich.console import Console

from warroom.cli.metrics import drill_table
from warroom.drills.trends import DrillFigures, group

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def _drill(
    run_id: int, scenario: str, team: str | None, days: int, ack: int | None, found: int
) -> DrillFigures:
    figures = {"acknowledge_seconds": ack, "declare_seconds": 300}
    return DrillFigures(run_id, scenario, scenario.title(), team, T0 + timedelta(days=days), figures, found)


DRILLS = [
    _drill(3, "ransomware", "infra", 60, 240, 2),
    _drill(1, "ransomware", "infra", 0, 900, 6),
    _drill(2, "ddos", None, 30, None, 4),
]


def test_grouped_oldest_first_with_first_and_latest() -> None:
    by_scenario = {row["scenario"]: row for row in group(DRILLS, "scenario")}
    ransomware = by_scenario["ransomware"]
    assert [r["drill"] for r in ransomware["runs"]] == [1, 3]
    assert ransomware["first"] == {"acknowledge_seconds": 900, "declare_seconds": 300, "findings": 6}
    assert ransomware["latest"] == {"acknowledge_seconds": 240, "declare_seconds": 300, "findings": 2}
    assert ransomware["last_fired_at"] == T0 + timedelta(days=60)
    assert [row["team"] for row in group(DRILLS, "team")] == ["(no team)", "infra"]


def test_the_cli_table_shows_first_to_latest() -> None:
    rows = json.loads(json.dumps(group(DRILLS, "team"), default=lambda d: d.isoformat()))
    console = Console(width=100, record=True)
    console.print(drill_table(rows, "team"))
    text = console.export_text()
    assert "Drills by team: first -> latest" in text
    assert "15 min -> 4 min" in text and "6 -> 2" in text
    assert "(no team)" in text and "2026-10-01" in text
