"""The load generator: N asyncio workers on one httpx.AsyncClient, bounded by time and by count."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_ERROR_SAMPLES = 5
REQUEST_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class LoadOptions:
    seconds: float
    concurrency: int
    max_requests: int


@dataclass(frozen=True)
class Call:
    """One request; `tag` groups the expected answers (e.g. per incident)."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    tag: str = ""


CallFactory = Callable[[int], Call]


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    ok_by_tag: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    client_cpu: float = 0.0

    def failure(self, text: str) -> None:
        self.errors += 1
        sample = text[:500]
        if len(self.error_samples) < MAX_ERROR_SAMPLES and sample not in self.error_samples:
            self.error_samples.append(sample)


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    requests: int
    ok: int
    errors: int
    seconds: float
    rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    statuses: dict[str, int]
    error_samples: list[str]
    client_cpu_pct: float
    server_cpu_pct: float = math.nan
    vs_baseline: float | None = None


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (NaN when empty)."""
    if not ordered:
        return math.nan
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[rank]


def make_client(base_url: str, token: str, concurrency: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=REQUEST_TIMEOUT_SECONDS,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


async def _one(client: httpx.AsyncClient, call: Call, expect: int, tally: Tally) -> None:
    started = time.perf_counter()
    try:
        response = await client.request(call.method, call.path, json=call.body)
    except httpx.HTTPError as error:
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        tally.statuses[type(error).__name__] += 1
        tally.failure(f"{call.method} {call.path}: {type(error).__name__}: {error}")
        return
    tally.latencies_ms.append((time.perf_counter() - started) * 1000)
    tally.statuses[str(response.status_code)] += 1
    if response.status_code == expect:
        tally.ok_by_tag[call.tag] += 1
    else:
        tally.failure(f"{call.method} {call.path}: {response.status_code} {response.text}")


async def generate(client: httpx.AsyncClient, make: CallFactory, expect: int, options: LoadOptions) -> Tally:
    """Run `options.concurrency` workers until the time is up or `max_requests` were started."""
    tally = Tally()
    counter = itertools.count()
    cpu = time.process_time()
    started = time.perf_counter()
    deadline = started + options.seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            number = next(counter)
            if number >= options.max_requests:
                return
            await _one(client, make(number), expect, tally)

    await asyncio.gather(*(worker() for _ in range(options.concurrency)))
    tally.elapsed = time.perf_counter() - started
    tally.client_cpu = time.process_time() - cpu
    return tally


def summarise(name: str, tally: Tally) -> ScenarioResult:
    ordered = sorted(tally.latencies_ms)
    count = len(ordered)
    return ScenarioResult(
        name=name,
        requests=count,
        ok=sum(tally.ok_by_tag.values()),
        errors=tally.errors,
        seconds=round(tally.elapsed, 3),
        rate=count / tally.elapsed if tally.elapsed else 0.0,
        p50_ms=percentile(ordered, 50),
        p90_ms=percentile(ordered, 90),
        p99_ms=percentile(ordered, 99),
        statuses=dict(sorted(tally.statuses.items())),
        error_samples=list(tally.error_samples),
        client_cpu_pct=100 * tally.client_cpu / tally.elapsed if tally.elapsed else math.nan,
    )
