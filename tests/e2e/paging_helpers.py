"""Real-process paging: `warroom serve` and `warroom worker` processes on one database and data dir, paging
set up over the API, alerts posted through the intake, and the results read back from the sink and the DB."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from tests import cli
from tests.fakes.http import serving
from tests.fakes.sink import Sink
from tests.process import WARROOM, child_env, follow_start, printed, stop
from warroom.db import sync_url

ADMIN = "admin@example.com"
DEDUP = re.compile(r"\nAlert #\d+ \((alert-\d+)\)(?:\n|$)")

PAGING = "WHERE kind NOT LIKE 'intel.%'"  # the jobs of paging proper


def stack_env(db_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {"WARROOM_DATABASE_URL": db_url, "WARROOM_DATA_DIR": str(data_dir), "WARROOM_LOG_LEVEL": "warning"}
    return {**env, **extra}


def admin_token(env: dict[str, str]) -> str:
    """An admin's API token, made by the CLI in this process (a `warroom` process took ~3.5 s to start)."""
    done = cli.invoke(["token", "create", "--email", ADMIN, "--name", "t", "--role", "admin"], env)
    assert done.exit_code == 0, (done.output, done.exception)
    token = done.stdout.strip()
    assert token.startswith("wr_"), token
    return token


def start_worker(env: dict[str, str], logs: Path, name: str) -> subprocess.Popen[bytes]:
    """`warroom worker`, returned once it has said it runs (its output goes to logs/NAME.{out,err})."""
    logs.mkdir(parents=True, exist_ok=True)
    out_path = logs / f"{name}.out"
    with out_path.open("wb") as out, (logs / f"{name}.err").open("wb") as err:
        process = subprocess.Popen(
            [str(WARROOM), "worker"], env=child_env(env), cwd=logs, stdout=out, stderr=err
        )
    err_path = logs / f"{name}.err"

    def output() -> str:
        return "".join(f"--- {path.name}\n{path.read_text()[-3000:]}\n" for path in (err_path, out_path))

    follow_start(process, printed(out_path, "worker running"), what=f"warroom worker {name}", output=output)
    return process


