"""A local HTTP sink for webhook deliveries: records every request; can answer 500 or hang on demand."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.http import serving


@dataclass
class Sink:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    hang_seconds: float = 0.0
    refused: int = 0  # requests answered with a `status` of 300 or more
    before_answer: Callable[[], object] | None = None  # run after a request is received, before its answer

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received]


@contextmanager
def running_sink() -> Iterator[Sink]:
    sink = Sink(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender died mid-request (a SIGKILLed worker): a real receiver drops a
                # truncated body, so the sink must not count it as a delivery either.
                self.send_response(400)
                self.end_headers()
                return
            if sink.hang_seconds:
                time.sleep(sink.hang_seconds)
            if sink.status < 300:
                sink.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            else:
                sink.refused += 1
            if sink.before_answer is not None:
                sink.before_answer()
            self.send_response(sink.status)
            self.end_headers()

        do_GET = do_POST  # recorded too: a test may prove that something fetched nothing

        def log_message(self, *args: Any) -> None:
            return None

    with serving(Handler) as server:
        sink.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield sink
