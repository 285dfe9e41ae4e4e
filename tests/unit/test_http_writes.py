"""`warroom serve`'s HTTP protocol (warroom.http_writes) writes a plain response's head and body to the
socket in one write; a streamed response still leaves as it is produced; keep-alive and closing work as
with uvicorn's own. Served by real uvicorn on loopback; what reaches the socket is recorded by a stand-in
around asyncio's transport. The control, uvicorn's own protocol, writes the head and the body apart."""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tests.unit.test_server_errors import serving
from warroom.http_writes import OneWriteHttpToolsProtocol

WRITES: list[bytes] = []  # what each served connection wrote to its socket, in order


class Recorded:
    """asyncio's transport, its writes recorded."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class RecordedOneWrite(OneWriteHttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(Recorded(transport))  # type: ignore[arg-type]


class RecordedUvicorn(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(Recorded(transport))  # type: ignore[arg-type]


async def plain(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("accepted")


async def closing(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("bye", headers={"connection": "close"})


async def stream(_request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        for n in range(3):
            await asyncio.sleep(0.01)
            yield f"part {n}\n".encode()

    return StreamingResponse(parts(), media_type="text/plain")


APP = Starlette(routes=[Route("/plain", plain), Route("/close", closing), Route("/stream", stream)])


@contextmanager
def serving_with(protocol: type[asyncio.Protocol]) -> Iterator[int]:
    with serving(APP, http=protocol) as port:
        WRITES.clear()  # (whatever starting up wrote)
        yield port


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


@pytest.mark.parametrize(("protocol", "writes"), [(RecordedOneWrite, 1), (RecordedUvicorn, 2)])
def test_a_plain_responses_head_and_body_leave_in_one_write(
    protocol: type[asyncio.Protocol], writes: int
) -> None:
    with serving_with(protocol) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        answers = [get(connection, "/plain") for _ in range(5)]  # keep-alive: one connection
        connection.close()
    assert answers == [(200, b"accepted")] * 5
    assert len(WRITES) == 5 * writes, WRITES
    if writes == 1:
        assert all(w.startswith(b"HTTP/1.1 200 OK\r\n") and w.endswith(b"\r\n\r\naccepted") for w in WRITES)


def test_a_streamed_response_leaves_as_it_is_produced() -> None:
    with serving_with(RecordedOneWrite) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        assert get(connection, "/stream") == (200, b"part 0\npart 1\npart 2\n")
        assert get(connection, "/plain") == (200, b"accepted")  # the connection is still good
        connection.close()
    assert len(WRITES) >= 4, WRITES  # the head, then each part in its own turn (and the plain answer)


def test_a_closing_response_is_written_whole_before_the_close() -> None:
    with serving_with(RecordedOneWrite) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        assert get(connection, "/close") == (200, b"bye")
        connection.close()
    assert len(WRITES) == 1 and WRITES[0].endswith(b"bye")