@contextmanager
def running_workers(env: dict[str, str], logs: Path, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` workers; the list may grow (replacements); every one still alive is stopped on exit."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for number in range(count):
            started.append(start_worker(env, logs, f"worker-{number}"))
        yield started
    finally:
        for process in started:
            stop(process)


def wait_until(condition: Callable[[], bool], seconds: float, what: str, every: float = 0.05) -> float:
    """Poll until `condition` holds; returns the seconds it took, or fails naming `what`."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > seconds:
            raise AssertionError(f"gave up after {seconds:.0f} s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - began


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), (response.request.url, response.text)
    body: dict[str, Any] = response.json()
    return body


def set_up_paging(url: str, token: str, contacts: Sequence[tuple[str, str, int | None]]) -> str:
    """Service `api` whose policy's single step (at once) pages the admin; returns the intake key.

    `contacts` are (kind, address, delay): the admin's contact methods, each with a high-urgency rule after
    `delay` seconds, or (all None) no rules, so every method is used at once.
    """
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
        _ok(http.post("/api/v1/services", json={"slug": "api", "name": "API"}))
        for kind, address, delay in contacts:
            method = _ok(http.post("/api/v1/me/contact-methods", json={"kind": kind, "address": address}))
            if delay is not None:
                rule = {"contact_method": method["id"], "delay_seconds": delay, "urgency": "high"}
                _ok(http.post("/api/v1/me/notification-rules", json=rule))
        step = {"delay_seconds": 0, "targets": [{"type": "user", "ref": ADMIN}]}
        policy = {"slug": "api-oncall", "name": "API on call", "services": ["api"], "steps": [step]}
        _ok(http.post("/api/v1/escalation-policies", json=policy))
        integration = {"kind": "webhook", "service": "api", "rate_limit_per_minute": 1_000_000}
        return str(_ok(http.post("/api/v1/integrations", json=integration))["key"])


def alert_keys(count: int) -> list[str]:
    return [f"alert-{number}" for number in range(count)]


async def _post_all(url: str, key: str, dedup_keys: list[str], concurrency: int) -> list[int]:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:

        async def one(dedup: str) -> int:
            body = {"id": dedup, "title": f"{dedup} is down", "severity": "critical"}
            async with gate:
                return (await http.post(f"/intake/webhook/{key}", json=body)).status_code

        return list(await asyncio.gather(*(one(d) for d in dedup_keys)))


def post_alerts(url: str, key: str, dedup_keys: list[str], concurrency: int = 8) -> None:
    statuses = Counter(asyncio.run(_post_all(url, key, dedup_keys, concurrency)))
    assert statuses == {202: len(dedup_keys)}, statuses


@dataclass
class Deliveries:
    """What the sink received: totals, the distinct idempotency keys, and the alerts they were about."""

    total: int
    keys: Counter[str]
    alerts: set[str]

    @property
    def duplicates(self) -> int:
        return self.total - len(self.keys)


def deliveries(sink: Sink, data_dir: Path) -> Deliveries:
    """Check every delivery's signature against the shared data dir's key, and count them up."""
    secret = (data_dir / "secret_key").read_text().strip()
    received = list(sink.received)
    keys: Counter[str] = Counter()
    alerts: set[str] = set()
    bodies: dict[str, bytes] = {}
    for record in received:
        body, headers = record["body"], record["headers"]
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Warroom-Signature"] == expected, "a delivery signed with another key"
        key = headers["Idempotency-Key"]
        assert bodies.setdefault(key, body) == body, f"two different bodies under {key}"
        keys[key] += 1
        found = DEDUP.search(json.loads(body)["body"])
        assert found, body
        alerts.add(found.group(1))
    return Deliveries(len(received), keys, alerts)


@dataclass
class Tally:
    """The database after a run: OutgoingMessage states, job states per kind, attempts, paged events."""

    messages: Counter[str]
    jobs: Counter[tuple[str, str]]
    job_attempts: Counter[str]
    message_attempts: int
    paged: int
    escalations: Counter[str]

    def unfinished(self) -> int:
        return sum(n for (_, state), n in self.jobs.items() if state in ("pending", "running"))


def tally(db_url: str) -> Tally:
    engine = sa.create_engine(sync_url(db_url))
    try:
        with engine.connect() as conn:

            def rows(query: str) -> list[Any]:
                return list(conn.execute(sa.text(query)).all())

            return Tally(
                messages=Counter(dict(rows("SELECT state, count(*) FROM outgoing_messages GROUP BY state"))),
                # Threat-intel matching follows triage on its own queue, one job per triage group: how
                # many depends on how the worker grouped the alerts, so the paging counts leave it out.
                jobs=Counter(
                    {
                        (k, s): n
                        for k, s, n in rows(f"SELECT kind, state, count(*) FROM jobs {PAGING} GROUP BY 1, 2")
                    }
                ),
                job_attempts=Counter(
                    dict(rows(f"SELECT kind, sum(attempts) FROM jobs {PAGING} GROUP BY kind"))
                ),
                message_attempts=int(rows("SELECT coalesce(sum(attempts), 0) FROM outgoing_messages")[0][0]),
                paged=int(rows("SELECT count(*) FROM alert_events WHERE action = 'paged'")[0][0]),
                escalations=Counter(dict(rows("SELECT state, count(*) FROM escalations GROUP BY state"))),
            )
    finally:
        engine.dispose()


def overlong_leases(db_url: str, lease_seconds: float) -> int:
    """Running jobs leased for longer than `lease_seconds` from now: the lease setting was not honoured."""
    engine = sa.create_engine(sync_url(db_url))
    try:
        with engine.connect() as conn:
            leases = conn.execute(sa.text("SELECT locked_until FROM jobs WHERE state = 'running'")).scalars()
            now = time.time()
            return sum(1 for until in leases if _epoch(until) > now + lease_seconds + 5)
    finally:
        engine.dispose()


def _epoch(value: Any) -> float:
    from datetime import UTC, datetime

    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass
class HangingSink:
    """An HTTP endpoint that records when each POST arrives, then holds it until released (at most `hang`)."""

    url: str = ""
    hang: float = 20.0
    arrived: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def hanging_sink(hang: float = 20.0) -> Iterator[HangingSink]:
    sink = HangingSink(hang=hang)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            sink.arrived.append(time.monotonic())
            sink.release.wait(sink.hang)
            sink.answered.append(time.monotonic())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    with serving(Handler) as server:
        sink.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        try:
            yield sink
        finally:
            sink.release.set()
