"""The four scenarios against one running server, the row-count checks after the writes, and the audit."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import httpx

from bench.load import Call, CallFactory, LoadOptions, ScenarioResult, Tally, generate, make_client, summarise
from bench.server import Server, run_cli

UPDATE_TARGETS = 10
INCIDENTS = "/api/v1/incidents"


@dataclass(frozen=True)
class Check:
    """Answers the server gave (`expected` rows) against rows it actually holds (`found`)."""

    name: str
    expected: int
    found: int
    detail: str = ""

    @property
    def matched(self) -> bool:
        return self.expected == self.found and not self.detail


@dataclass
class DatabaseRun:
    database: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    audit_ok: bool | None = None
    audit: str = ""
    skipped: str = ""
    failed: str = ""
    server_stderr_tail: str = ""

    @property
    def troubled(self) -> bool:
        """Anything worth the server's stderr: a failure, an error answer, a mismatch, a broken chain."""
        return bool(
            self.failed
            or any(s.errors for s in self.scenarios)
            or not all(c.matched for c in self.checks)
            or self.audit_ok is False
        )


@dataclass(frozen=True)
class Bench:
    client: httpx.AsyncClient
    server: Server
    options: LoadOptions


async def _measure(bench: Bench, name: str, make: CallFactory, expect: int) -> tuple[ScenarioResult, Tally]:
    """One scenario, with the server's CPU use over it (percent of one core)."""
    cpu = bench.server.cpu_seconds()
    tally = await generate(bench.client, make, expect, bench.options)
    server_cpu = 100 * (bench.server.cpu_seconds() - cpu) / tally.elapsed if tally.elapsed else math.nan
    return dataclasses.replace(summarise(name, tally), server_cpu_pct=server_cpu), tally


async def _incident_total(client: httpx.AsyncClient) -> int:
    response = await client.get(INCIDENTS, params={"limit": 1})
    response.raise_for_status()
    return int(response.json()["total"])


async def _timeline_length(client: httpx.AsyncClient, ref: str) -> int:
    response = await client.get(f"{INCIDENTS}/{ref}/timeline")
    response.raise_for_status()
    return len(response.json())


async def _declare(client: httpx.AsyncClient, title: str) -> str:
    response = await client.post(INCIDENTS, json={"title": title, "severity": "P3"})
    response.raise_for_status()
    return str(response.json()["ref"])


def _create_call(number: int) -> Call:
    return Call("POST", INCIDENTS, {"title": f"bench {number}", "severity": "P3"})


async def _bench_creates(bench: Bench) -> tuple[ScenarioResult, Check]:
    before = await _incident_total(bench.client)
    result, _ = await _measure(bench, f"POST {INCIDENTS}", _create_call, 201)
    added = await _incident_total(bench.client) - before
    return result, Check("201 answers on create = incidents added (list total)", result.ok, added)


async def _bench_updates(bench: Bench) -> tuple[ScenarioResult, Check]:
    """Notes spread round-robin over 10 fresh incidents: concurrent appends to the same hash chains."""
    client = bench.client
    refs = [await _declare(client, f"bench target {i}") for i in range(UPDATE_TARGETS)]
    before = {ref: await _timeline_length(client, ref) for ref in refs}

    def make(number: int) -> Call:
        ref = refs[number % len(refs)]
        return Call("POST", f"{INCIDENTS}/{ref}/updates", {"body": f"note {number}"}, tag=ref)

    name = f"POST {INCIDENTS}/{{ref}}/updates"
    result, tally = await _measure(bench, name, make, 201)
    added = {ref: await _timeline_length(client, ref) - before[ref] for ref in refs}
    off = [
        f"{ref}: {tally.ok_by_tag[ref]} x 201 but {n} events"
        for ref, n in added.items()
        if n != tally.ok_by_tag[ref]
    ]
    check_name = f"201 answers on update = timeline events added ({UPDATE_TARGETS} incidents)"
    return result, Check(check_name, result.ok, sum(added.values()), "; ".join(off))


def _against(result: ScenarioResult, baseline: float) -> ScenarioResult:
    return dataclasses.replace(result, vs_baseline=result.rate / baseline if baseline else None)


async def bench_server(server: Server, options: LoadOptions) -> tuple[list[ScenarioResult], list[Check]]:
    """Baseline, create, list, update: each measured on its own, in that order, on one server."""
    async with make_client(server.base_url, server.token, options.concurrency) as client:
        bench = Bench(client=client, server=server, options=options)
        health = Call("GET", "/healthz")
        baseline, _ = await _measure(bench, "GET /healthz (baseline)", lambda _n: health, 200)
        create, created = await _bench_creates(bench)
        page = Call("GET", f"{INCIDENTS}?limit=20")
        listing, _ = await _measure(bench, f"GET {INCIDENTS}?limit=20", lambda _n: page, 200)
        updates, updated = await _bench_updates(bench)
    scenarios = [_against(r, baseline.rate) for r in (baseline, create, listing, updates)]
    return scenarios, [created, updated]


def audit_verify(server: Server) -> tuple[bool, str]:
    """`warroom audit verify` with the server's environment: (exit code 0?, its last line)."""
    done = run_cli(["audit", "verify"], server.env)
    lines = [line.strip() for line in f"{done.stdout}\n{done.stderr}".splitlines() if line.strip()]
    return done.returncode == 0, lines[-1] if lines else f"(no output; exit code {done.returncode})"
