"""The metrics page: response figures for a period, server-drawn SVG bar charts, and the table behind them.

Charts are plain SVG built here (bars with their numbers written beside them), so the page needs no script
and no charting library, and reads the same with styles off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from warroom.deps import ContextDep
from warroom.drills.trends import drill_trends
from warroom.metrics import domain, service
from warroom.metrics.domain import format_duration as duration
from warroom.web.deps import PageInternal
from warroom.web.render import render

router = APIRouter(include_in_schema=False)
PERIODS = {"30d": 30, "90d": 90, "365d": 365}
BAR_HEIGHT = 22
LABEL_WIDTH = 110
CHART_WIDTH = 520


@dataclass(frozen=True)
class Bar:
    label: str
    text: str
    y: int
    width: float


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH
    width: int = CHART_WIDTH


def bar_chart(title: str, values: list[tuple[str, float | None, str]]) -> Chart:
    """Horizontal bars scaled to the largest value; a missing value draws no bar but keeps its row."""
    top = max((v for _, v, _ in values if v is not None), default=0.0)
    room = CHART_WIDTH - LABEL_WIDTH - 90  # leave space for the number after the longest bar
    bars = [
        Bar(
            label=label,
            text=text,
            y=i * (BAR_HEIGHT + 6),
            width=(value / top * room) if top and value else 0.0,
        )
        for i, (label, value, text) in enumerate(values)
    ]
    return Chart(title=title, bars=bars, height=max(1, len(bars)) * (BAR_HEIGHT + 6))


def charts(report: service.Report, by_month: dict[str, domain.Summary]) -> list[Chart]:
    groups = report.groups.items()
    return [
        bar_chart(
            "Incidents per month", [(k, float(s.incidents), str(s.incidents)) for k, s in by_month.items()]
        ),
        bar_chart(
            f"Time to resolve (p50) by {report.grouping}",
            [
                (k, s.metrics["time_to_resolve"].p50, duration(s.metrics["time_to_resolve"].p50))
                for k, s in groups
            ],
        ),
        bar_chart(
            f"Time to acknowledge (p50) by {report.grouping}",
            [
                (k, s.metrics["time_to_acknowledge"].p50, duration(s.metrics["time_to_acknowledge"].p50))
                for k, s in groups
            ],
        ),
    ]


def trends(report: service.Report) -> dict[str, float | None]:
    """Each metric's mean, and the incident count, against the previous period of equal length."""
    now, before = report.overall, report.previous
    found = {m: domain.change(now.metrics[m].mean, before.metrics[m].mean) for m in domain.METRICS}
    found["incidents"] = domain.change(float(now.incidents), float(before.incidents))
    return found


@router.get("/reports")
async def reports_page(
    request: Request,
    user: PageInternal,
    context: ContextDep,
    period: str = "90d",
    group_by: str = "severity",
    drills: bool = False,
) -> Response:
    period = period if period in PERIODS else "90d"
    group_by = group_by if group_by in domain.GROUPINGS else "severity"
    async with context.db.read() as session:
        report = await service.report(
            session=session,
            loaded=context.procedure,
            since=timedelta(days=PERIODS[period]),
            now=context.clock.now(),
            grouping=group_by,
            include_drills=drills,
        )
        # Drills are the admins' (participants must not see one coming); their trends, past drills only, too.
        drill_figures = (
            await drill_trends(session=session, loaded=context.procedure, now=context.clock.now())
            if user.role == "admin"
            else None
        )
    by_month = domain.group(report.incidents, "month")
    return render(
        request,
        "reports.html",
        user=user,
        report=report,
        charts=charts(report, by_month),
        trend=trends(report),
        metrics=domain.METRICS,
        periods=list(PERIODS),
        period=period,
        groupings=domain.GROUPINGS,
        drills=drills,
        trends=drill_figures,
        duration=duration,
        title="Metrics",
    )
