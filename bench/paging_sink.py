"""The paging bench's webhook sink: a minimal HTTP/1.1 responder on its own event loop in a thread.

Every POST is answered 200 at once and recorded with its arrival time (time.perf_counter, the clock the
sender stamps its alerts with), its Idempotency-Key header and the alert id: the last word of the payload's
subject, which is "[CRITICAL] <title>" and the bench's titles are the alerts' unique ids.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MAX_HEADER_BYTES = 65_536
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


@dataclass(frozen=True)
class Arrival:
    at: float  # time.perf_counter() when the whole request had been read
    idempotency_key: str
    alert_id: str


@dataclass
class Sink:
    url: str = ""
    arrivals: list[Arrival] = field(default_factory=list)  # appended by the sink's thread only
    bad_requests: int = 0

    def since(self, start: int) -> list[Arrival]:
        return self.arrivals[start : len(self.arrivals)]


@dataclass
class Collector:
    """The arrivals of one scenario (alert ids starting with `prefix`), read incrementally from the sink."""

    sink: Sink
    prefix: str
    cursor: int = 0
    first: dict[str, float] = field(default_factory=dict)  # alert id -> first arrival
    keys: Counter[str] = field(default_factory=Counter)  # idempotency key -> deliveries
    alert_keys: dict[str, set[str]] = field(default_factory=dict)

    def update(self) -> int:
        """Take in what arrived since the last call; returns how many distinct alerts were paged so far."""
        new = self.sink.since(self.cursor)
        self.cursor += len(new)
        for arrival in new:
            if arrival.alert_id.startswith(self.prefix):
                self.keys[arrival.idempotency_key] += 1
                self.first.setdefault(arrival.alert_id, arrival.at)
                self.alert_keys.setdefault(arrival.alert_id, set()).add(arrival.idempotency_key)
        return len(self.first)

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.keys.values())

    @property
    def double_paged(self) -> int:
        return sum(len(keys) > 1 for keys in self.alert_keys.values())


def collector(sink: Sink, prefix: str) -> Collector:
    return Collector(sink, prefix, cursor=len(sink.arrivals))


def _parse(head: bytes, body: bytes) -> tuple[str, str]:
    """(idempotency key, alert id) of one delivery; ValueError if it is not one."""
    key = ""
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "idempotency-key":
            key = value.strip()
    payload = json.loads(body)
    subject = str(payload["subject"])
    return key or str(payload.get("idempotency_key", "")), subject.rsplit(" ", 1)[-1]


def _content_length(head: bytes) -> int:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return int(value.strip())
    return 0


async def _serve_connection(
    sink: Sink,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    open_writers: set[asyncio.StreamWriter],
) -> None:
    """Requests on one connection until the client closes it (keep-alive is honoured)."""
    open_writers.add(writer)
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            body = await reader.readexactly(_content_length(head))
            arrived = time.perf_counter()
            try:
                key, alert_id = _parse(head, body)
                sink.arrivals.append(Arrival(arrived, key, alert_id))
            except (ValueError, KeyError, TypeError):
                sink.bad_requests += 1
            writer.write(OK)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        open_writers.discard(writer)
        writer.close()


def _run_loop(sink: Sink, ready: threading.Event, stop: list[asyncio.AbstractEventLoop]) -> None:
    loop = asyncio.new_event_loop()
    stop.append(loop)
    open_writers: set[asyncio.StreamWriter] = set()

    async def start() -> asyncio.Server:
        server = await asyncio.start_server(
            lambda r, w: _serve_connection(sink, r, w, open_writers), "127.0.0.1", 0, limit=MAX_HEADER_BYTES
        )
        sink.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/page"
        return server

    server = loop.run_until_complete(start())
    ready.set()
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        # Keep-alive connections the workers left open still have a task each: hang up on them while the loop
        # runs so each task ends on its own (left alone, each prints "Event loop is closed" when collected;
        # cancelling them trips Python 3.11's stream callback, which reads a cancelled task's exception).
        for writer in list(open_writers):
            writer.transport.abort()
        left = asyncio.all_tasks(loop)
        if left:  # gather() of nothing looks for this thread's loop outside run_until_complete
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.close()


@contextmanager
def running_sink() -> Iterator[Sink]:
    """The sink on 127.0.0.1 (a port the OS picks), listening until the block ends."""
    sink, ready, loops = Sink(), threading.Event(), list[asyncio.AbstractEventLoop]()
    thread = threading.Thread(target=_run_loop, args=(sink, ready, loops), name="paging-sink", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the paging sink did not start")
    try:
        yield sink
    finally:
        loops[0].call_soon_threadsafe(loops[0].stop)
        thread.join(timeout=10)
