"""The parts of issue #20's million-row run that bench.memory drives: raw requests seeded by the million in
SQL (a generated series, so five million take seconds, not an hour of Python), the web pages timed with a
signed-in browser's cookie, and intake's max rate measured with wrk on one database before and after it
grew, so the two rates compare like with like (same process layout, same wrk, same payload)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from rich.console import Console

from bench.intake_wrk import CONNECTIONS, WrkOptions, run_wrk
from bench.server import Server, admin
from bench.web import EMAIL, PASSWORD, measure, signed_in
from bench.wrk_install import find_wrk
from warroom.db import UTCDateTime, sync_url

RAW_CHUNK = 1_000_000
RAW_BODY = (
    '{"routing_key": "seeded", "event_action": "trigger", "dedup_key": "seeded", "payload": '
    '{"summary": "Disk full on db-1", "source": "db-1", "severity": "critical"}}'
)
PG_RAW = """
INSERT INTO raw_events (request_id, integration_id, received_at, content_type, headers, body, route, result)
SELECT 'seed-' || n, :integration, :at, 'application/json', '{}', convert_to(:body, 'UTF8'),
       '{"kind": "pagerduty", "op": "enqueue"}', '{"events": []}'
FROM generate_series(:first, :last) AS n
"""
SQLITE_RAW = """
WITH RECURSIVE seq(n) AS (SELECT :first UNION ALL SELECT n + 1 FROM seq WHERE n < :last)
INSERT INTO raw_events (request_id, integration_id, received_at, content_type, headers, body, route, result)
SELECT 'seed-' || n, :integration, :at, 'application/json', '{}', CAST(:body AS BLOB),
       '{"kind": "pagerduty", "op": "enqueue"}', '{"events": []}'
FROM seq
"""
WEB_PAGES = {"web alerts": "/alerts", "web dashboard": "/"}
WEB_REQUESTS = 100
WRK_SECONDS = 10.0


def seed_raw_requests(url: str, integration_id: int, count: int, at: datetime) -> None:
    """`count` stored PagerDuty requests on the integration, a million per transaction."""
    engine = sa.create_engine(sync_url(url))
    statement = sa.text(PG_RAW if engine.dialect.name == "postgresql" else SQLITE_RAW)
    statement = statement.bindparams(sa.bindparam("at", type_=UTCDateTime()))
    for first in range(1, count + 1, RAW_CHUNK):
        last = min(first + RAW_CHUNK - 1, count)
        with engine.begin() as conn:
            values = {"integration": integration_id, "at": at, "body": RAW_BODY, "first": first, "last": last}
            conn.execute(statement, values)
    engine.dispose()


def web_timings(server: Server, *, prefix: str = "", new_user: bool = True) -> dict[str, Any]:
    """p50/p99 of the alerts page and the dashboard, signed in as an admin (who sees every panel)."""
    if new_user:
        admin(["user", "create", "--email", EMAIL, "--role", "admin", "--password", PASSWORD], server.env)
    client = signed_in(server)
    try:
        figures: dict[str, Any] = {}
        for name, path in WEB_PAGES.items():
            page = measure(client, name, path, WEB_REQUESTS)
            slug = prefix + name.replace(" ", "_")
            figures |= {f"{slug}_p50_ms": round(page.p50_ms, 1), f"{slug}_p99_ms": round(page.p99_ms, 1)}
            figures[f"{slug}_statuses"] = {str(code): count for code, count in page.statuses.items()}
        return figures
    finally:
        client.close()


def analyse(url: str) -> None:
    """Fresh planner statistics, as autovacuum gathers them within a minute or so of a bulk load (the
    figures measured right after the load are the worst case: a plan without them)."""
    engine = sa.create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def intake_rate(server: Server, key: str, tag: int) -> float | None:
    """PagerDuty triggers answered 202 per second under wrk -t2 -c32 (None without wrk)."""
    binary = find_wrk(Console(stderr=True))
    if binary is None:
        return None
    options = WrkOptions(binary=binary, threads=(2,), connections=CONNECTIONS, seconds=WRK_SECONDS)
    run = asyncio.run(run_wrk(server, options, 2, "pagerduty", key, tag))
    if run.problem:
        raise RuntimeError(run.problem)
    return round(int(run.report["statuses"].get("202", 0)) / float(run.report["elapsed_s"]), 1)
