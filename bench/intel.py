"""`python -m bench.intel [--indicators N] [--alerts M] [--db sqlite|postgresql|both]`: threat-intel speed,
in process, on a fresh migrated database each:

- import: a STIX 2.1 bundle of N indicators read (`stix2`) and applied as one poll;
- matching: M alerts of 5 observables each against the N indicators (the worker's `find`), alerts/s;
- retro-hunt: N stored alert observables searched for one new indicator (the `intel.hunt` query);
- with `--index-indicators K`: K indicators written straight to the table, the worker's index built (its
  retained memory), the M alerts matched against it, and a retro-hunt over K stored observables.

Figures go to bench/results/intel-latest.json; the issue's targets are in the note, not asserted here.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.databases import DATABASES
from warroom.alerts.models import Alert, Integration
from warroom.catalog.models import Service
from warroom.config import Settings
from warroom.intel import feeds as read
from warroom.intel.actions import hunt_back
from warroom.intel.domain import Term
from warroom.intel.match import find
from warroom.intel.models import AlertObservable, Feed, Indicator
from warroom.intel.poll import apply
from warroom.migrate import upgrade
from warroom.wiring import build_context

RESULTS = Path(__file__).resolve().parent / "results" / "intel-latest.json"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
BASE = int(ipaddress.IPv4Address("10.0.0.0"))


def ip(n: int) -> str:
    return str(ipaddress.IPv4Address(BASE + n))


def bundle(count: int) -> bytes:
    since = "2026-01-01T00:00:00Z"
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": since,
            "modified": since,
            "pattern": f"[ipv4-addr:value = '{ip(n)}']",
            "pattern_type": "stix",
            "valid_from": since,
        }
        for n in range(count)
    ]
    return json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}).encode()


async def one_alert(session: Any) -> int:
    service = Service(slug="bench", name="Bench", created_at=NOW)
    session.add(service)
    await session.flush()
    door = Integration(
        kind="webhook", name="bench", service_id=service.id, key=uuid.uuid4().hex, created_at=NOW
    )
    session.add(door)
    await session.flush()
    alert = Alert(
        uid=str(uuid.uuid4()),
        integration_id=door.id,
        service_id=service.id,
        dedup_key="bench",
        status="triggered",
        severity="warning",
        title="bench",
        labels={},
        links=[],
        details={},
        first_seen_at=NOW,
        last_seen_at=NOW,
    )
    session.add(alert)
    await session.flush()
    return int(alert.id)


async def hunt(context: Any, base: int, count: int) -> dict[str, Any]:
    """`count` stored alert observables (addresses from `base` on, seen yesterday), then the retro-hunt
    query for one new indicator among them."""
    figures: dict[str, Any] = {}
    async with context.db.write() as session:
        alert_id = await one_alert(session)  # every row's alert: what the hunt reads is the observables
        for start in range(0, count, 10_000):
            rows = [
                {
                    "alert_id": alert_id,
                    "type": "ip",
                    "value": ip(base + n),
                    "seen_at": NOW - timedelta(days=1),
                }
                for n in range(start, min(start + 10_000, count))
            ]
            await session.execute(insert(AlertObservable.__table__), rows)
        await session.commit()
    figures["hunt_observables"] = count
    async with context.db.read() as session:
        target = type("Indicator", (), {"type": "ip", "value": ip(base + count // 2), "id": 0})()
        started = time.perf_counter()
        found = await hunt_back(session, [target], NOW - timedelta(days=90))  # type: ignore[list-item]
        figures["hunt_seconds"] = round(time.perf_counter() - started, 3)
        figures["hunt_found"] = len(found)
    return figures


async def matching(context: Any, indicators: int, alerts: int) -> dict[str, Any]:
    """The worker's index built (timed, its retained memory), then `alerts` of 5 observables matched."""
    figures: dict[str, Any] = {}
    tracemalloc.start()
    async with context.db.read() as session:
        memo: dict[str, Any] = {}
        started = time.perf_counter()
        await find(session, [], NOW, memo)  # builds the worker's index, timed on its own
        figures["index_build_seconds"] = round(time.perf_counter() - started, 2)
        figures["index_retained_mib"] = round(tracemalloc.get_traced_memory()[0] / 1_048_576, 1)
        tracemalloc.stop()
        # About 1 observable in 100 is a known indicator: most alerts match nothing, as in life.
        batch = [
            [Term("ip", ip((a * 5 + k) * 7919 % (indicators * 100))) for k in range(5)] for a in range(alerts)
        ]
        started = time.perf_counter()
        hits = 0
        for observed in batch:
            hits += len(await find(session, observed, NOW, memo))
        figures["match_alerts_per_second"] = round(alerts / (time.perf_counter() - started), 1)
        figures["match_hits"] = hits
    return figures


