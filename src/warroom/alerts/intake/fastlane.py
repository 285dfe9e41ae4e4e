"""Intake's fast lane: the intake writes answered by their own route functions (alerts/intake/api.py) ahead of
FastAPI's router, dependency solving and middleware stack.

Those layers cost more than the intake handler itself: under wrk's load they took ~35% of an intake
request's CPU (routing and FastAPI's request handling 23%, six middleware layers 8%), for nothing an
intake write uses. What they do for intake is kept here, with the same code: the security headers (this lane
sits inside them), NUL out of the path and query string, the intake body limit, the app's exception
handlers (a 413, or a value the database refuses, answers as it would through FastAPI), and a 500
problem+json that keeps the connection for anything else. Every other request goes to FastAPI unchanged.
"""

from __future__ import annotations

import inspect
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from warroom.alerts.intake.api import Endpoint, intake_endpoint
from warroom.context import AppContext
from warroom.http_guards import NormalisedRequests, ServerErrors
from warroom.problems import BodyLimitMiddleware

ENDPOINT_KEY = "warroom.intake_endpoint"
ExceptionHandlers = dict[Any, Any]


class IntakeFastLane:
    def __init__(
        self, app: ASGIApp, *, context: AppContext, max_bytes: int, exception_handlers: ExceptionHandlers
    ) -> None:
        self.app = app
        self.context = context
        self.exception_handlers = exception_handlers
        self.guarded = ServerErrors(BodyLimitMiddleware(self._answer, max_bytes=max_bytes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = NormalisedRequests.clean_target(scope)
            endpoint = intake_endpoint(scope["method"], scope["path"])
            if endpoint is not None:
                await self.guarded({**scope, ENDPOINT_KEY: endpoint}, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint: Endpoint = scope[ENDPOINT_KEY]
        request = Request(scope, receive)
        try:
            response = await endpoint(request, self.context)
        except Exception as error:
            handler = self._handler_for(error)
            if handler is None:
                raise  # ServerErrors answers 500 and logs it
            answered = handler(request, error)
            response = await answered if inspect.isawaitable(answered) else answered
        await response(scope, receive, send)

    def _handler_for(self, error: Exception) -> Any:
        """The app's handler for `error`, looked up by class as Starlette's ExceptionMiddleware does."""
        for kind in type(error).__mro__:
            if kind in self.exception_handlers:
                return self.exception_handlers[kind]
        return None
