"""What the intake senders post (PagerDuty Events v2 and Alertmanager webhooks) and the open-loop pacer."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.load import REQUEST_TIMEOUT_SECONDS, Call, CallFactory, LoadOptions, Tally

PD_PATH = "/v2/enqueue"
REPEAT_EVERY = 5  # every 5th request of the dedup mix repeats an earlier key: 20 %
STARTED = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sender_client(base_url: str, connections: int) -> httpx.AsyncClient:
    """A client as an alert source would be: no API token (the intake key is in the body or the path)."""
    if httpx.URL(base_url).host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"the intake bench only sends to loopback, not {base_url}")
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=REQUEST_TIMEOUT_SECONDS,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def pagerduty_body(routing_key: str, dedup_key: str, number: int) -> dict[str, Any]:
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": f"bench: disk almost full on db-{number % 50}",
            "source": f"db-{number % 50}.bench.example.org",
            "severity": "critical",
            "component": "postgres",
            "group": "storage",
            "class": "disk",
            "custom_details": {"free_percent": number % 10, "mount": "/var/lib/postgresql"},
        },
        "client": "bench",
        "client_url": "https://monitoring.example.org/bench",
    }


def alertmanager_body(fingerprint: str, number: int) -> dict[str, Any]:
    """A version 4 notification with one firing alert, the way Alertmanager's webhook_config sends it."""
    instance = f"web-{number % 50}.bench.example.org:9100"
    labels = {"alertname": "BenchHighLatency", "severity": "critical", "job": "node", "instance": instance}
    common = {"alertname": "BenchHighLatency", "severity": "critical", "job": "node"}
    annotations = {
        "summary": f"p99 latency above 500 ms on {instance}",
        "description": "The 5-minute p99 of http_request_duration_seconds is above 0.5 s.",
        "runbook_url": "https://runbooks.example.org/high-latency",
    }
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": STARTED,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=latency_p99+%3E+0.5",
        "fingerprint": fingerprint,
    }
    return {
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="BenchHighLatency"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "warroom",
        "groupLabels": {"alertname": "BenchHighLatency"},
        "commonLabels": common,
        "commonAnnotations": {"runbook_url": annotations["runbook_url"]},
        "externalURL": "http://alertmanager.example.org:9093",
        "alerts": [alert],
    }


def pagerduty_calls(routing_key: str, prefix: str) -> CallFactory:
    """A trigger with a dedup key of its own per request; the tag is the key."""

    def make(number: int) -> Call:
        key = f"{prefix}-{number}"
        return Call("POST", PD_PATH, pagerduty_body(routing_key, key, number), tag=key)

    return make


def dedup_mix_calls(routing_key: str, prefix: str) -> CallFactory:
    """Like pagerduty_calls, but every 5th request repeats the key of the first of its group of five."""

    def make(number: int) -> Call:
        repeat = number % REPEAT_EVERY == REPEAT_EVERY - 1
        key = f"{prefix}-{number - REPEAT_EVERY + 1 if repeat else number}"
        return Call("POST", PD_PATH, pagerduty_body(routing_key, key, number), tag=key)

    return make


def alertmanager_calls(key: str) -> CallFactory:
    """One alert per notification with a fingerprint of its own (16 hex digits, like Alertmanager's)."""
    path = f"/intake/alertmanager/{key}"

    def make(number: int) -> Call:
        fingerprint = f"{number:016x}"
        return Call("POST", path, alertmanager_body(fingerprint, number), tag=fingerprint)

    return make


async def _paced_one(client: httpx.AsyncClient, call: Call, due: float, tally: Tally) -> None:
    """Latency counts from when the request was due, so a late start (coordinated omission) shows."""
    try:
        response = await client.request(call.method, call.path, json=call.body)
    except httpx.HTTPError as error:
        tally.latencies_ms.append((time.perf_counter() - due) * 1000)
        tally.statuses[type(error).__name__] += 1
        tally.failure(f"{call.method} {call.path}: {type(error).__name__}: {error}")
        return
    tally.latencies_ms.append((time.perf_counter() - due) * 1000)
    tally.statuses[str(response.status_code)] += 1
    if response.status_code == 202:
        tally.ok_by_tag[call.tag] += 1
    else:
        tally.failure(f"{call.method} {call.path}: {response.status_code} {response.text}")


async def generate_paced(
    client: httpx.AsyncClient, make: CallFactory, rate: float, options: LoadOptions
) -> Tally:
    """Open loop: request i is due at start + i/rate whatever the replies; at most `concurrency` in flight."""
    tally = Tally()
    gate = asyncio.Semaphore(options.concurrency)
    total = min(options.max_requests, int(rate * options.seconds))
    cpu, started = time.process_time(), time.perf_counter()

    async def send(number: int, due: float) -> None:
        async with gate:
            await _paced_one(client, make(number), due, tally)

    tasks = []
    for number in range(total):
        due = started + number / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(send(number, due)))
    await asyncio.gather(*tasks)
    tally.elapsed = time.perf_counter() - started
    tally.client_cpu = time.process_time() - cpu
    return tally
