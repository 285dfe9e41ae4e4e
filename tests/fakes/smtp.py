"""A local SMTP server (aiosmtpd in a thread) that keeps every message it receives, parsed."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.process import free_port


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic() when the message arrived
    raw: str
    mail: EmailMessage

    @property
    def body(self) -> str:
        return str(self.mail.get_content())


@dataclass
class Mailbox:
    port: int
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.content.decode("utf-8", "replace")
        parsed = email.message_from_string(raw, policy=email.policy.default)
        self.messages.append(Received(at=time.monotonic(), raw=raw, mail=parsed))  # type: ignore[arg-type]
        return "250 OK"

    def bodies(self, to: str) -> list[str]:
        return [m.body for m in self.messages if m.mail["To"] == to]


@contextmanager
def running_mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
