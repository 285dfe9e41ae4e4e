"""An unhandled error is a 500 problem+json and the keep-alive connection stays usable (#13 finding 2).

Served by real uvicorn on loopback. The control case, Starlette's own handling without `ServerErrors`, shows
what the finding saw: the server hangs up after the 500, so the requests kept alive behind it are reset.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from warroom.http_guards import ServerErrors

STARTUP_DEADLINE = 120.0  # generous: the machine may be busy


async def boom(_request: Request) -> PlainTextResponse:
    raise RuntimeError("a defect in a route")


async def fine(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def routes_app(*, guarded: bool) -> Starlette:
    """Built as warroom's app is: the user middleware sits inside Starlette's own error middleware."""
    middleware = [Middleware(ServerErrors)] if guarded else []
    return Starlette(routes=[Route("/boom", boom), Route("/fine", fine)], middleware=middleware)


@contextmanager
def serving(app: ASGIApp, **options: Any) -> Iterator[int]:
    """`app` served by uvicorn in a thread on a free loopback port (`options`: more of uvicorn's Config)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off", **options)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_DEADLINE
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def interleave(port: int) -> tuple[list[int], int]:
    """Bad and good requests alternating on one connection: their statuses, and how many sockets it took."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses, opened = [], 0
    try:
        for path in ["/boom", "/fine"] * 3:
            opened += connection.sock is None  # http.client opens a new socket when the last one is gone
            try:
                connection.request("GET", path)
                response = connection.getresponse()
            except ConnectionError:  # the server hung up: this request is lost; reconnect for the next
                statuses.append(0)
                connection.close()
                continue
            body = response.read()
            statuses.append(response.status)
            if response.status == 500 and response.getheader("content-type") == "application/problem+json":
                assert json.loads(body)["status"] == 500
    finally:
        connection.close()
    return statuses, opened


def test_server_errors_answer_500_and_keep_the_connection() -> None:
    with serving(routes_app(guarded=True)) as port:
        statuses, sockets = interleave(port)
    assert statuses == [500, 200] * 3
    assert sockets == 1


def test_without_the_guard_each_500_costs_the_connection() -> None:
    with serving(routes_app(guarded=False)) as port:
        statuses, sockets = interleave(port)
    assert 500 in statuses
    assert sockets > 1  # the server hung up after a 500: whatever was kept alive on it was reset
