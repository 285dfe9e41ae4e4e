"""The paging bench's set-up over the API, its alert senders, its CPU meter and its job-timing summary."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.load import percentile
from bench.paging_procs import JobRow, Workers, postgres_cpu_seconds
from bench.paging_report import Stage
from bench.server import Server

ADMIN_EMAIL = "admin@example.org"
RATE_LIMIT_PER_MINUTE = 1_000_000  # the API's maximum; the default (100/s) is not what is measured here
HOLD_SECONDS = 86_400  # the drain policy's step delay: held until the bench makes the steps due
MAX_SAMPLES = 5
STAGE_KINDS = ("alert.triage", "escalation.step", "notify.send")


@dataclass(frozen=True)
class Keys:
    latency: str  # integration of service `bench`: its policy pages at once
    drain: str  # integration of service `drain`: its policy's step waits HOLD_SECONDS
    storm: str  # PagerDuty integration of service `storm`, which has no policy: triaged, never paged


async def _created(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(path, json=body)
    if response.status_code != 201:
        raise httpx.HTTPStatusError(
            f"{path}: {response.status_code} {response.text}", request=response.request, response=response
        )
    result: dict[str, Any] = response.json()
    return result


async def set_up(api: httpx.AsyncClient, sink_url: str) -> Keys:
    """Two services, each with a one-step policy paging the admin (a webhook contact method: the sink), and
    a third, `storm`, with none (the storm scenario's alerts)."""
    await _created(api, "/api/v1/me/contact-methods", {"kind": "webhook", "address": sink_url})
    keys = {}
    for slug, delay in (("bench", 0), ("drain", HOLD_SECONDS)):
        await _created(api, "/api/v1/services", {"slug": slug, "name": slug.title()})
        step = {"delay_seconds": delay, "targets": [{"type": "user", "ref": ADMIN_EMAIL}]}
        policy = {"slug": f"{slug}-oncall", "name": f"{slug} on call", "services": [slug], "steps": [step]}
        await _created(api, "/api/v1/escalation-policies", policy)
        body = {"kind": "webhook", "service": slug, "rate_limit_per_minute": RATE_LIMIT_PER_MINUTE}
        keys[slug] = str((await _created(api, "/api/v1/integrations", body))["key"])
    await _created(api, "/api/v1/services", {"slug": "storm", "name": "Storm"})
    body = {"kind": "pagerduty", "service": "storm", "rate_limit_per_minute": RATE_LIMIT_PER_MINUTE}
    storm = str((await _created(api, "/api/v1/integrations", body))["key"])
    return Keys(latency=keys["bench"], drain=keys["drain"], storm=storm)


@dataclass
class Sent:
    """What a sender did: when each alert's POST started (perf_counter), and the answers."""

    at: dict[str, float] = field(default_factory=dict)
    intake_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    lag_max: float = 0.0  # how late the paced sender started a POST, at worst
    began: float = 0.0
    ended: float = 0.0

    @property
    def accepted(self) -> int:
        return self.statuses["202"]

    def sample(self, text: str) -> None:
        if len(self.samples) < MAX_SAMPLES and text[:300] not in self.samples:
            self.samples.append(text[:300])


async def post_alert(client: httpx.AsyncClient, key: str, alert_id: str, sent: Sent) -> None:
    """One alert; its unique id is also its title, so the page's subject names it."""
    body = {"id": alert_id, "title": alert_id, "severity": "critical"}
    started = sent.at[alert_id] = time.perf_counter()
    try:
        response = await client.post(f"/intake/webhook/{key}", json=body)
    except httpx.HTTPError as error:
        sent.statuses[type(error).__name__] += 1
        sent.sample(f"POST {alert_id}: {type(error).__name__}: {error}")
        return
    sent.intake_ms.append((time.perf_counter() - started) * 1000)
    sent.statuses[str(response.status_code)] += 1
    if response.status_code != 202:
        sent.sample(f"POST {alert_id}: {response.status_code} {response.text}")


async def paced(client: httpx.AsyncClient, key: str, ids: list[str], rate: float) -> Sent:
    """Open loop: alert n's POST is due at start + n/rate, whatever the answers."""
    sent, tasks = Sent(), []
    sent.began = time.perf_counter()
    for number, alert_id in enumerate(ids):
        due = sent.began + number / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        sent.lag_max = max(sent.lag_max, time.perf_counter() - due)
        tasks.append(asyncio.create_task(post_alert(client, key, alert_id, sent)))
    await asyncio.gather(*tasks)
    sent.ended = time.perf_counter()
    return sent


async def flood(client: httpx.AsyncClient, key: str, ids: list[str], concurrency: int) -> Sent:
    """Closed loop: `concurrency` senders post the alerts as fast as the server answers."""
    sent, queue = Sent(), list(reversed(ids))
    sent.began = time.perf_counter()

    async def sender() -> None:
        while queue:
            await post_alert(client, key, queue.pop(), sent)

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    sent.ended = time.perf_counter()
    return sent


@dataclass
class CpuMeter:
    """CPU seconds of the server, the workers, PostgreSQL and the bench itself, as percent of one core."""

    server: Server
    workers: Workers
    postgres: bool
    base: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0

    def _now(self) -> dict[str, float]:
        return {
            "server": self.server.cpu_seconds(),
            "workers": self.workers.cpu_seconds(),
            "postgres": postgres_cpu_seconds() if self.postgres else math.nan,
            "bench": time.process_time(),
        }

    def start(self) -> None:
        self.base, self.wall = self._now(), time.perf_counter()

    def percent(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.wall
        now = self._now()
        return {key: 100 * (now[key] - self.base[key]) / elapsed if elapsed else math.nan for key in now}


def stages(rows: list[JobRow]) -> list[Stage]:
    """Per job kind: how many, how many needed retries or failed, and how long they waited to start."""
    found = []
    for kind in STAGE_KINDS:
        jobs = [row for row in rows if row.kind == kind]
        waits = sorted(
            (row.finished_at - max(row.created_at, row.run_at)).total_seconds() * 1000
            for row in jobs
            if row.state == "done" and row.finished_at is not None
        )
        found.append(
            Stage(
                kind=kind,
                jobs=len(jobs),
                done=sum(row.state == "done" for row in jobs),
                retried=sum(row.attempts > 1 for row in jobs),
                failed=sum(row.state == "failed" for row in jobs),
                wait_p50_ms=percentile(waits, 50),
                wait_p99_ms=percentile(waits, 99),
                wait_max_ms=waits[-1] if waits else math.nan,
            )
        )
    return found


def job_errors(rows: list[JobRow]) -> list[str]:
    """The distinct last errors of this scenario's jobs (retried, failed or still pending after a failure)."""
    errors = Counter(f"{row.kind}: {row.last_error}"[:300] for row in rows if row.last_error)
    found = [f"{count}x {text}" for text, count in errors.most_common(MAX_SAMPLES)]
    healed = Counter(
        row.kind for row in rows if row.attempts > 1 and row.state == "done" and not row.last_error
    )
    found += [
        f"{n} {kind} jobs failed, then succeeded on a retry (the error is in the worker log)"
        for kind, n in healed.items()
    ]
    return found