async def measure(url: str, indicators: int, alerts: int) -> dict[str, Any]:
    upgrade(url)
    context = build_context(Settings(database_url=url, data_dir=Path(tempfile.mkdtemp())))
    figures: dict[str, Any] = {}
    content = bundle(indicators)
    started = time.perf_counter()
    parsed = read.read_stix(content, read.Defaults(tlp="amber", confidence=50))
    read_s = time.perf_counter() - started
    async with context.db.write() as session:
        feed = Feed(
            slug="bench",
            name="Bench",
            kind="stix",
            url="file:///bench",
            options={},
            tlp="amber",
            last_counts={},
            created_at=NOW,
        )
        session.add(feed)
        await session.flush()
        await apply(session, feed, parsed, NOW)
        await session.commit()
    figures["import_seconds"] = round(time.perf_counter() - started, 2)
    figures["import_read_seconds"] = round(read_s, 2)
    figures |= await matching(context, indicators, alerts)
    figures |= await hunt(context, indicators, indicators)
    await context.db.engine.dispose()
    return figures


async def measure_index(url: str, indicators: int, alerts: int) -> dict[str, Any]:
    """The worker's index at scale: N indicators written straight to the table (an import of that size
    is measured above at 100,000), the index built, its retained memory, and matching against it."""
    upgrade(url)
    context = build_context(Settings(database_url=url, data_dir=Path(tempfile.mkdtemp())))
    async with context.db.write() as session:
        feed = Feed(slug="big", name="Big", kind="stix", url="file:///big", options={}, tlp="amber",
                    last_counts={}, created_at=NOW)  # fmt: skip
        session.add(feed)
        await session.flush()
        for start in range(0, indicators, 20_000):
            rows = [
                {"feed_id": feed.id, "source_ref": f"r{n}", "type": "ip", "value": ip(n), "name": "bench",
                 "confidence": 50, "tlp": "amber", "revoked": False, "kill_chain_phases": [], "labels": [],
                 "created_at": NOW, "updated_at": NOW}
                for n in range(start, min(start + 20_000, indicators))
            ]  # fmt: skip
            await session.execute(insert(Indicator.__table__), rows)
        await session.commit()
    figures: dict[str, Any] = {"indicators": indicators}
    figures |= await matching(context, indicators, alerts)
    figures |= await hunt(context, indicators, indicators)
    await context.db.engine.dispose()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.intel", description=__doc__)
    parser.add_argument("--indicators", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=2_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--index-indicators", type=int, default=0, help="also match against this many (e.g. 1000000)"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {
        "indicators": args.indicators,
        "alerts": args.alerts,
        "at": datetime.now(UTC).isoformat(),
    }
    for name in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        with tempfile.TemporaryDirectory() as scratch, DATABASES[name](Path(scratch)) as url:
            results[name] = asyncio.run(measure(url, args.indicators, args.alerts))
        print(name, json.dumps(results[name]))
        if args.index_indicators:
            with tempfile.TemporaryDirectory() as scratch, DATABASES[name](Path(scratch)) as url:
                big = asyncio.run(measure_index(url, args.index_indicators, args.alerts))
            results[f"{name}_index"] = big
            print(f"{name} index", json.dumps(big))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
