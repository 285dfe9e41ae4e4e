"""A real warroom HTTP server on loopback for senders nobody here wrote, on both databases.

`warroom` serves `create_app(...)` over plain HTTP, `warroom_tls` over HTTPS with a certificate for
127.0.0.1 from a `trustme` CA (its PEM file is `ca_path`, `ssl_context()` trusts it). Each runs uvicorn in a
background thread on a socket bound to port 0, with the system clock (Alertmanager compares real times).
Each test gets an admin user and token made through the service layer on the server's own event loop, and
a `checkout` service; `integration(kind)` creates integrations through the admin API.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import uvicorn

from tests.process import startup_seconds, wait_for_start
from warroom.app import create_app
from warroom.auth import service as auth
from warroom.config import Settings
from warroom.context import AppContext

SERVICE = "checkout"


@dataclass
class Warroom:
    """A served warroom: where it listens, an admin token, and (for HTTPS) the CA that signed its cert."""

    base_url: str
    admin_token: str
    ca_path: Path | None
    admin: httpx.Client

    def ssl_context(self) -> ssl.SSLContext:
        if self.ca_path is None:
            raise RuntimeError("this server speaks plain HTTP")
        return ssl.create_default_context(cafile=str(self.ca_path))

    def integration(self, kind: str, **extra: Any) -> dict[str, Any]:
        created = self.admin.post("/api/v1/integrations", json={"kind": kind, "service": SERVICE, **extra})
        assert created.status_code == 201, created.text
        return created.json()  # type: ignore[no-any-return]

    def alerts(self, **params: Any) -> list[dict[str, Any]]:
        answer = self.admin.get("/api/v1/alerts", params={"limit": 500, **params})
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]  # type: ignore[no-any-return]

    def alert(self, dedup_key: str) -> dict[str, Any]:
        """The one alert (open or not) with this dedup key."""
        found = [a for a in self.alerts() if a["dedup_key"] == dedup_key]
        assert len(found) == 1, f"{len(found)} alerts with key {dedup_key!r}: {found}"
        return found[0]

    def events(self, alert_id: int) -> list[dict[str, Any]]:
        answer = self.admin.get(f"/api/v1/alerts/{alert_id}/events")
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def changes(self) -> list[dict[str, Any]]:
        answer = self.admin.get(f"/api/v1/services/{SERVICE}/changes")
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]


def poll(
    check: Callable[[], Any],
    *,
    deadline: float = 30.0,
    interval: float = 0.2,
    what: str = "",
    context: Callable[[], str] = lambda: "",
) -> Any:
    """Call `check` until it returns something truthy; after `deadline` seconds fail with its last answer
    and whatever `context()` adds (a sender's log, say)."""
    end = time.monotonic() + deadline
    last: Any = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"gave up after {deadline:.0f}s waiting for {what or check}; last: {last!r}\n{context()}")


async def _admin_token(context: AppContext) -> str:
    now = datetime.now(UTC)
    async with context.db.write() as session:
        user = await auth.create_user(
            session=session, email="admin@compat.warroom", name="Admin", role="admin", now=now
        )
        token = await auth.create_token(session=session, user=user, name="compat", now=now)
        await session.commit()
    secret: str = token.secret
    return secret


@contextmanager
def serving(db_url: str, data_dir: Path, tls: tuple[trustme.CA, Path] | None = None) -> Iterator[Warroom]:
    """Serve warroom on 127.0.0.1 in a thread until the block ends; `tls` is (CA, folder for PEM files)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    scheme = "https" if tls else "http"
    base_url = f"{scheme}://127.0.0.1:{port}"
    app = create_app(Settings(database_url=db_url, data_dir=data_dir, base_url=base_url))
    options: dict[str, Any] = {}
    ca_path: Path | None = None
    if tls:
        ca, folder = tls
        cert = ca.issue_cert("127.0.0.1")
        ca_path, cert_path, key_path = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        cert.cert_chain_pems[0].write_to_path(str(cert_path))
        cert.private_key_pem.write_to_path(str(key_path))
        options = {"ssl_certfile": str(cert_path), "ssl_keyfile": str(key_path)}
    config = uvicorn.Config(
        app, lifespan="on", log_config=None, access_log=False, ws="none", log_level="warning", **options
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    failures: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        except BaseException as error:  # noqa: BLE001  (reported by the test thread)
            failures.append(error)
        finally:
            loop.close()

    thread = threading.Thread(target=run, name=f"warroom-{port}", daemon=True)
    thread.start()
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca_path)) if ca_path else True
    admin = httpx.Client(base_url=base_url, verify=verify, timeout=10.0)
    try:
        _wait_until_healthy(admin, server, thread, failures)
        token = asyncio.run_coroutine_threadsafe(_admin_token(app.state.warroom), loop).result(
            startup_seconds()
        )
        admin.headers["Authorization"] = f"Bearer {token}"
        created = admin.post("/api/v1/services", json={"slug": SERVICE, "name": "Checkout"})
        assert created.status_code == 201, created.text
        yield Warroom(base_url=base_url, admin_token=token, ca_path=ca_path, admin=admin)
    finally:
        admin.close()
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop within 15 s"
    assert not failures, f"the server thread failed: {failures!r}"


def _wait_until_healthy(
    client: httpx.Client, server: uvicorn.Server, thread: threading.Thread, failures: list[BaseException]
) -> None:
    """Ready once uvicorn has started and /healthz answers; failed at once if the server thread ends."""

    def ready() -> bool:
        if not server.started:
            return False
        try:
            return client.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def gone() -> str | None:
        return None if thread.is_alive() and not failures else "stopped"

    wait_for_start(ready, gone, what="uvicorn (in a thread)", output=lambda: f"failures: {failures!r}")


@pytest.fixture
def warroom(db_url: str, data_dir: Path) -> Iterator[Warroom]:
    """warroom over plain HTTP on 127.0.0.1, on the test database."""
    with serving(db_url, data_dir) as served:
        yield served


@pytest.fixture
def warroom_tls(db_url: str, data_dir: Path, tmp_path: Path) -> Iterator[Warroom]:
    """warroom over HTTPS on 127.0.0.1 (certificate from a trustme CA at `ca_path`), on the test database."""
    folder = tmp_path / "tls"
    folder.mkdir()
    with serving(db_url, data_dir, tls=(trustme.CA(), folder)) as served:
        yield served
