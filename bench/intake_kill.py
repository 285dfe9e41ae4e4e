"""Issue #20's durability check under fire: wrk sends PagerDuty triggers (each with a key of its own) to a
fresh `warroom serve` on the bench's database, the server is SIGKILLed halfway through, a new one is
started, and every trigger that was answered 202 must be there once the new server has derived what the
killed one left in its backlog. Triggers committed but not yet answered
when the server died may be stored too: the check is that none answered 202 is missing."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bench.intake_wrk import WrkOptions, alert_total, run_wrk
from bench.load import make_client
from bench.scenarios import Check
from bench.server import Server, admin_token, running_server

RATE_LIMIT_PER_MINUTE = 1_000_000
TAG = 250  # part of every key: distinct from the tags the other wrk runs use


async def _new_key(server: Server, token: str) -> tuple[str, int]:
    """A PagerDuty integration of its own on the bench service, and the alert total before."""
    async with make_client(server.base_url, token, 2) as api:
        body = {"kind": "pagerduty", "service": "bench", "rate_limit_per_minute": RATE_LIMIT_PER_MINUTE}
        response = await api.post("/api/v1/integrations", json=body)
        response.raise_for_status()
        return str(response.json()["key"]), await alert_total(server)


async def _total(server: Server, token: str) -> int:
    return await alert_total(server)


def killed_mid_load(database_url: str, data_dir: Path, options: WrkOptions) -> Check:
    """Run after the bench's own server stopped (SQLite admits one writer process)."""
    with running_server(database_url, data_dir) as server:
        token = admin_token(server)
        key, before = asyncio.run(_new_key(server, token))

        async def fire() -> int:
            wrk = asyncio.create_task(run_wrk(server, options, options.threads[0], "pagerduty", key, TAG))
            await asyncio.sleep(options.seconds / 2)
            os.kill(server.pid, signal.SIGKILL)
            run = await wrk
            return int(run.report.get("statuses", {}).get("202", 0)) if run.report else 0

        accepted = asyncio.run(fire())
    with running_server(database_url, data_dir) as again:
        stored = asyncio.run(_total(again, admin_token(again))) - before
    name = f"SIGKILL mid-load: keys answered 202 vs stored among them ({stored} stored in all)"
    return Check(
        name, accepted, min(stored, accepted), "" if accepted else "wrk counted no 202 before the kill"
    )
