"""Live streams against a real server process: an event written through the API reaches an open stream,
and SIGTERM ends open streams at once instead of holding the graceful shutdown until they time out."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.process import ServerProcess, running_server, startup_seconds

FIRST_RUN = re.compile(r"email:\s+(\S+)\s+password:\s+(\S+)\s+token:\s+(wr_\S+)")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

pytestmark = pytest.mark.slow


def signed_in(server: ServerProcess) -> tuple[httpx.Client, str]:
    found = FIRST_RUN.search(server.stdout())
    assert found, server.stdout()
    email, password, token = found.groups()
    client = httpx.Client(base_url=server.url, timeout=httpx.Timeout(10, read=60))
    page = client.get("/login")
    match = CSRF.search(page.text)
    assert match
    form = {"csrf_token": match.group(1), "email": email, "password": password}
    assert client.post("/login", data=form).status_code == 303
    return client, token


def test_live_stream_gets_api_writes_and_ends_promptly_on_sigterm(tmp_path: Path) -> None:
    env = {"WARROOM_DATA_DIR": str(tmp_path / "var"), "WARROOM_LOG_LEVEL": "warning"}
    with running_server(env, ("run",), log_dir=tmp_path / "logs") as server:
        client, token = signed_in(server)
        api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        ref = api.post("/api/v1/incidents", json={"title": "live", "severity": "P2"}).json()["ref"]
        seq = len(api.get(f"/api/v1/incidents/{ref}/timeline").json())

        opened, seen, stopped_at = threading.Event(), threading.Event(), [0.0]
        deadline = startup_seconds()

        def write_then_stop() -> None:
            # Each step waits for the stream, not a fixed time: a busy machine may take seconds to open it.
            # Whatever happens, the server is stopped, which ends the stream (the assertions say what failed).
            try:
                if opened.wait(deadline):
                    api.post(f"/api/v1/incidents/{ref}/updates", json={"body": "written through the API"})
                    seen.wait(deadline)
            finally:
                stopped_at[0] = time.monotonic()
                os.kill(server.pid, signal.SIGTERM)

        lines: list[str] = []
        writer = threading.Thread(target=write_then_stop)
        writer.start()
        with client.stream("GET", f"/live/incidents/{ref}", params={"after": seq}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            opened.set()
            for line in stream.iter_lines():
                lines.append(line)
                written = any("written through the API" in seen_line for seen_line in lines)
                if written and "event: changed" in lines:
                    seen.set()
        ended_after = time.monotonic() - stopped_at[0]
        writer.join()
        assert server.process.wait(timeout=10) in (0, -signal.SIGTERM), server.tail()
        assert stopped_at[0] and ended_after < 8, f"the stream held the shutdown for {ended_after:.1f}s"
        assert f"id: {seq + 1}" in lines and "event: timeline" in lines
        assert any("written through the API" in line for line in lines if line.startswith("data: "))
        assert "event: changed" in lines
        api.close()
        client.close()
