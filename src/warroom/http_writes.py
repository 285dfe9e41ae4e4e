"""uvicorn's HTTP protocol, with a response's head and body leaving in one write.

uvicorn (httptools) writes a response's status line and headers to the socket when the app starts the
response, and its body when the app sends it: two send() calls and two TCP segments (asyncio sets
TCP_NODELAY), and the client woken twice. Under an intake storm on two cores the head's send took 12.4% of
a server's samples and the body's 3.3% (py-spy, docs/scaling.md, session 24). Here the protocol's
transport keeps what is written until the end of the event loop's turn (`call_soon`), so a head and a
body sent in one turn (every plain response: Starlette sends both without yielding) leave as one send().
A response streamed over many turns (the live pages' server-sent events) is written each turn, as
before; closing writes what is kept first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class TurnWriter:
    """A transport's proxy whose writes within one turn of the loop leave together at its end."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._kept: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._kept:
            self._loop.call_soon(self.flush)
        self._kept.append(bytes(data))

    def flush(self) -> None:
        if not self._kept:
            return
        data = b"".join(self._kept)
        self._kept.clear()
        if not self._transport.is_closing():  # the client went away meanwhile: nothing to send to
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a TurnWriter (`warroom serve`'s `http`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(TurnWriter(transport, self.loop))  # type: ignore[arg-type]
