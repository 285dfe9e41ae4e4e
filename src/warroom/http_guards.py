"""Two ASGI guards around the whole app: inbound values normalised before any route reads them, and every
unhandled error answered as a 500 problem+json that leaves the connection usable.

Intake routes parse their own bodies (each sender expects its own error shape: see alerts/intake/base.py), so
only their paths and query strings are normalised here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from http import HTTPStatus

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warroom.inbound import InboundRejected, clean_text, parse_json
from warroom.problems import problem

log = structlog.get_logger("warroom.http")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
NEEDS_CLEANING = re.compile(rb"\\u(?:0000|d[89a-f])", re.IGNORECASE)  # \u0000, or a surrogate escape


def _content_type(scope: Scope) -> str:
    headers: dict[bytes, bytes] = dict(scope["headers"])
    return headers.get(b"content-type", b"").decode("latin-1").lower()


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip()
    return media == "application/json" or media.endswith("+json")


def _with_length(headers: Iterable[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(name, value) for name, value in headers if name.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _clean_json(body: bytes) -> bytes:
    """`body` checked; re-encoded only where cleaning changed it (a NUL or surrogate escape), else as sent."""
    if not body.strip():
        return body
    value = parse_json(body, int64=True)
    return json.dumps(value, ensure_ascii=False).encode() if NEEDS_CLEANING.search(body) else body


async def _refuse(status: int, detail: str, scope: Scope, receive: Receive, send: Send) -> None:
    await problem(status, HTTPStatus(status).phrase, detail)(scope, receive, send)


class NormalisedRequests:
    """NUL out of paths, query strings and form bodies; JSON bodies checked by `inbound.parse_json` (depth,
    NaN, 64-bit integers, NUL, lone surrogates): refused with 400 naming the limit, else passed on clean."""

    def __init__(self, app: ASGIApp, own_body_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.own_body_prefixes = own_body_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = self.clean_target(scope)
        if scope["method"] not in BODY_METHODS or scope["path"].startswith(self.own_body_prefixes):
            await self.app(scope, receive, send)
            return
        content_type = _content_type(scope)
        is_json = _is_json(content_type)
        if not is_json and "application/x-www-form-urlencoded" not in content_type:
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
            if is_json:
                body = _clean_json(body)
        except HTTPException as refused:  # over the body limit (BodyLimitMiddleware's receive)
            await _refuse(refused.status_code, str(refused.detail), scope, receive, send)
            return
        except InboundRejected as error:
            await _refuse(400, f"the JSON body {error}", scope, receive, send)
            return
        await self._forward(scope, body if is_json else body.replace(b"%00", b""), receive, send)

    @staticmethod
    def clean_target(scope: Scope) -> Scope:
        """`scope` with NUL out of its path and query string (the same scope if it had none)."""
        path, query = scope["path"], scope.get("query_string", b"")
        if "\x00" not in path and b"%00" not in query:
            return scope
        return {**scope, "path": clean_text(path), "query_string": query.replace(b"%00", b"")}

    async def _forward(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:  # the body was read whole: what comes next is the client going away
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {**scope, "headers": _with_length(scope["headers"], len(body))}
        await self.app(scope, replay, send)


class ServerErrors:
    """A 500 problem+json for any error a route did not handle, without re-raising it to the server.

    Starlette's own handler answers and then re-raises, and uvicorn closes a connection whose request raised:
    every other request pipelined or kept alive on it was reset. The error is logged here instead.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception as error:
            log.error("unhandled error", path=scope["path"], error=repr(error), exc_info=error)
            if started:  # the answer is half sent: only the server can end it
                raise
            detail = "the server failed; the error is in its log"
            await problem(500, "Internal server error", detail)(scope, receive, send)
