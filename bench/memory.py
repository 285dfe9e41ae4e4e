"""`python -m bench.memory [--alerts N] [--raw-requests M] [--db sqlite|postgresql|both]` (issue #20): the
million-row run. A database is grown with N open alerts and M stored raw requests, written straight to
it. Intake's max rate (PagerDuty triggers under wrk, `warroom serve` alone) is measured on it and on an
empty database, three times each in turn (the grown rate: target at least 90% of the empty one). Then
`warroom serve` and the worker (one process with `--with-worker` on SQLite; `serve` and `worker` on
PostgreSQL) run on the grown database, and it measures: the first page of `GET /api/v1/alerts` read 200
times, the alerts page and the dashboard signed in (right after the load, then again once ANALYZE has
run, as autovacuum would soon after), 500 more triggers, then the resident size of each process (VmRSS).
Figures go to bench/results/memory-latest.json."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import sqlalchemy as sa

from bench.databases import DATABASES
from bench.growth import analyse, intake_rate, seed_raw_requests, web_timings
from bench.server import WARROOM, Server, admin_token, running_server, stop
from warroom.alerts.models import Alert, Integration
from warroom.catalog.models import Service
from warroom.db import sync_url
from warroom.ids import time_ordered_uuid
from warroom.migrate import upgrade

RESULTS = Path(__file__).resolve().parent / "results" / "memory-latest.json"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
CHUNK = 20_000
ROUNDS = 3  # intake rate readings on each database, alternating


def seed(url: str, alerts: int) -> tuple[str, int]:
    """The bench service, a PagerDuty integration (its key and id answered) and `alerts` open alerts."""
    upgrade(url)
    engine = sa.create_engine(sync_url(url))
    key = uuid.uuid4().hex
    with engine.begin() as conn:
        service_id = conn.execute(
            sa.insert(cast(sa.Table, Service.__table__)).values(slug="bench", name="Bench", created_at=NOW)
        ).inserted_primary_key[0]
        row = {"kind": "pagerduty", "name": "bench", "service_id": service_id, "key": key, "config": {},
               "rate_limit_per_minute": 1_000_000, "created_at": NOW}  # fmt: skip
        integration_id = conn.execute(
            sa.insert(cast(sa.Table, Integration.__table__)).values(**row)
        ).inserted_primary_key[0]
    engine.dispose()
    seed_alerts(url, integration_id, alerts)
    return key, integration_id


def seed_alerts(url: str, integration_id: int, alerts: int) -> None:
    engine = sa.create_engine(sync_url(url))
    table = cast(sa.Table, Alert.__table__)
    for start in range(0, alerts, CHUNK):
        rows = [alert_row(n, integration_id, 1) for n in range(start, min(start + CHUNK, alerts))]
        with engine.begin() as conn:
            conn.execute(sa.insert(table), rows)
    engine.dispose()


def alert_row(n: int, integration_id: int, service_id: int) -> dict[str, Any]:
    return {
        "uid": time_ordered_uuid(), "integration_id": integration_id, "service_id": service_id,
        "dedup_key": f"seed-{n}", "status": "triggered", "severity": "warning", "title": f"seeded alert {n}",
        "description": "", "source": f"host-{n % 500}", "labels": {"n": str(n % 50)}, "links": [],
        "details": {}, "first_seen_at": NOW, "last_seen_at": NOW, "count": 1, "triaged": True,
    }  # fmt: skip


def rss_mib(pid: int) -> float:
    """Resident size of a process and its children (uvicorn's workers), from /proc."""
    pids = [str(pid), *Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    total = 0
    for one in pids:
        status = Path(f"/proc/{one}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return round(total / 1024, 1)


def exercise(base_url: str, token: str, key: str) -> dict[str, Any]:
    """The alerts list's first page 200 times (p50/p99), then 500 triggers."""
    timings = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for _ in range(200):
            started = time.perf_counter()
            client.get("/api/v1/alerts", params={"limit": 50}).raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
        for n in range(500):
            event = {"routing_key": key, "event_action": "trigger", "dedup_key": f"after-{n}",
                     "payload": {"summary": "bench", "source": "bench", "severity": "critical"}}  # fmt: skip
            client.post("/v2/enqueue", json=event).raise_for_status()
    timings.sort()
    return {"api_alerts_p50_ms": round(timings[99], 1), "api_alerts_p99_ms": round(timings[197], 1)}


@contextmanager
def started(url: str, scratch: Path, sqlite: bool) -> Iterator[tuple[Server, subprocess.Popen[bytes] | None]]:
    """The server (with its worker inside on SQLite) and, on PostgreSQL, a worker process beside it."""
    with running_server(url, scratch, with_worker=sqlite) as server:
        worker = None
        if not sqlite:
            command = [str(WARROOM), "worker"]
            out = subprocess.DEVNULL
            worker = subprocess.Popen(command, env=server.env, cwd=scratch, stdout=out, stderr=out)
        try:
            yield server, worker
        finally:
            if worker is not None:
                stop(worker)


def growth_rounds(empty: tuple[str, str], grown: tuple[str, str], scratch: Path) -> dict[str, Any]:
    """Intake's max rate on the empty and the grown database, alternately, ROUNDS times each: this
    machine's speed drifts by a third within minutes, so one reading of each made a ratio of noise (0.74
    and 1.07 in two runs an hour apart). The ratio is of the medians; each round's ratio is kept too."""
    rates: dict[str, list[float]] = {"empty": [], "grown": []}
    for number in range(ROUNDS):
        for which, (url, key) in (("empty", empty), ("grown", grown)):
            with running_server(url, scratch / which) as server:
                rate = intake_rate(server, key, tag=2 * number + (which == "grown") + 1)
            if rate is None:
                return {}
            rates[which].append(rate)
    middle = {which: statistics.median(values) for which, values in rates.items()}
    rounds = [round(g / e, 2) for e, g in zip(rates["empty"], rates["grown"], strict=True)]
    return {
        "intake_empty_per_s": middle["empty"], "intake_grown_per_s": middle["grown"],
        "intake_grown_vs_empty": round(middle["grown"] / middle["empty"], 2),
        "intake_rounds": {"empty": rates["empty"], "grown": rates["grown"], "grown_vs_empty": rounds},
    }  # fmt: skip


def measure(name: str, alerts: int, raw_requests: int) -> dict[str, Any]:
    """Intake's max rate is measured on the server alone (as the intake bench does), on an empty and on the
    grown database in turn; a worker beside it would be catching up on the alerts the previous run sent."""
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        (scratch / "empty").mkdir()
        (scratch / "grown").mkdir()
        with DATABASES[name](scratch / "empty") as empty_url, DATABASES[name](scratch / "grown") as url:
            return _measure(name, scratch, empty_url, url, alerts, raw_requests)


def _measure(
    name: str, scratch: Path, empty_url: str, url: str, alerts: int, raw_requests: int
) -> dict[str, Any]:
    sqlite = name == "sqlite"
    empty_key, _ = seed(empty_url, 0)
    key, integration_id = seed(url, 0)
    began = time.perf_counter()
    seed_alerts(url, integration_id, alerts)
    seed_raw_requests(url, integration_id, raw_requests, NOW)
    figures: dict[str, Any] = {"alerts": alerts, "raw_requests": raw_requests,
                               "seed_seconds": round(time.perf_counter() - began, 1)}  # fmt: skip
    figures |= growth_rounds((empty_url, empty_key), (url, key), scratch)
    with started(url, scratch / "grown", sqlite) as (server, worker):
        figures |= exercise(server.base_url, admin_token(server), key) | web_timings(server)
        analyse(url)
        figures |= web_timings(server, prefix="analysed_", new_user=False)
        time.sleep(5)  # the worker triages the new alerts and settles
        figures["server_rss_mib"] = rss_mib(server.pid)
        figures["worker_rss_mib"] = rss_mib(worker.pid) if worker else 0.0
    figures["together_mib"] = round(figures["server_rss_mib"] + figures["worker_rss_mib"], 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--raw-requests", type=int, default=5_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    results: dict[str, Any] = {"at": datetime.now(UTC).isoformat()}
    for name in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        results[name] = measure(name, args.alerts, args.raw_requests)
        print(name, json.dumps(results[name]), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
