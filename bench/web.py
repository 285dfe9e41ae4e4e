"""`python -m bench --suite web`: server time and weight per web page on a realistic database (demo data,
10,000 closed incidents and 100,000 alerts), 50 sequential requests per page with a signed-in admin's session
cookie; p50/p99 against a 100 ms target, on SQLite and PostgreSQL (results/web-latest.json).

Times are measured by the client on the same machine, one request at a time: server time plus a loopback
round trip (well under a millisecond), with no competing load.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.databases import DATABASES, DatabaseUnavailable
from bench.report import _plain
from bench.server import Server, ServerFailed, admin, running_server, tail_file
from bench.web_data import ALERTS, INCIDENTS, load_alerts, load_history

RESULTS = Path(__file__).resolve().parent / "results" / "web-latest.json"
REQUESTS = 50
TARGET_MS = 100.0
EMAIL, PASSWORD = "web-bench@example.org", "web bench password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class PageResult:
    name: str
    path: str
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    kilobytes: float = 0.0  # the page's HTML, uncompressed

    @property
    def ok(self) -> bool:
        return self.p99_ms < TARGET_MS and set(self.statuses) == {200}


@dataclass
class WebRun:
    database: str
    pages: list[PageResult] = field(default_factory=list)
    setup_seconds: float = 0.0
    skipped: str = ""
    failed: str = ""


def pages(incident: int, alert: int) -> dict[str, str]:
    return {
        "dashboard": "/",
        "incidents (first page)": "/incidents",
        "incidents (closed P2, 'database')": "/incidents?status=closed&severity=P2&q=database",
        "incidents (page 40)": "/incidents?offset=2000",
        "one incident": f"/incidents/INC-{incident}",
        "alerts": "/alerts",
        "alerts (all, 'checkout')": "/alerts?status=triggered&status=acknowledged&status=resolved&q=checkout",
        "one alert": f"/alerts/{alert}",
        "search 'database'": "/search?q=database",
        "preparedness": "/preparedness",
        "schedules": "/schedules",
        "services": "/services",
        "integrations": "/integrations",
        "policies": "/policies",
        "procedure": "/procedure",
        "admin/users": "/admin/users",
    }


def signed_in(server: Server) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=30)
    token = CSRF.search(client.get("/login").text)
    if token is None:
        raise ServerFailed("the sign-in page has no CSRF token")
    done = client.post("/login", data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD})
    if done.status_code != 303:
        raise ServerFailed(f"signing in answered {done.status_code}")
    return client


def measure(client: httpx.Client, name: str, path: str, requests: int) -> PageResult:
    client.get(path)  # warm: templates compiled, caches filled
    times, statuses, size = [], dict[int, int](), 0
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        size = len(response.content)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return PageResult(name, path, statistics.median(times), p99, times[-1], statuses, size / 1024)


def run_database(name: str, requests: int, console: Console) -> WebRun:
    run = WebRun(database=name)
    with tempfile.TemporaryDirectory(prefix=f"warroom-webbench-{name}-") as tmp:
        data_dir = Path(tmp)
        console.print(
            f"[bold]{name}[/]: demo, {INCIDENTS:,} incidents and {ALERTS:,} alerts in {data_dir} ..."
        )
        try:
            with DATABASES[name](data_dir) as url, running_server(url, data_dir) as server:
                began = time.monotonic()
                admin(["demo"], server.env)
                admin(
                    ["user", "create", "--email", EMAIL, "--role", "admin", "--password", PASSWORD],
                    server.env,
                )
                first_demo_incident = 1
                load_history(url)
                newest_alert = load_alerts(url)
                run.setup_seconds = time.monotonic() - began
                client = signed_in(server)
                try:
                    for page, path in pages(first_demo_incident, newest_alert).items():
                        run.pages.append(measure(client, page, path, requests))
                finally:
                    client.close()
        except DatabaseUnavailable as error:
            run.skipped = str(error)
        except (ServerFailed, httpx.HTTPError, OSError, RuntimeError) as error:
            run.failed = f"{type(error).__name__}: {error}\n{tail_file(data_dir / 'server.stderr.log')}"
    return run


def table(run: WebRun, requests: int) -> Table:
    caption = f"{requests} sequential requests per page, signed in as an admin; target p99 < {TARGET_MS:g} ms"
    out = Table(
        title=f"{run.database} web pages", title_justify="left", caption=caption, caption_justify="left"
    )
    for heading in ("page", "path", "p50 ms", "p99 ms", "max ms", "KB", "statuses", "target"):
        out.add_column(heading, justify="left" if heading in ("page", "path") else "right")
    for p in run.pages:
        statuses = " ".join(f"{code} x{n}" for code, n in sorted(p.statuses.items()))
        verdict = "[green]ok[/]" if p.ok else "[red]missed[/]"
        out.add_row(
            p.name,
            p.path,
            f"{p.p50_ms:.1f}",
            f"{p.p99_ms:.1f}",
            f"{p.max_ms:.1f}",
            f"{p.kilobytes:.0f}",
            statuses,
            verdict,
        )
    return out


def main(args: argparse.Namespace, console: Console, settings: dict[str, Any]) -> int:
    import json

    names = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    runs = []
    for name in names:
        run = run_database(name, REQUESTS, console)
        if run.skipped:
            console.print(f"[yellow]{name} skipped:[/] {run.skipped}")
        elif run.failed:
            console.print(f"[red]{name} failed:[/] {run.failed}")
        else:
            console.print(f"set-up (demo + history) took {run.setup_seconds:.1f} s")
            console.print(table(run, REQUESTS))
        runs.append(run)
    document = {
        "settings": {
            **settings,
            "requests_per_page": REQUESTS,
            "history_incidents": INCIDENTS,
            "history_alerts": ALERTS,
        },
        "databases": {r.database: {**asdict(r), "ok": all(p.ok for p in r.pages)} for r in runs},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(_plain(document), indent=2) + "\n")
    console.print(f"figures written to {RESULTS}")
    return 1 if any(r.failed for r in runs) else 0
