"""GET /api/v1/metrics: response metrics for a period, grouped, with the trend against the period before."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from warroom.deps import ContextDep, InternalReader, ReadSession
from warroom.errors import invalid
from warroom.metrics import domain, prometheus, service
from warroom.metrics.schemas import MetricsOut, SummaryOut
from warroom.procedure.domain import parse_duration

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"])
exposition_router = APIRouter(tags=["metrics"])
MAX_DAYS = 3660


def period_length(since: str) -> timedelta:
    try:
        length = parse_duration(since)
    except ValueError as error:
        raise invalid("since", str(error)) from None
    if length.days > MAX_DAYS:
        raise invalid("since", f"at most {MAX_DAYS} days")
    return length


def report_out(report: service.Report) -> MetricsOut:
    trend: dict[str, float | None] = {
        "incidents": domain.change(float(report.overall.incidents), float(report.previous.incidents))
    }
    for metric in domain.METRICS:
        trend[metric] = domain.change(
            report.overall.metrics[metric].mean, report.previous.metrics[metric].mean
        )
    return MetricsOut(
        start=report.period.start,
        end=report.period.end,
        group_by=report.grouping,
        include_drills=report.include_drills,
        overall=SummaryOut.of(report.overall),
        previous_period=SummaryOut.of(report.previous),
        trend=trend,
        groups={key: SummaryOut.of(summary) for key, summary in report.groups.items()},
    )


@router.get("", response_model=MetricsOut)
async def metrics(
    user: InternalReader,
    session: ReadSession,
    context: ContextDep,
    since: Annotated[str, Query(description="Period length before now, e.g. 30d, 90d, 12h")] = "90d",
    group_by: Annotated[str, Query(description=", ".join(domain.GROUPINGS))] = "severity",
    include_drills: bool = False,
) -> MetricsOut:
    if group_by not in domain.GROUPINGS:
        raise invalid("group_by", f"unknown grouping {group_by!r}; use one of: {', '.join(domain.GROUPINGS)}")
    report = await service.report(
        session=session,
        loaded=context.procedure,
        since=period_length(since),
        now=context.clock.now(),
        grouping=group_by,
        include_drills=include_drills,
    )
    return report_out(report)


@exposition_router.get("/metrics", response_class=Response, include_in_schema=False)
async def prometheus_metrics(user: InternalReader, session: ReadSession, context: ContextDep) -> Response:
    """Prometheus scrape endpoint; needs an API token (`authorization: credentials` in the scrape config)."""
    body = await prometheus.exposition(session=session, loaded=context.procedure, now=context.clock.now())
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
