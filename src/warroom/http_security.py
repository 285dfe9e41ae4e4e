"""Headers every answer carries, and which proxies may say the request was https and whose it was.

Security headers go on every response the app sends (pages, JSON, problem+json, 404, 405, static files,
event streams), set by one ASGI middleware rather than by each kind of response. HSTS is added when the
request came over https or the public base URL is https.

X-Forwarded-Proto and X-Forwarded-For are honoured only from WARROOM_TRUSTED_PROXIES (uvicorn's own
middleware, which also walks a chain of proxies); from anyone else they are ignored, so a client cannot
pick its own address for the sign-in throttle or pretend to be on https.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

HTML_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
# FastAPI's Swagger UI page loads its script and style from jsDelivr and starts with one inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Not a page: nothing in it may load or run anything, nor be framed.
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000"


RawHeaders = list[tuple[bytes, bytes]]


@lru_cache(maxsize=8)
def _security_headers(https: bool, docs: bool, html: bool) -> tuple[tuple[bytes, bytes], ...]:
    csp = DOCS_CSP if docs else HTML_CSP if html else OTHER_CSP
    named = {**ALWAYS, "Content-Security-Policy": csp}
    if https:
        named["Strict-Transport-Security"] = HSTS
    return tuple((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in named.items())


def with_security_headers(headers: RawHeaders, *, https: bool, docs: bool) -> RawHeaders:
    """`headers` (a response start's raw headers) and each security header they do not set themselves.

    One pass over the raw pairs: Starlette's MutableHeaders took a pass per header set (five), ~8 µs of
    every answer, a tenth of an intake request's CPU beside what the intake itself needs."""
    present = set()
    html = False
    for name, value in headers:
        lowered = name.lower()
        present.add(lowered)
        if lowered == b"content-type":
            html = value.startswith(b"text/html")
    missing = [pair for pair in _security_headers(https, docs, html) if pair[0] not in present]
    return [*headers, *missing] if missing else headers


class SecurityHeadersMiddleware:
    """Adds the headers a response did not set itself (a route may set a stricter one)."""

    def __init__(self, app: ASGIApp, *, base_is_https: bool, docs_path: str | None = None) -> None:
        self.app = app
        self.base_is_https = base_is_https
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = self.base_is_https or scope.get("scheme") == "https"
        docs = bool(self.docs_path) and str(scope.get("path", "")).startswith(str(self.docs_path))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = message.get("headers", [])
                message["headers"] = with_security_headers(raw, https=https, docs=docs)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def security_layers(
    *, base_is_https: bool, trusted_proxies: list[str], docs_path: str | None
) -> Callable[[ASGIApp], ASGIApp]:
    """What wraps the app's whole middleware stack, Starlette's 500 handler included (so even an
    unexpected error's answer carries the headers): the proxy reading outermost, so the headers middleware
    sees the forwarded scheme."""

    def wrap(stack: ASGIApp) -> ASGIApp:
        secured: ASGIApp = SecurityHeadersMiddleware(stack, base_is_https=base_is_https, docs_path=docs_path)
        if trusted_proxies:
            proxied = ProxyHeadersMiddleware(secured, trusted_hosts=trusted_proxies)  # type: ignore[arg-type]
            return cast(ASGIApp, proxied)  # uvicorn types ASGI apps its own (stricter) way
        return secured

    return wrap
