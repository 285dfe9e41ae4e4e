from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from warroom.metrics import domain


class StatsOut(BaseModel):
    """Seconds; None where no incident in the group reached both milestones."""

    count: int
    mean: float | None
    p50: float | None
    p90: float | None


class SummaryOut(BaseModel):
    incidents: int
    reopened: int
    target_met: int
    target_missed: int
    target_compliance: float | None
    metrics: dict[str, StatsOut]

    @classmethod
    def of(cls, summary: domain.Summary) -> SummaryOut:
        return cls(
            incidents=summary.incidents,
            reopened=summary.reopened,
            target_met=summary.target_met,
            target_missed=summary.target_missed,
            target_compliance=summary.compliance,
            metrics={name: StatsOut(**vars(s)) for name, s in summary.metrics.items()},
        )


class MetricsOut(BaseModel):
    start: datetime
    end: datetime
    group_by: str
    include_drills: bool
    overall: SummaryOut
    previous_period: SummaryOut
    # Relative change of each metric's mean (and of the incident count) against the previous period.
    trend: dict[str, float | None]
    groups: dict[str, SummaryOut]
