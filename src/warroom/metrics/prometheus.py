"""Prometheus exposition computed from the database at scrape time.

With several server processes, in-process counters would differ per process and reset on restart; counting
the rows at scrape time gives every replica the same, durable answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert
from warroom.incidents.models import Incident
from warroom.metrics import domain, service
from warroom.notify.models import OutgoingMessage
from warroom.procedure.loader import LoadedProcedure

BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 24 * 3600.0, 7 * 24 * 3600.0)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Snapshot(Collector):
    def __init__(self, metrics: Sequence[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Sequence[Metric]:
        return self.metrics


def histogram(name: str, documentation: str, values: Sequence[float]) -> HistogramMetricFamily:
    """Cumulative buckets as Prometheus wants them, ending with +Inf."""
    buckets = [(str(bound), float(sum(1 for v in values if v <= bound))) for bound in BUCKETS]
    buckets.append(("+Inf", float(len(values))))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=float(sum(values)))


async def _counts(session: AsyncSession) -> list[Metric]:
    incidents = CounterMetricFamily(
        "warroom_incidents", "Incidents declared", labels=["severity", "type", "status", "drill"]
    )
    query = select(Incident.severity, Incident.type, Incident.status, Incident.drill, func.count())
    for severity, kind, status, drill, count in await session.execute(
        query.group_by(*query.selected_columns[:4])
    ):
        incidents.add_metric([severity, kind, status, str(drill).lower()], count)
    alerts = CounterMetricFamily("warroom_alerts", "Alerts received, by current status", labels=["status"])
    for status, count in await session.execute(select(Alert.status, func.count()).group_by(Alert.status)):
        alerts.add_metric([status], count)
    pages = CounterMetricFamily(
        "warroom_pages", "Outgoing messages, by channel and state", labels=["channel", "state"]
    )
    grouped = select(OutgoingMessage.channel, OutgoingMessage.state, func.count()).group_by(
        OutgoingMessage.channel, OutgoingMessage.state
    )
    for channel, state, count in await session.execute(grouped):
        pages.add_metric([channel, state], count)
    return [incidents, alerts, pages]


async def exposition(*, session: AsyncSession, loaded: LoadedProcedure, now: datetime) -> bytes:
    """The text format for one scrape: counts, and a histogram per response metric (drills left out)."""
    metrics = await _counts(session)
    period = service.Period(start=EPOCH, end=now + timedelta(days=1))
    facts = await service.incident_facts(
        session=session, loaded=loaded, period=period, include_drills=False, now=now
    )
    for name in domain.METRICS:
        values = [v for f in facts if (v := f.durations.get(name)) is not None]
        metrics.append(histogram(f"warroom_incident_{name}_seconds", name.replace("_", " "), values))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(metrics))
    return generate_latest(registry)
