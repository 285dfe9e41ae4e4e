"""History for the web bench: 10,000 closed incidents with a few timeline events each and 100,000 alerts
(all but the newest hundred resolved), bulk inserted with SQLAlchemy Core in a few transactions.

Each synthetic incident copies the demo's closed incident (its columns, services and first timeline events,
so every page renders real shapes) with a new title, severity and dates. The copied events keep the demo's
hashes: the synthetic incidents' timeline hash chains do NOT verify (`warroom audit verify` would flag them),
which is fine for timing pages and is why this data only ever goes into a throwaway bench database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from warroom.alerts.models import Alert, Integration
from warroom.db import sync_url
from warroom.incidents.models import Incident, IncidentService
from warroom.timeline.models import TimelineEvent

INCIDENTS = 10_000
ALERTS = 100_000
OPEN_ALERTS = 100  # the newest stay triggered, as a storm's tail would
EVENTS_EACH = 4
CHUNK = 2_500  # incidents per transaction
SEVERITIES = ("P1", "P2", "P3", "P4")
WORDS = ("database", "checkout", "latency", "queue", "login", "dns", "disk", "payments", "search", "cdn")


def load_history(database_url: str, count: int = INCIDENTS) -> int:
    """Insert `count` closed incidents modelled on the demo's; returns the id of the last one."""
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            template, events, services, first_id = _template(conn)
        for start in range(0, count, CHUNK):
            with engine.begin() as conn:
                _insert_chunk(conn, template, events, services, first_id + start, min(CHUNK, count - start))
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # explicit ids: move the sequence past them
                conn.execute(
                    sa.text(
                        "SELECT setval(pg_get_serial_sequence('incidents', 'id'), max(id)) FROM incidents"
                    )
                )
            conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()
    return first_id + count - 1


def _template(conn: sa.Connection) -> tuple[dict[str, Any], list[dict[str, Any]], list[int], int]:
    incidents = Incident.__table__
    row = conn.execute(sa.select(incidents).where(incidents.c.status == "closed").limit(1)).mappings().first()
    if row is None:
        raise RuntimeError("no closed incident to copy: load the demo data first (`warroom demo`)")
    events_table = TimelineEvent.__table__
    events = conn.execute(
        sa.select(events_table)
        .where(events_table.c.incident_id == row["id"])
        .order_by(events_table.c.seq)
        .limit(EVENTS_EACH)
    ).mappings()
    linked = IncidentService.__table__
    services = conn.scalars(sa.select(linked.c.service_id).where(linked.c.incident_id == row["id"])).all()
    last = conn.scalar(sa.select(sa.func.max(incidents.c.id))) or 0
    return dict(row), [dict(e) for e in events], list(services), int(last) + 1


def _insert_chunk(
    conn: sa.Connection,
    template: dict[str, Any],
    events: list[dict[str, Any]],
    services: list[int],
    first_id: int,
    size: int,
) -> None:
    incidents, timeline, linked = [], [], []
    for incident_id in range(first_id, first_id + size):
        n = incident_id - first_id
        shift = timedelta(hours=3 * (incident_id + 1))  # spread over a few years, older as ids grow
        declared = template["declared_at"] - shift
        incidents.append(_incident(template, incident_id, n, declared, shift))
        timeline.extend(
            {**{k: v for k, v in e.items() if k != "id"}, "incident_id": incident_id, "at": e["at"] - shift}
            for e in events
        )
        linked.extend({"incident_id": incident_id, "service_id": s} for s in services)
    conn.execute(sa.insert(Incident.__table__), incidents)
    conn.execute(sa.insert(TimelineEvent.__table__), timeline)
    if linked:
        conn.execute(sa.insert(IncidentService.__table__), linked)


def _incident(
    template: dict[str, Any], incident_id: int, n: int, declared: Any, shift: timedelta
) -> dict[str, Any]:
    moved = {k: (v - shift if k.endswith("_at") and v is not None else v) for k, v in template.items()}
    word = WORDS[incident_id % len(WORDS)]
    return {
        **moved,
        "id": incident_id,
        "title": f"Historical {word} incident {incident_id}",
        "severity": SEVERITIES[n % len(SEVERITIES)],
        "declared_at": declared,
        "timeline_seq": min(EVENTS_EACH, template["timeline_seq"]),
    }


def load_alerts(database_url: str, count: int = ALERTS) -> int:
    """Insert `count` alerts on the demo's first integration, newest last; returns the newest one's id."""
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            integration = conn.execute(sa.select(Integration.id, Integration.service_id).limit(1)).first()
            if integration is None:
                raise RuntimeError("no integration to file alerts under: load the demo data first")
            now = conn.scalar(sa.select(sa.func.max(Incident.declared_at)))
            first = int(conn.scalar(sa.select(sa.func.max(Alert.id))) or 0) + 1
        for start in range(0, count, CHUNK * 4):
            size = min(CHUNK * 4, count - start)
            rows = [_alert(first + start + n, count - start - n, integration, now) for n in range(size)]
            with engine.begin() as conn:
                conn.execute(sa.insert(Alert.__table__), rows)
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT setval(pg_get_serial_sequence('alerts', 'id'), max(id)) FROM alerts")
                )
            conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()
    return first + count - 1


def _alert(alert_id: int, age: int, integration: Any, now: Any) -> dict[str, Any]:
    """`age` counts down to 1 for the newest: alerts are a minute apart, the newest OPEN_ALERTS triggered."""
    seen = now - timedelta(minutes=age)
    word = WORDS[alert_id % len(WORDS)]
    open_ = age <= OPEN_ALERTS
    return {
        "id": alert_id, "uid": f"00000000-0000-4000-8000-{alert_id:012d}", "integration_id": integration.id,
        "service_id": integration.service_id, "incident_id": None, "dedup_key": f"bench-{word}-{alert_id}",
        "group_key": None, "status": "triggered" if open_ else "resolved", "severity": "error",
        "raw_severity": "error", "title": f"{word} alarm on host-{alert_id % 500}", "description": "",
        "source": f"host-{alert_id % 500}", "labels": {"host": f"host-{alert_id % 500}", "team": word},
        "links": [], "details": {"value": alert_id % 97}, "first_seen_at": seen, "last_seen_at": seen,
        "count": 1, "acknowledged_at": None, "acknowledged_by": None,
        "resolved_at": None if open_ else seen + timedelta(minutes=5),
        "resolved_by": None if open_ else "bench",
        "suppressed": None, "triaged": True,
    }  # fmt: skip
