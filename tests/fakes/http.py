"""A loopback HTTP server in a thread, for the fake receivers (webhook sink, Mattermost, hanging sink)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when a worker opens dozens at once (its delivery batch),
    # and the kernel's SYN retry then adds a second or more per dropped one.
    request_queue_size = 128
    daemon_threads = True


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], port: int = 0) -> Iterator[LoopbackServer]:
    """Serve on 127.0.0.1 (`port` 0: one the OS picks) until the block ends."""
    server = LoopbackServer(("127.0.0.1", port), handler)
    # shutdown() waits up to one poll interval: 0.05 s rather than the default 0.5 s per test
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
